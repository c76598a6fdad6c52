"""The embedded amqtt broker, started when no external broker is configured.

Without a password it listens on loopback only (``config.py`` refuses anything else) and
lets anyone on this machine in. With one, it ships its own ACL: clients log in as the
configured user (everything: the service itself, Home Assistant) or as ``viewer`` (reads
netmon's states, events and responses and Home Assistant's discovery, never the requests;
publishes nothing); nobody else gets in.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from amqtt.broker import Broker, RetainedApplicationMessage
from amqtt.contexts import Action
from amqtt.errors import AMQTTError
from amqtt.errors import BrokerError as AmqttBrokerError
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from .config import EmbeddedBrokerConfig
from .errors import BrokerError
from .publish.retained import Packer

_LOGGER = logging.getLogger(__name__)


class _PackedRetained(RetainedApplicationMessage):  # type: ignore[misc]
    """A retained message whose payload is held compressed and read back whole."""

    __slots__ = ("_packed", "_packer", "_plain")

    def __init__(
        self, source: Any, topic: str, packed: bytes, qos: int | None, packer: Packer
    ) -> None:
        self._packer = packer
        super().__init__(source, topic, b"", qos)  # sets ``data`` (below) to nothing
        self._packed: bytes | None = packed

    @property
    def data(self) -> bytes:
        return self._plain if self._packed is None else self._packer.decompress(self._packed)

    @data.setter
    def data(self, value: bytes | bytearray) -> None:
        self._packed = self._packer.compress(bytes(value))
        self._plain = b"" if self._packed is not None else bytes(value)


class _Broker(Broker):  # type: ignore[misc]
    """amqtt with retained delivery limited to the client's own subscriptions, and large
    retained payloads held compressed.

    amqtt 0.12 sends a client that connects the retained messages matching *every*
    subscription held in the broker, whoever holds it, so with one ``#`` subscriber present
    each new client gets every retained message it did not ask for (and duplicates of those
    it did). Deliver only for subscriptions the session itself holds.

    The retained messages are mostly Home Assistant discovery configs, about 4 kB each and
    alike: compressed (``Packer``), each takes a few hundred bytes.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._packer = Packer()

    async def retain_message(
        self, source_session: Any, topic_name: str, data: bytes | bytearray, qos: Any = None
    ) -> None:
        await super().retain_message(source_session, topic_name, data, qos)
        packed = self._packer.compress(bytes(data)) if data else None
        if packed is not None and topic_name in self._retained_messages:
            self._retained_messages[topic_name] = _PackedRetained(
                source_session, topic_name, packed, qos, self._packer
            )

    async def _publish_retained_messages_for_subscription(
        self, subscription: tuple[str, int], session: Any
    ) -> None:
        holders = self._subscriptions.get(subscription[0], [])
        if any(holder is session for holder, _qos in holders):
            await super()._publish_retained_messages_for_subscription(subscription, session)


VIEWER = "viewer"


class LoginPlugin(BaseAuthPlugin):  # type: ignore[misc]
    """Only the configured users, by password (compared in constant time)."""

    async def authenticate(self, *, session: Session) -> bool:
        users: dict[str, str] = self.config.users
        expected = users.get(session.username or "")
        given = session.password or ""
        return expected is not None and hmac.compare_digest(expected.encode(), given.encode())

    @dataclass
    class Config:
        """Who may log in: user name -> password."""

        users: dict[str, str] = field(default_factory=dict)


class AclPlugin(BaseTopicPlugin):  # type: ignore[misc]
    """The administrator may do anything; the viewer reads everything but the requests
    (which may carry secrets) and publishes nothing."""

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Any = None
    ) -> bool:
        username = session.username if session else None
        if username == self.config.admin:
            return True
        if username != VIEWER or action == Action.PUBLISH:
            return False
        if action == Action.RECEIVE:
            return not (topic or "").startswith(self.config.requests)
        return True  # a subscription: what it receives is filtered above

    @dataclass
    class Config:
        """The administrator's user name and the topic prefix of the requests."""

        admin: str = ""
        requests: str = "netmon/bridge/request/"


def _without_traceback(record: logging.LogRecord) -> bool:
    """amqtt logs a failed start with its traceback; ``start`` reports it in one line."""
    return record.exc_info is None


class EmbeddedBroker:
    """An MQTT 3.1.1 broker inside the service process (retained messages in memory)."""

    def __init__(self, settings: EmbeddedBrokerConfig, base_topic: str = "netmon") -> None:
        self._settings = settings
        self._requests = f"{base_topic}/bridge/request/"
        self._broker: _Broker | None = None

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"mqtt://{self._settings.host}:{self._settings.port}"

    async def start(self) -> None:
        """Listen on the configured host and port."""
        config: dict[str, Any] = {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self._settings.host}:{self._settings.port}"}
            },
            "plugins": self._plugins(),
        }
        amqtt_log = logging.getLogger("amqtt.broker")
        amqtt_log.addFilter(_without_traceback)  # the failure is reported once, below
        try:
            self._broker = _Broker(config)
            await self._broker.start()
        except (AMQTTError, AmqttBrokerError, OSError) as err:
            self._broker = None
            raise BrokerError(
                f"cannot start the embedded MQTT broker on {self.url}: {err} "
                "(is another broker already using the port? set mqtt.host to use it, or "
                "embedded_broker.port to listen elsewhere)"
            ) from err
        finally:
            amqtt_log.removeFilter(_without_traceback)
        _LOGGER.info(
            "Embedded MQTT broker listening on %s (connect mosquitto_sub, Node-RED or "
            "Home Assistant to it)",
            self.url,
        )

    def _plugins(self) -> dict[str, Any]:
        settings = self._settings
        if not settings.password:  # loopback only (the configuration says so)
            return {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}
        users = {settings.username: settings.password}
        if settings.viewer_password:
            users[VIEWER] = settings.viewer_password
        return {
            f"{__name__}.LoginPlugin": {"users": users},
            f"{__name__}.AclPlugin": {"admin": settings.username, "requests": self._requests},
        }

    async def stop(self) -> None:
        """Shut the broker down."""
        if self._broker is not None:
            broker, self._broker = self._broker, None
            try:
                await broker.shutdown()
            except (AMQTTError, AmqttBrokerError) as err:
                _LOGGER.debug("Embedded broker shutdown: %s", err)
