"""The netmon-mqtt bridge as seen from Home Assistant: requests and responses over MQTT,
bridge events turned into Home Assistant events, the bridge's health turned into repairs."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .const import (
    BRIDGE_EVENTS,
    DOMAIN,
    ISSUE_OFFLINE,
    ISSUE_VERSION,
    MIN_SERVICE_VERSION,
    OFFLINE_REPAIR_AFTER,
    REQUEST_TIMEOUT,
    SUPPORTED_MAJOR,
    TOPIC_DEVICES,
    TOPIC_EVENT,
    TOPIC_INFO,
    TOPIC_REQUEST,
    TOPIC_RESPONSE,
    TOPIC_STATE,
)
from .devices import find_device

_LOGGER = logging.getLogger(__name__)


class BridgeError(HomeAssistantError):
    """The bridge did not answer, or refused a request."""

    def __init__(self, message: str, *, key: str, placeholders: dict[str, str]) -> None:
        super().__init__(
            message,
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders=placeholders,
        )


class BridgeTimeoutError(BridgeError):
    """No response within the timeout: the service is not running or not reachable."""


class BridgeRefusedError(BridgeError):
    """The service answered with an error (its own validation message)."""


def _parse(payload: str | bytes | bytearray) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return None


class Requests:
    """Requests to one bridge, answers matched by ``transaction`` on ``response/#``."""

    def __init__(self, hass: HomeAssistant, base_topic: str) -> None:
        self.hass = hass
        self.base_topic = base_topic
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._unsubscribe: CALLBACK_TYPE | None = None

    async def async_start(self) -> None:
        """Subscribe to the responses."""
        self._unsubscribe = await mqtt.async_subscribe(
            self.hass, f"{self.base_topic}/{TOPIC_RESPONSE}/#", self._on_response, 1
        )

    @callback
    def async_stop(self) -> None:
        """Unsubscribe; requests still waiting are cancelled."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()

    async def request(
        self,
        command: str,
        payload: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
        resend_every: float | None = None,
    ) -> dict[str, Any]:
        """Send a request and return the response's ``data``; BridgeError otherwise.

        ``resend_every`` repeats an idempotent request until it is answered (right after
        subscribing, Home Assistant may not have sent the subscription to the broker yet).
        """
        timeout = REQUEST_TIMEOUT if timeout is None else timeout
        transaction = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = self.hass.loop.create_future()
        self._pending[transaction] = future
        body = json.dumps({**(payload or {}), "transaction": transaction})
        topic = f"{self.base_topic}/{TOPIC_REQUEST}/{command}"
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await mqtt.async_publish(self.hass, topic, body, 1)
                    done, _ = await asyncio.wait({future}, timeout=resend_every)
                    if done:
                        response = future.result()
                        break
        except TimeoutError as err:
            raise _timeout(command, self.base_topic) from err
        finally:
            self._pending.pop(transaction, None)
        return _result(command, response)

    @callback
    def _on_response(self, message: mqtt.ReceiveMessage) -> None:
        data = _parse(message.payload)
        if not isinstance(data, dict):
            return
        future = self._pending.get(str(data.get("transaction")))
        if future is not None and not future.done():
            future.set_result(data)


@asynccontextmanager
async def requests_to(hass: HomeAssistant, base_topic: str) -> AsyncIterator[Requests]:
    """Requests on a temporary subscription (the config flow, before any entry exists)."""
    requests = Requests(hass, base_topic)
    await requests.async_start()
    try:
        yield requests
    finally:
        requests.async_stop()


def _timeout(command: str, base_topic: str) -> BridgeTimeoutError:
    return BridgeTimeoutError(
        f"netmon did not answer '{command}' on {base_topic}/{TOPIC_REQUEST}/{command}",
        key="no_response",
        placeholders={"command": command, "base_topic": base_topic},
    )


def _result(command: str, response: dict[str, Any]) -> dict[str, Any]:
    if response.get("status") != "ok":
        error = str(response.get("error") or "unknown error")
        raise BridgeRefusedError(
            f"netmon refused '{command}': {error}",
            key="refused",
            placeholders={"command": command, "error": error},
        )
    data = response.get("data")
    return data if isinstance(data, dict) else {}


def version_supported(version: object) -> bool:
    """True for service versions this component speaks to."""
    try:
        major, minor = (int(part) for part in str(version).split(".")[:2])
    except ValueError:
        return False
    return major == SUPPORTED_MAJOR and (major, minor) >= MIN_SERVICE_VERSION


class NetmonBridge(Requests):
    """One netmon-mqtt instance: its retained bridge topics, events and requests."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        base_topic: str,
        *,
        offline_repair_after: float = OFFLINE_REPAIR_AFTER,
    ) -> None:
        super().__init__(hass, base_topic)
        self.entry_id = entry_id
        self.info: dict[str, Any] = {}
        self.devices: list[dict[str, Any]] = []
        self.online: bool | None = None
        self.offline_since: float | None = None
        self._offline_repair_after = offline_repair_after
        self._listeners: list[CALLBACK_TYPE] = []
        self._offline_timer: CALLBACK_TYPE | None = None

    @property
    def issue_suffix(self) -> str:
        """Repairs are per bridge: the base topic tells them apart."""
        return self.base_topic.replace("/", "_")

    # -- lifecycle -------------------------------------------------------------------
    async def async_start(self) -> None:
        """Subscribe to the bridge topics."""
        base = self.base_topic
        await super().async_start()
        handlers: dict[str, Callable[[mqtt.ReceiveMessage], None]] = {
            f"{base}/{TOPIC_STATE}": self._on_state,
            f"{base}/{TOPIC_INFO}": self._on_info,
            f"{base}/{TOPIC_DEVICES}": self._on_devices,
            f"{base}/{TOPIC_EVENT}": self._on_event,
        }
        for topic, handler in handlers.items():
            self._listeners.append(await mqtt.async_subscribe(self.hass, topic, handler, 1))

    @callback
    def async_stop(self) -> None:
        """Unsubscribe; fail requests still waiting; drop this bridge's repairs."""
        for unsubscribe in self._listeners:
            unsubscribe()
        self._listeners.clear()
        self._cancel_offline_timer()
        super().async_stop()
        for issue in (ISSUE_OFFLINE, ISSUE_VERSION):
            ir.async_delete_issue(self.hass, DOMAIN, f"{issue}_{self.issue_suffix}")

    # -- retained bridge topics ------------------------------------------------------
    @callback
    def _on_state(self, message: mqtt.ReceiveMessage) -> None:
        online = message.payload == "online"
        if not online and self.online is not False:
            _LOGGER.info(
                "netmon-mqtt on %s is unavailable (its bridge state is offline)", self.base_topic
            )
        elif online and self.online is False:
            _LOGGER.info("netmon-mqtt on %s is available again", self.base_topic)
        self.online = online
        if online:
            self.offline_since = None
            self._cancel_offline_timer()
            ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_OFFLINE}_{self.issue_suffix}")
        elif self._offline_timer is None:
            self.offline_since = time.time()
            self._offline_timer = async_call_later(
                self.hass, self._offline_repair_after, self._raise_offline_issue
            )

    @callback
    def _raise_offline_issue(self, _now: object) -> None:
        self._offline_timer = None
        minutes = max(1, round(self._offline_repair_after / 60))
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_OFFLINE}_{self.issue_suffix}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_OFFLINE,
            translation_placeholders={"base_topic": self.base_topic, "minutes": str(minutes)},
        )

    def _cancel_offline_timer(self) -> None:
        if self._offline_timer is not None:
            self._offline_timer()
            self._offline_timer = None

    @callback
    def _on_info(self, message: mqtt.ReceiveMessage) -> None:
        info = _parse(message.payload)
        if not isinstance(info, dict):
            return
        self.info = info
        issue_id = f"{ISSUE_VERSION}_{self.issue_suffix}"
        version = str(info.get("version"))
        if version_supported(version):
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_VERSION,
            translation_placeholders={
                "version": version,
                "supported": ".".join(str(p) for p in MIN_SERVICE_VERSION),
                "base_topic": self.base_topic,
            },
        )

    @callback
    def _on_devices(self, message: mqtt.ReceiveMessage) -> None:
        devices = _parse(message.payload)
        if not isinstance(devices, list):
            return
        self.devices = [d for d in devices if isinstance(d, dict)]

    def knows(self, device_id: str) -> bool:
        """True when this bridge lists ``device_id`` (its retained ``bridge/devices``)."""
        return any(str(d.get("id")) == device_id for d in self.devices)

    # -- events ----------------------------------------------------------------------
    @callback
    def _on_event(self, message: mqtt.ReceiveMessage) -> None:
        event = _parse(message.payload)
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            _LOGGER.debug("Ignoring a malformed bridge event: %s", message.payload)
            return
        kind, data = event.get("type"), event["data"]
        device_id = str(data.get("id", ""))
        ha_event = BRIDGE_EVENTS.get(str(kind))
        if ha_event is None:
            return
        device = find_device(self.hass, device_id)
        self.hass.bus.async_fire(
            ha_event,
            {
                **data,
                "netmon_id": device_id,
                "device_id": device.id if device else None,
                "base_topic": self.base_topic,
            },
        )


NetmonConfigEntry = ConfigEntry[NetmonBridge]
