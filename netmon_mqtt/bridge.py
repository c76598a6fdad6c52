"""The request/response API: ``<base>/bridge/request/<cmd>`` -> ``<base>/bridge/response/<cmd>``.

The bridge subscribes to the requests itself. Every request gets exactly one response
echoing its ``transaction``. Requests are size limited and validated by schema before
anything runs, so a bad request changes nothing. Slow commands (``device/ping``, ``scan``:
they wait for the network) run in a pool of their own, at most ``MAX_SLOW`` at once, so they
never hold the places of quick ones (``info``, ``device/get``, Home Assistant's); at most
``MAX_PENDING`` quick ones run at once. A request that finds its pool full is answered
``busy`` (an error response with ``"busy": true``), never left without an answer.

Requests are rate limited (a token bucket: ``REQUEST_BURST`` at once, ``REQUEST_RATE`` a
second after that). A request over the limit is refused without running; refusals are
counted (``requests_refused`` in ``bridge/health``), logged at most every
``REFUSAL_LOG_EVERY`` seconds, and answered at most ``REFUSALS_ANSWERED`` times a second: a
flood must not turn into a flood of answers that keeps real requests waiting behind it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .background import TaskSet
from .clock import SYSTEM, Clock
from .errors import NetmonError
from .publish.link import MqttLink
from .publish.payloads import dumps
from .publish.router import Message
from .publish.topics import Topics
from .validators import hide_secret

_LOGGER = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 16 * 1024
MAX_PENDING = 32
MAX_SLOW = 4  # slow requests (they wait for the network) at once
REQUEST_RATE = 20.0  # requests a second, sustained
REQUEST_BURST = 100  # requests at once (a client catching up after a restart)
REFUSALS_ANSWERED = 1.0  # refusal responses a second, at most
REFUSAL_LOG_EVERY = 10.0  # seconds between log lines about refused requests


class RequestError(NetmonError):
    """A request that cannot be carried out; the message is sent back to the client."""


@dataclass(frozen=True)
class Command:
    """A command: its payload schema and the coroutine that carries it out."""

    schema: vol.Schema
    run: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    slow: bool = False  # waits for the network: runs in the slow pool
    # Before the schema: opens sealed secrets (``sealing.py``); a NetmonError refuses.
    prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _format_invalid(err: vol.Invalid) -> str:
    errors = getattr(err, "errors", None) or [err]
    first = errors[0]
    path = ".".join(str(p) for p in first.path)
    message = first.msg
    if message.startswith("extra keys not allowed"):
        message = "unknown key"
    message = hide_secret(list(first.path), message)
    return f"{path}: {message}" if path else message


class TokenBucket:
    """``burst`` tokens at once, refilled at ``rate`` a second; pure, clock passed in."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()

    def take(self) -> bool:
        """True (and one token fewer) when a token is left."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class RequestLimit:
    """The bridge's rate limit: which requests run, which are refused (and counted), and
    which refusals are answered."""

    def __init__(
        self,
        rate: float = REQUEST_RATE,
        burst: int = REQUEST_BURST,
        clock: Clock = SYSTEM,
    ) -> None:
        self.rate = rate
        self.refused = 0  # since start
        self._requests = TokenBucket(rate, burst, clock.monotonic)
        self._answers = TokenBucket(REFUSALS_ANSWERED, 1, clock.monotonic)
        self._clock = clock
        self._logged_at: float | None = None
        self._unlogged = 0

    def allow(self) -> bool:
        """True when a request may run now; a refusal is counted and logged."""
        if self._requests.take():
            return True
        self.refused += 1
        self._unlogged += 1
        now = self._clock.monotonic()
        if self._logged_at is None or now - self._logged_at >= REFUSAL_LOG_EVERY:
            _LOGGER.warning(
                "Refused %s requests: more than %s a second (%s refused since start)",
                self._unlogged,
                self.rate,
                self.refused,
            )
            self._logged_at, self._unlogged = now, 0
        return False

    def answer_refusal(self) -> bool:
        """True when this refusal gets a response (at most ``REFUSALS_ANSWERED`` a second)."""
        return self._answers.take()


class Bridge:
    """Serves the requests on ``<base>/bridge/request/#`` with ``commands``."""

    def __init__(
        self,
        link: MqttLink,
        topics: Topics,
        commands: Mapping[str, Command],
        limit: RequestLimit | None = None,
    ) -> None:
        self._link = link
        self._topics = topics
        self._commands = commands
        self._pending = TaskSet()
        self._slow = TaskSet()
        self.limit = limit or RequestLimit()
        link.subscribe(f"{topics.request_prefix}#", self._on_request)

    async def start(self) -> None:
        """Requests are served from the first connection on."""

    async def stop(self) -> None:
        """Cancel requests still running (their responses could no longer be sent)."""
        await self._pending.cancel()
        await self._slow.cancel()

    def _on_request(self, message: Message) -> None:
        if message.retain:
            return  # a retained request is stale by definition
        command = message.topic[len(self._topics.request_prefix) :]
        if not self.limit.allow():
            if self.limit.answer_refusal():
                self._refuse(command, message.payload)
            return
        known = self._commands.get(command)
        pool, room = (
            (self._slow, MAX_SLOW) if known and known.slow else (self._pending, MAX_PENDING)
        )
        if len(pool) >= room:
            _LOGGER.debug("Request %s refused: %s like it in progress", command, len(pool))
            self._busy(command, message.payload, len(pool))
            return
        pool.spawn(self._answer(command, message.payload))

    def _busy(self, command: str, payload: str, running: int) -> None:
        error = f"busy: {running} such requests in progress; retry later"
        self._link.send(
            self._topics.response(command),
            dumps(_response("error", {"busy": True}, _transaction(payload), error)),
        )

    def _refuse(self, command: str, payload: str) -> None:
        transaction = _transaction(payload)
        error = (
            f"too many requests: more than {self.limit.rate:g} a second; "
            f"{self.limit.refused} refused so far, retry later"
        )
        self._link.send(
            self._topics.response(command), dumps(_response("error", {}, transaction, error))
        )

    async def _answer(self, command: str, payload: str) -> None:
        response = await self.handle(command, payload)
        self._link.send(self._topics.response(command), dumps(response))

    @property
    def names(self) -> list[str]:
        """The known command names."""
        return sorted(self._commands)

    def _prepare(self, name: str, data: dict[str, Any]) -> tuple[Command, dict[str, Any]]:
        command = self._commands.get(name)
        if command is None:
            raise RequestError(f"unknown command {name!r}; known: {', '.join(self.names)}")
        try:
            prepared = command.prepare(data) if command.prepare else data
            return command, command.schema(prepared)
        except vol.Invalid as err:
            raise RequestError(f"invalid request: {_format_invalid(err)}") from err
        except NetmonError as err:
            raise RequestError(f"invalid request: {err}") from err

    async def handle(self, name: str, payload: str) -> dict[str, Any]:
        """The response to one request; never raises."""
        transaction: Any = None
        try:
            data = _parse(payload)
            transaction = data.pop("transaction", None)
            command, arguments = self._prepare(name, data)
            result = await command.run(arguments)
        except NetmonError as err:  # RequestError, or a component's clear refusal
            return _response("error", {}, transaction, str(err))
        except Exception as err:
            _LOGGER.exception("Request %s failed", name)
            return _response("error", {}, transaction, f"internal error: {err}")
        return _response("ok", result, transaction)


def _transaction(payload: str) -> Any:
    """A request's transaction, to echo in a refusal (None when it cannot be read)."""
    try:
        return _parse(payload).get("transaction")
    except RequestError:
        return None


def _parse(payload: str) -> dict[str, Any]:
    if len(payload.encode("utf-8", errors="replace")) > MAX_REQUEST_BYTES:
        raise RequestError(f"request larger than {MAX_REQUEST_BYTES} bytes")
    if not payload.strip():
        return {}
    try:
        data = json.loads(payload)
        # A lone surrogate (``"\ud800"``) parses, but can never be sent back out as UTF-8.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except ValueError as err:  # UnicodeEncodeError is one
        problem = "a lone surrogate" if isinstance(err, UnicodeEncodeError) else err
        raise RequestError(f"malformed JSON: {problem}") from None
    except RecursionError:
        raise RequestError("malformed JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise RequestError("expected a JSON object")
    return data


def _response(
    status: str, data: dict[str, Any], transaction: Any, error: str | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {"status": status, "data": data}
    if error is not None:
        response["error"] = error
    if transaction is not None:
        response["transaction"] = transaction
    return response
