"""Fixtures for the Home Assistant component: the HA test harness with a mocked MQTT
client, and a responder that answers requests the way the netmon-mqtt bridge does."""

from __future__ import annotations

import base64
import ipaddress
import json
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockPahoClient

# The harness ships a `custom_components` package of its own: ours must be the one imported.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for _name in [
    m for m in sys.modules if m == "custom_components" or m.startswith("custom_components.")
]:
    del sys.modules[_name]
import custom_components  # noqa: E402,F401

BASE = "netmon"
# The service's key pair: the component seals secrets to its public key (``unsealed`` opens).
SEALING_KEY = X25519PrivateKey.generate()
INFO = {
    "version": "0.1.0",
    "instance_id": "main",
    "base_topic": BASE,
    "discovery_prefix": "homeassistant",
    "networks": ["192.0.2.0/24"],
    "devices": {"total": 2, "online": 1},
    "public_key": base64.b64encode(
        SEALING_KEY.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    ).decode(),
    "sealing": "x25519-hkdf-sha256-chacha20poly1305",
}


def unsealed(value: Any) -> Any:
    """``value`` with every ``{"sealed": ...}`` opened with ``SEALING_KEY`` (as the service
    does: X25519, HKDF-SHA256 over both public keys, ChaCha20-Poly1305)."""
    if isinstance(value, list):
        return [unsealed(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"sealed"}:
        raw = base64.b64decode(value["sealed"])
        sender, nonce, body = raw[:32], raw[32:44], raw[44:]
        mine = SEALING_KEY.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        shared = SEALING_KEY.exchange(X25519PublicKey.from_public_bytes(sender))
        info = b"netmon-mqtt sealed secret v1" + sender + mine
        key = HKDF(hashes.SHA256(), 32, None, info).derive(shared)
        return ChaCha20Poly1305(key).decrypt(nonce, body, sender).decode()
    return {k: unsealed(v) for k, v in value.items()}


OPTIONS = {
    "discovery_interval": 600,
    "monitor_interval": 5,
    "metrics_interval": 30,
    "consider_home": 180,
    "ping_timeout": 1.0,
    "wake_probe": True,
    "history_days": 7,
    "track_new_devices": True,
    "networks": ["192.0.2.0/24"],
    "snmp_credentials": [{"version": "2c", "community": "***"}],
}

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def ok(data: dict[str, Any]) -> dict[str, Any]:
    """A successful response."""
    return {"status": "ok", "data": data}


def error(message: str) -> dict[str, Any]:
    """An error response."""
    return {"status": "error", "data": {}, "error": message}


class FakeBridge:
    """Answers ``<base>/bridge/request/<cmd>`` on the mocked MQTT client like the service.

    ``handlers`` maps a command to a function of the request payload returning the response;
    ``silent`` makes it answer nothing; ``requests`` records (command, payload).
    """

    def __init__(self, hass: HomeAssistant, client: MqttMockPahoClient, base: str = BASE):
        self.hass = hass
        self.base = base
        self.silent = False
        self.options = dict(OPTIONS)
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.handlers: dict[str, Handler] = {
            "info": lambda _p: ok(INFO),
            "options": self._options,
            "health_check": lambda _p: ok({"healthy": True, "uptime_s": 12}),
        }
        self._echo = client.publish.side_effect
        client.publish.side_effect = self._publish

    def _options(self, payload: dict[str, Any]) -> dict[str, Any]:
        changes = payload.get("options", {})
        for index, network in enumerate(changes.get("networks", [])):
            try:
                ipaddress.ip_network(network)
            except ValueError:
                return error(
                    f"options.networks[{index}]: expected a CIDR such as 192.168.1.0/24, "
                    f"got {network!r}"
                )
        self.options.update(changes)
        return ok({"options": self.options})

    def _publish(self, topic: str, payload: Any, *args: Any, **kwargs: Any) -> Any:
        # Passed on as called: Home Assistant 2025.4 calls publish(topic, payload, qos,
        # retain), 2026.10 adds the MQTT v5 properties.
        info = self._echo(topic, payload, *args, **kwargs)
        prefix = f"{self.base}/bridge/request/"
        if topic.startswith(prefix):
            command = topic[len(prefix) :]
            request = json.loads(payload)
            self.requests.append((command, request))
            handler = self.handlers.get(command)
            if handler is not None and not self.silent:
                response = {**handler(request), "transaction": request.get("transaction")}
                self.hass.loop.call_soon(
                    async_fire_mqtt_message,
                    self.hass,
                    f"{self.base}/bridge/response/{command}",
                    json.dumps(response),
                )
        return info

    def commands(self, command: str) -> list[dict[str, Any]]:
        """Payloads received for ``command``, transaction removed."""
        return [
            {k: v for k, v in p.items() if k != "transaction"}
            for c, p in self.requests
            if c == command
        ]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Load custom_components/ from this repository."""
    yield


@pytest.fixture
async def bridge(
    hass: HomeAssistant, mqtt_mock: Any, mqtt_client_mock: MqttMockPahoClient
) -> FakeBridge:
    """MQTT set up, and a netmon bridge answering on it."""
    return FakeBridge(hass, mqtt_client_mock)


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    """A netmon entry for the ``main`` instance on ``netmon``."""
    config_entry = MockConfigEntry(
        domain="netmon",
        title="netmon",
        unique_id="main",
        data={"base_topic": BASE, "instance_id": "main"},
    )
    config_entry.add_to_hass(hass)
    return config_entry
