"""Interface bandwidth: rates from counters (wraps, restarts, garbage), the poller, the
inventory's interface list and the Home Assistant sensors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from netmon_mqtt.events import DeviceRemoved, EventBus, InterfacesMeasured
from netmon_mqtt.identify import snmp_walk
from netmon_mqtt.identify.interfaces import Interface, Reading, interface_from_columns, rates
from netmon_mqtt.identify.snmp_client import SnmpClient
from netmon_mqtt.identify.snmp_credentials import Keyring
from netmon_mqtt.identify.snmp_reader import (
    INTERFACE_COLUMNS,
    MAX_INTERFACES,
    SnmpReader,
    by_interface,
)
from netmon_mqtt.inventory.merge import interfaces_seen
from netmon_mqtt.models import Device
from netmon_mqtt.monitor.bandwidth import BandwidthPoller
from netmon_mqtt.publish import ha_discovery
from netmon_mqtt.publish.payloads import interfaces_payload
from netmon_mqtt.publish.topics import Topics

T0 = datetime(2026, 5, 1, tzinfo=UTC)
GIGABIT = 1e9


def _if(
    index: int = 3, *, hc: bool = True, speed: float | None = GIGABIT, **counters: int
) -> Interface:
    return Interface(
        index=index,
        name=f"port{index}",
        alias=None,
        kind=6,
        speed_bps=speed,
        up=True,
        counters=tuple(counters.items()),
        hc=hc,
    )


def _reading(at: float, *interfaces: Interface, uptime: float | None = 1000.0) -> Reading:
    return Reading(at, uptime, interfaces)


def test_octets_become_bits_per_second() -> None:
    before = _reading(0.0, _if(in_octets=1_000, out_octets=0, in_errors=0, out_errors=1))
    after = _reading(
        10.0,
        _if(in_octets=1_000 + 12_500_000, out_octets=1_250, in_errors=5, out_errors=6),
        uptime=1010.0,
    )
    (rate,) = rates(before, after) or []
    assert (rate.in_bps, rate.out_bps) == (10_000_000.0, 1_000.0)
    assert rate.errors_per_s == 1.0
    assert rate.discards_per_s is None  # the agent has no such column
    assert rate.carries_traffic


def test_counters_that_wrap_once_are_followed() -> None:
    small = _reading(0.0, _if(hc=False, in_octets=2**32 - 1_000, out_octets=5))
    wrapped = _reading(1.0, _if(hc=False, in_octets=1_000, out_octets=5))
    (rate,) = rates(small, wrapped) or []
    assert rate.in_bps == 2_000 * 8
    wide = _reading(0.0, _if(in_octets=2**64 - 10, out_octets=0))
    wide_wrapped = _reading(1.0, _if(in_octets=10, out_octets=0))
    (rate,) = rates(wide, wide_wrapped) or []
    assert rate.in_bps == 20 * 8


def test_an_agent_restart_is_a_new_baseline_not_a_spike() -> None:
    before = _reading(0.0, _if(in_octets=9_000_000), uptime=50_000.0)
    after = _reading(60.0, _if(in_octets=1_000), uptime=30.0)  # sysUpTime went back
    assert rates(before, after) is None
    assert rates(before, _reading(0.0, _if(in_octets=9_000_001))) is None  # no time passed


def test_impossible_rates_and_changed_counter_widths_give_no_rate() -> None:
    before = _reading(0.0, _if(speed=100e6, in_octets=0, out_octets=0), _if(4, in_octets=0))
    # 1 GB in a second on a 100 Mbit/s port: garbage; port 4 switched to 32-bit counters.
    after = _reading(
        1.0, _if(speed=100e6, in_octets=10**9, out_octets=0), _if(4, hc=False, in_octets=5)
    )
    (rate,) = rates(before, after) or []
    assert (rate.index, rate.in_bps, rate.out_bps) == (3, None, 0.0)
    assert not rate.carries_traffic


def test_interface_rows_prefer_64_bit_counters_and_survive_bad_columns() -> None:
    row = {
        "descr": b"eth0",
        "name": b"ge-0/0/1",
        "alias": b"uplink \x00to core",
        "type": 6,
        "speed": 4_294_967_295,
        "high_speed": 10_000,
        "oper_status": 1,
        "in_octets": 5,
        "out_octets": 6,
        "hc_in_octets": 5_000_000_000,
        "hc_out_octets": 7,
        "in_errors": -3,  # garbage: dropped
        "out_errors": "x",
    }
    interface = interface_from_columns(12, row)
    assert (interface.name, interface.alias) == ("ge-0/0/1", "uplink to core")
    assert interface.speed_bps == 10e9
    assert interface.hc and interface.up
    assert interface.counter("in_octets") == 5_000_000_000
    assert interface.counter("in_errors") is None and interface.counter("out_errors") is None
    bare = interface_from_columns(2, {"oper_status": 2, "in_octets": 1, "out_octets": 2})
    assert (bare.name, bare.hc, bare.up, bare.speed_bps) == ("if2", False, False, None)


class _Reader:
    def __init__(self) -> None:
        self.readings: list[Reading | None] = []

    async def read_interfaces(self, device: Device) -> Reading | None:
        return self.readings.pop(0) if self.readings else None


class _Devices:
    def __init__(self, *devices: Device) -> None:
        self.list = list(devices)

    def devices(self) -> list[Device]:
        return self.list

    def get(self, device_id: str) -> Device | None:
        return next((d for d in self.list if d.id == device_id), None)


def _agent(**changes: object) -> Device:
    fields: dict[str, object] = {
        "id": "001132000001",
        "mac": "00:11:32:00:00:01",
        "ip": "10.0.0.2",
        "first_seen": T0,
        "last_seen": T0,
        "details": {"snmp": {"sysName": "switch"}},
        **changes,
    }
    return Device(**fields)  # type: ignore[arg-type]


async def test_the_poller_reports_rates_from_the_second_reading_on() -> None:
    bus = EventBus()
    measured: list[InterfacesMeasured] = []
    bus.subscribe(InterfacesMeasured, measured.append)
    reader = _Reader()
    agents = _Devices(
        _agent(), _agent(id="b", ip="10.0.0.3", details={}), _agent(id="c", tracked=False)
    )
    poller = BandwidthPoller(bus, agents, reader, 60.0)
    reader.readings = [_reading(0.0, _if(in_octets=0, out_octets=0))]
    await poller.poll()
    assert measured == []  # a baseline
    reader.readings = [_reading(10.0, _if(in_octets=1_250_000, out_octets=0), uptime=1010.0)]
    await poller.poll()
    (event,) = measured
    assert event.device_id == "001132000001"
    assert event.rates[0].in_bps == 1_000_000.0
    reader.readings = [_reading(20.0, _if(in_octets=5, out_octets=0), uptime=3.0)]  # restarted
    await poller.poll()
    assert len(measured) == 1
    reader.readings = [None]  # no answer: nothing, no crash
    await poller.poll()
    await bus.emit(DeviceRemoved(_agent(), "test"))
    reader.readings = [_reading(30.0, _if(in_octets=9, out_octets=0), uptime=13.0)]
    await poller.poll()
    assert len(measured) == 1  # the removed device's baseline was dropped


def test_interfaces_keep_whether_they_carried_traffic_when_first_seen() -> None:
    busy = rates(
        _reading(0.0, _if(in_octets=0, out_octets=0)),
        _reading(1.0, _if(in_octets=99, out_octets=0)),
    )
    idle = rates(
        _reading(0.0, _if(in_octets=0, out_octets=0)), _reading(1.0, _if(in_octets=0, out_octets=0))
    )
    assert busy and idle
    seen = interfaces_seen({}, busy)
    assert seen == {"if3": {"name": "port3", "alias": None, "active": True}}
    assert interfaces_seen(seen, idle) == seen  # still enabled: its entities exist


def test_bandwidth_sensors_in_the_device_config() -> None:
    topics = Topics()
    device = _agent(
        details={
            "snmp": {},
            "interfaces": {
                "if10": {"name": "eth9", "alias": None, "active": False},
                "if2": {"name": "eth1", "alias": "uplink", "active": True},
            },
        }
    )
    components = ha_discovery.device_config(device, topics, "1.0")["components"]
    keys = [k for k in components if k.startswith("if")]
    assert keys == ["if2_in", "if2_out", "if2_errors", "if10_in", "if10_out", "if10_errors"]
    inbound = components["if2_in"]
    assert inbound["name"] == "uplink in"
    assert (inbound["device_class"], inbound["unit_of_measurement"]) == ("data_rate", "bit/s")
    assert inbound["state_topic"] == "netmon/device/001132000001/interfaces"
    assert inbound["value_template"] == "{{ value_json.interfaces.get('if2', {}).get('in_bps') }}"
    assert inbound["unique_id"] == "netmon_001132000001_if2_in"
    assert "enabled_by_default" not in inbound
    assert components["if10_in"]["enabled_by_default"] is False
    assert components["if2_errors"]["enabled_by_default"] is False


@pytest.mark.parametrize("with_rates", [True, False])
def test_the_interfaces_payload(with_rates: bool) -> None:
    found = rates(
        _reading(0.0, _if(in_octets=0, out_octets=0)),
        _reading(2.0, _if(in_octets=250, out_octets=0)),
    )
    assert found is not None
    payload = interfaces_payload(found if with_rates else [], T0)
    assert payload["at"] == "2026-05-01T00:00:00.000+00:00"
    if with_rates:
        assert payload["interfaces"]["if3"]["in_bps"] == 1000.0
        assert payload["interfaces"]["if3"]["name"] == "port3"
    else:
        assert payload["interfaces"] == {}


class Counter64(int):
    """Stands for pysnmp's type of the same name (the walk looks at the type's name)."""


class OctetString(bytes):
    def asOctets(self) -> bytes:
        return bytes(self)


class EndOfMibView:
    pass


def _binds(*rows: tuple[str, object]) -> list[tuple[str, object]]:
    return list(rows)


_IF_WALK = snmp_walk.Walk(INTERFACE_COLUMNS, MAX_INTERFACES)


def test_the_walk_reads_columns_side_by_side_and_stops_at_their_ends() -> None:
    columns = ["hc_in_octets", "name"]
    cursor = {c: INTERFACE_COLUMNS[c] for c in columns}
    found: snmp_walk.Found = {}
    hc, name = INTERFACE_COLUMNS["hc_in_octets"], INTERFACE_COLUMNS["name"]
    binds = _binds(
        (f"{hc}.1", Counter64(10)),
        (f"{name}.1", OctetString(b"eth0")),
        (f"{hc}.2", Counter64(20)),
        (f"{name}.2", OctetString(b"eth1")),
        (f"{hc}.3", Counter64(30)),
        ("1.3.6.1.2.1.31.1.1.1.2.1", Counter64(0)),  # the next column: name's table ended
    )
    still = snmp_walk.advance(_IF_WALK, columns, cursor, binds, found)
    assert still == ["hc_in_octets"]
    assert by_interface(found) == {
        1: {"hc_in_octets": 10, "name": b"eth0"},
        2: {"hc_in_octets": 20, "name": b"eth1"},
        3: {"hc_in_octets": 30},
    }
    assert cursor["hc_in_octets"] == f"{hc}.3"


def test_a_broken_agent_cannot_make_the_walk_loop_or_grow_without_bound() -> None:
    hc = INTERFACE_COLUMNS["hc_in_octets"]
    cursor = {"hc_in_octets": f"{hc}.5"}
    found: snmp_walk.Found = {}
    walk, column = _IF_WALK, ["hc_in_octets"]
    # The same OID again (no progress), then the end-of-MIB marker: the column ends.
    assert snmp_walk.advance(walk, column, cursor, [(f"{hc}.5", Counter64(1))], found) == []
    start = {"hc_in_octets": hc}
    assert snmp_walk.advance(walk, column, start, [(f"{hc}.1", EndOfMibView())], found) == []
    assert by_interface(found) == {}
    # An index that is not an OID suffix ends it too.
    assert snmp_walk.advance(walk, column, dict(start), [(f"{hc}.1.x", Counter64(1))], found) == []
    # A table larger than MAX_INTERFACES is cut there.
    many = [(f"{hc}.{i}", Counter64(i)) for i in range(1, MAX_INTERFACES + 50)]
    assert snmp_walk.advance(walk, column, dict(start), many, found) == []
    assert len(by_interface(found)) == MAX_INTERFACES


def test_table_rows_keep_their_whole_index() -> None:
    """Forwarding tables are indexed by a MAC address (six numbers), after a VLAN."""
    port = "1.3.6.1.2.1.17.7.1.2.2.1.2"
    walk = snmp_walk.Walk({"port": port}, 2)
    found: snmp_walk.Found = {}
    binds = [(f"{port}.1.2.0.0.0.1.1", Counter64(3)), (f"{port}.1.2.0.0.0.1.2", Counter64(4))]
    binds.append((f"{port}.1.2.0.0.0.1.3", Counter64(5)))  # over max_rows: cut
    assert snmp_walk.advance(walk, ["port"], {"port": port}, binds, found) == []
    assert found == {"port": {"1.2.0.0.0.1.1": 3, "1.2.0.0.0.1.2": 4}}


async def test_no_interface_reading_without_an_agent_that_answered() -> None:
    reader = SnmpReader(SnmpClient(), Keyring(()))
    assert await reader.read_interfaces(_agent()) is None
