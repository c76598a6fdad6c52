"""The embedded amqtt broker, started when no external broker is configured."""

from __future__ import annotations

import logging
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import AMQTTError
from amqtt.errors import BrokerError as AmqttBrokerError

from .config import EmbeddedBrokerConfig
from .errors import BrokerError

_LOGGER = logging.getLogger(__name__)


class _Broker(Broker):  # type: ignore[misc]
    """amqtt with retained delivery limited to the client's own subscriptions.

    amqtt 0.12 sends a client that connects the retained messages matching *every*
    subscription held in the broker, whoever holds it, so with one ``#`` subscriber present
    each new client gets every retained message it did not ask for (and duplicates of those
    it did). Deliver only for subscriptions the session itself holds.
    """

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
