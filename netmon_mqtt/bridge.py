"""The request/response API: ``<base>/bridge/request/<cmd>`` -> ``<base>/bridge/response/<cmd>``.

The bridge subscribes to the requests itself. Every request gets exactly one response
echoing its ``transaction``. Requests are size limited and validated by schema before
anything runs, so a bad request changes nothing; at most ``MAX_PENDING`` run at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .background import TaskSet
from .errors import NetmonError
from .publish.mqtt import Message, MqttLink
from .publish.payloads import dumps
from .publish.topics import Topics

_LOGGER = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 16 * 1024
MAX_PENDING = 32


class RequestError(NetmonError):
    """A request that cannot be carried out; the message is sent back to the client."""


@dataclass(frozen=True)
class Command:
    """A command: its payload schema and the coroutine that carries it out."""

    schema: vol.Schema
    run: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def _format_invalid(err: vol.Invalid) -> str:
    errors = getattr(err, "errors", None) or [err]
    first = errors[0]
    path = ".".join(str(p) for p in first.path)
    message = first.msg
    if message.startswith("extra keys not allowed"):
        message = "unknown key"
    return f"{path}: {message}" if path else message


class Bridge:
    """Serves the requests on ``<base>/bridge/request/#`` with ``commands``."""

    def __init__(self, link: MqttLink, topics: Topics, commands: Mapping[str, Command]) -> None:
        self._link = link
        self._topics = topics
        self._commands = commands
        self._pending = TaskSet()
        link.subscribe(f"{topics.request_prefix}#", self._on_request)

    async def start(self) -> None:
        """Requests are served from the first connection on."""

    async def stop(self) -> None:
        """Cancel requests still running (their responses could no longer be sent)."""
        await self._pending.cancel()

    def _on_request(self, message: Message) -> None:
        if message.retain:
            return  # a retained request is stale by definition
        command = message.topic[len(self._topics.request_prefix) :]
        if len(self._pending) >= MAX_PENDING:
            _LOGGER.warning("Dropping request %s: too many requests in progress", command)
            return
        self._pending.spawn(self._answer(command, message.payload))

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
            return command, command.schema(data)
        except vol.Invalid as err:
            raise RequestError(f"invalid request: {_format_invalid(err)}") from err

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


def _parse(payload: str) -> dict[str, Any]:
    if len(payload.encode("utf-8", errors="replace")) > MAX_REQUEST_BYTES:
        raise RequestError(f"request larger than {MAX_REQUEST_BYTES} bytes")
    if not payload.strip():
        return {}
    try:
        data = json.loads(payload)
    except ValueError as err:
        raise RequestError(f"malformed JSON: {err}") from err
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
