"""The embedded amqtt broker, started when no external broker is configured."""

from __future__ import annotations

import logging
from typing import Any

from amqtt.broker import Broker, RetainedApplicationMessage
from amqtt.errors import AMQTTError
from amqtt.errors import BrokerError as AmqttBrokerError

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


def _without_traceback(record: logging.LogRecord) -> bool:
    """amqtt logs a failed start with its traceback; ``start`` reports it in one line."""
    return record.exc_info is None


class EmbeddedBroker:
    """An MQTT 3.1.1 broker inside the service process (retained messages in memory)."""

    def __init__(self, settings: EmbeddedBrokerConfig) -> None:
        self._settings = settings
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
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
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

    async def stop(self) -> None:
        """Shut the broker down."""
        if self._broker is not None:
            broker, self._broker = self._broker, None
            try:
                await broker.shutdown()
            except (AMQTTError, AmqttBrokerError) as err:
                _LOGGER.debug("Embedded broker shutdown: %s", err)
