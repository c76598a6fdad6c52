"""The pollers' SNMP reader (``identify/snmp_reader.py``) and the keyring it reads with
(``identify/snmp_credentials.py``): which agents are read, with which credential, and the
interface cache that spares the names, types and speeds between full reads. The client is
a stand-in that records the walks it is asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from netmon_mqtt.config import validate
from netmon_mqtt.errors import SnmpAgentError, SnmpError
from netmon_mqtt.events import DeviceRemoved, EventBus, OptionsChanged
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.identify.snmp_reader import INTERFACE_COLUMNS, STATIC_EVERY, SnmpReader
from netmon_mqtt.identify.snmp_walk import BULK_REPETITIONS, Found, Walk, Walked
from netmon_mqtt.models import Device
from netmon_mqtt.options import from_config

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PUBLIC = SnmpCredential(community="public")
COUNTERS_HC = {
    "oper_status",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
    "hc_in_octets",
    "hc_out_octets",
}


def _device(device_id: str = "001132000001", ip: str | None = "10.0.0.2") -> Device:
    return Device(id=device_id, mac=None, ip=ip, first_seen=T0, last_seen=T0)


def _switch(ports: int) -> Found:
    """Every interface column of a switch with ``ports`` ports."""
    found: Found = {name: {} for name in INTERFACE_COLUMNS}
    for i in range(1, ports + 1):
        found["name"][str(i)] = f"ge{i}".encode()
        found["type"][str(i)] = 6
        found["high_speed"][str(i)] = 1000
        found["oper_status"][str(i)] = 1
        found["hc_in_octets"][str(i)] = 1000 * i
        found["hc_out_octets"][str(i)] = 2000 * i
    return found


class Client:
    """Answers walks with the columns asked for, out of ``found``; records them."""

    def __init__(self, found: Found, uptime: float | None = 50.0) -> None:
        self.found = found
        self.uptime = uptime
        self.walks: list[tuple[str, SnmpCredential, Walk]] = []
        self.error: SnmpError | None = None

    async def walk(self, ip: str, credential: SnmpCredential, walk: Walk) -> Walked | None:
        self.walks.append((ip, credential, walk))
        if self.error is not None:
            raise self.error
        return Walked(self.uptime, {name: dict(self.found[name]) for name in walk.columns})


def _reader(client: Client, bus: EventBus | None = None) -> tuple[SnmpReader, Keyring]:
    keyring = Keyring((PUBLIC,), bus)
    return SnmpReader(client, keyring, bus), keyring


async def test_only_agents_that_answered_identification_are_read() -> None:
    client = Client(_switch(2))
    reader, keyring = _reader(client)
    assert await reader.read_interfaces(_device()) is None
    assert await reader.read_tables(_device(), Walk({"port": "1.3.6.1"}, 10)) is None
    keyring.answered(_device(ip=None), PUBLIC)
    assert await reader.read_interfaces(_device(ip=None)) is None
    assert client.walks == []


async def test_the_names_are_read_at_the_first_poll_and_every_static_every_polls() -> None:
    client = Client(_switch(3))
    reader, keyring = _reader(client)
    keyring.answered(_device(), PUBLIC)
    readings = [await reader.read_interfaces(_device()) for _ in range(STATIC_EVERY + 1)]
    walks = [walk for _, _, walk in client.walks]
    assert [ip for ip, _, _ in client.walks] == ["10.0.0.2"] * (STATIC_EVERY + 1)
    assert set(walks[0].columns) == set(INTERFACE_COLUMNS)
    assert walks[0].repetitions == BULK_REPETITIONS  # nothing known yet
    # In between: the counters that change (64-bit, the agent has them), one request's rows.
    assert all(set(w.columns) == COUNTERS_HC for w in walks[1:STATIC_EVERY])
    assert all(w.repetitions == 4 for w in walks[1:STATIC_EVERY])
    assert set(walks[STATIC_EVERY].columns) == set(INTERFACE_COLUMNS)
    # The names come from the cache when they were not read.
    last = readings[STATIC_EVERY - 1]
    assert last is not None
    assert [i.name for i in last.interfaces] == ["ge1", "ge2", "ge3"]
    assert last.uptime == 50.0
    assert last.interfaces[2].counter("in_octets") == 3000


async def test_a_removed_device_is_read_in_full_again_and_needs_identification() -> None:
    bus = EventBus()
    client = Client(_switch(2))
    reader, keyring = _reader(client, bus)
    keyring.answered(_device(), PUBLIC)
    await reader.read_interfaces(_device())
    await reader.read_interfaces(_device())
    await bus.emit(DeviceRemoved(_device(), "test"))
    assert await reader.read_interfaces(_device()) is None  # its credential is forgotten
    keyring.answered(_device(), PUBLIC)
    await reader.read_interfaces(_device())
    assert [len(w.columns) for _, _, w in client.walks] == [
        len(INTERFACE_COLUMNS),
        7,
        len(INTERFACE_COLUMNS),
    ]


async def test_an_unreadable_agent_gives_nothing() -> None:
    client = Client(_switch(2))
    reader, keyring = _reader(client)
    keyring.answered(_device(), PUBLIC)
    client.error = SnmpAgentError("No SNMP response received before timeout")
    assert await reader.read_interfaces(_device()) is None
    client.error = SnmpError("garbage")
    assert await reader.read_tables(_device(), Walk({"name": "1.3.6.1"}, 10)) is None


async def test_the_tables_are_read_with_the_credential_that_answered() -> None:
    other = SnmpCredential(community="private", networks=("10.0.0.0/24",))
    client = Client(_switch(1))
    reader, keyring = _reader(client)
    keyring.answered(_device(), other)
    found = await reader.read_tables(_device(), Walk({"name": INTERFACE_COLUMNS["name"]}, 10))
    assert found == {"name": {"1": b"ge1"}}
    assert client.walks[0][1] is other


def test_credentials_go_per_device_then_per_network_then_anywhere() -> None:
    anywhere = SnmpCredential(community="a")
    network = SnmpCredential(community="n", networks=("10.0.0.0/24",))
    elsewhere = SnmpCredential(community="e", networks=("192.168.0.0/16",))
    device = SnmpCredential(community="d", devices=("001132000001",))
    keyring = Keyring((anywhere, network, elsewhere, device))
    assert keyring.candidates(_device()) == [device, network, anywhere]
    assert keyring.candidates(_device("other")) == [network, anywhere]


async def test_saved_credentials_are_tried_before_the_configured_ones() -> None:
    bus = EventBus()
    keyring = Keyring((PUBLIC,), bus)
    options = from_config(validate({"networks": ["eth0"]}))
    saved = {"version": "3", "username": "admin"}
    await bus.emit(OptionsChanged(replace(options, snmp_credentials=(saved,)), frozenset()))
    assert keyring.candidates(_device()) == [SnmpCredential.from_data(saved), PUBLIC]
    await bus.emit(OptionsChanged(options, frozenset({"snmp_credentials"})))
    assert keyring.candidates(_device()) == [PUBLIC]


def test_a_credential_never_shows_its_secrets() -> None:
    secret = SnmpCredential(version="3", username="u", auth_key="s3cr3t-key", networks=("10/8",))
    assert repr(secret) == "SnmpCredential(v3, 10/8)"
    assert "s3cr3t" not in f"{secret!r} {secret!s}"
