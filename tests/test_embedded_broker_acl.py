"""The broker is not the admin. The embedded broker is not an open door: without a password
it only listens on loopback; with one, only its users get in, and the viewer reads states
and events but never the requests (they may carry secrets) and publishes nothing. A real
amqtt broker and real
aiomqtt clients on loopback; and the shipped mosquitto ACL keeps requests from viewers and
other probes (a real mosquitto)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import aiomqtt
import pytest

from netmon_mqtt.broker import EmbeddedBroker
from netmon_mqtt.config import EmbeddedBrokerConfig, validate
from netmon_mqtt.errors import ConfigError

from .conftest import require
from .mqtt_tools import EXAMPLES, LocalMosquitto, free_port

REQUEST = "netmon/bridge/request/options"
STATE = "netmon/device/b827eb000001"


@pytest.fixture
async def broker() -> AsyncIterator[int]:
    port = free_port()
    settings = EmbeddedBrokerConfig(
        host="127.0.0.1", port=port, password="s3cret", viewer_password="look-only"
    )
    embedded = EmbeddedBroker(settings)
    await embedded.start()
    try:
        yield port
    finally:
        await embedded.stop()


def _client(port: int, username: str | None = None, password: str | None = None) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", port, username=username, password=password, timeout=5)


async def _received(client: aiomqtt.Client, seconds: float) -> list[str]:
    topics: list[str] = []
    try:
        async with asyncio.timeout(seconds):
            async for message in client.messages:
                topics.append(str(message.topic))
    except TimeoutError:
        pass
    return topics


async def test_only_its_users_get_in(broker: int) -> None:
    for username, password in ((None, None), ("netmon", "wrong"), ("viewer", "s3cret")):
        with pytest.raises(aiomqtt.MqttError):
            async with _client(broker, username, password):
                pass
    async with _client(broker, "netmon", "s3cret"), _client(broker, "viewer", "look-only"):
        pass


async def test_the_viewer_never_reads_requests_and_publishes_nothing(broker: int) -> None:
    async with (
        _client(broker, "netmon", "s3cret") as admin,
        _client(broker, "viewer", "look-only") as viewer,
    ):
        await viewer.subscribe("#")
        await admin.subscribe("netmon/bridge/request/#")
        await asyncio.sleep(0.2)
        await admin.publish(REQUEST, b'{"options": {"snmp_credentials": []}}', qos=1)
        await admin.publish(STATE, b'{"presence": "home"}', qos=1, retain=True)
        assert await _received(viewer, 1.0) == [STATE]
        await viewer.publish("netmon/bridge/request/scan", b"{}", qos=1)
        await viewer.publish(STATE, b'{"presence": "not_home"}', qos=1, retain=True)
        # Only its own request came back: neither the viewer's request nor its fake state.
        assert await _received(admin, 1.0) == [REQUEST]
    async with _client(broker, "netmon", "s3cret") as admin:
        await admin.subscribe(STATE)
        topics = []
        async with asyncio.timeout(2):
            async for message in admin.messages:
                topics.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
                break
        assert topics == [(STATE, b'{"presence": "home"}')]  # the viewer changed nothing


def test_beyond_loopback_it_needs_a_password() -> None:
    with pytest.raises(ConfigError) as refused:
        validate({"embedded_broker": {"host": "0.0.0.0"}})
    assert refused.value.path == "embedded_broker.host"
    assert "embedded_broker.password" in str(refused.value)
    config = validate({"embedded_broker": {"host": "0.0.0.0", "password": "s3cret"}})
    assert (config.client_mqtt.username, config.client_mqtt.password) == ("netmon", "s3cret")
    assert "s3cret" not in repr(config)
    assert validate({}).client_mqtt.username is None  # loopback, no password: as before


@pytest.fixture
def central() -> Iterator[int]:
    """mosquitto with the shipped central ACL, every user's password "pw"."""
    require(shutil.which("mosquitto_passwd") is not None, "needs mosquitto_passwd")
    broker = LocalMosquitto()
    folder = broker.folder
    passwd, acl = folder / "passwd", folder / "central.acl"
    for n, user in enumerate(("homeassistant", "viewer", "probe_alpha", "probe_beta")):
        create = ["-c"] if n == 0 else []
        command = ["mosquitto_passwd", *create, "-b", str(passwd), user, "pw"]
        subprocess.run(command, check=True, timeout=30)
    acl.write_text((EXAMPLES / "central.acl").read_text())
    for path in (folder, passwd, acl):  # mosquitto started as root reads as its own user
        path.chmod(0o755 if path.is_dir() else 0o644)
    broker._config = (
        f"listener {broker.port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
        f"password_file {passwd}\nacl_file {acl}\n"
    )
    broker.start()
    try:
        yield broker.port
    finally:
        broker.stop()


async def test_the_shipped_acl_keeps_requests_from_viewers_and_other_probes(central: int) -> None:
    request, state = "netmon/alpha/bridge/request/options", "netmon/alpha/device/b827eb000001"
    async with (
        _client(central, "homeassistant", "pw") as home_assistant,
        _client(central, "viewer", "pw") as viewer,
        _client(central, "probe_beta", "pw") as beta,
        _client(central, "probe_alpha", "pw") as alpha,
    ):
        for client in (viewer, beta):
            await client.subscribe("netmon/#")
        await alpha.subscribe("netmon/alpha/bridge/request/#")
        await asyncio.sleep(0.2)
        await home_assistant.publish(request, b'{"options": {}}', qos=1)
        await alpha.publish(state, b'{"presence": "home"}', qos=1)
        await viewer.publish("netmon/alpha/bridge/request/scan", b"{}", qos=1)
        assert await _received(viewer, 1.0) == [state]
        assert await _received(beta, 0.2) == [state]
        assert await _received(alpha, 0.2) == [request]  # its own, from Home Assistant only
