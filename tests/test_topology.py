"""Topology: forwarding and LLDP tables parsed, devices placed on access ports (never on an
uplink), switches hung from each other, and the picture rendered (pure parts and poller)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from netmon_mqtt.events import EventBus, TopologyChanged
from netmon_mqtt.identify.snmp_walk import Found, Walk
from netmon_mqtt.models import Device
from netmon_mqtt.topology import render
from netmon_mqtt.topology.infer import FDB, LLDP, Known, Placement, Topology, infer
from netmon_mqtt.topology.service import TopologyPoller
from netmon_mqtt.topology.tables import Neighbour, SwitchTables, switch_tables

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PROBE = "02:00:00:00:00:01"


def _mac_index(mac: str) -> str:
    return ".".join(str(int(part, 16)) for part in mac.split(":"))


def _device(n: int, *, ip: str | None = None, name: str | None = None) -> Device:
    mac = f"02:00:00:00:01:{n:02x}"
    return Device(
        id=mac.replace(":", ""),
        mac=mac,
        ip=ip or f"10.0.0.{n}",
        first_seen=T0,
        last_seen=T0,
        names={"dns": name} if name else {},
    )


def _fdb(switch: str, entries: dict[str, int], names: dict[int, str] | None = None) -> SwitchTables:
    ports = names or {i: f"p{i}" for i in set(entries.values())}
    return SwitchTables(switch, tuple(sorted(ports.items())), tuple(entries.items()), ())


# -- tables -------------------------------------------------------------------------------
def test_bridge_mib_entries_map_bridge_ports_to_interfaces_and_skip_the_switchs_own() -> None:
    host, own, group = "02:00:00:00:01:05", "02:00:00:00:0a:01", "01:00:5e:00:00:01"
    found: Found = {
        "base_port_ifindex": {"1": 11, "2": 12},
        "fdb_port": {_mac_index(host): 2, _mac_index(own): 1, _mac_index(group): 1},
        "fdb_status": {_mac_index(host): 3, _mac_index(own): 4, _mac_index(group): 3},
        "if_descr": {"11": b"Port 1", "12": b"Port 2"},
        "if_name": {"12": b"gi0/2"},
    }
    tables = switch_tables("sw", found)
    assert tables.fdb == ((host, 12),)
    assert tables.port_names == {12: "gi0/2"}
    assert tables.port_name(99) == "port 99"


def test_q_bridge_rows_start_with_the_vlan() -> None:
    host = "02:00:00:00:01:07"
    found: Found = {"qfdb_port": {f"1.{_mac_index(host)}": 7, f"20.{_mac_index(host)}": 7}}
    tables = switch_tables("sw", found)
    assert tables.fdb == ((host, 7),)  # once, whatever the VLANs


def test_malformed_answers_are_skipped_not_guessed() -> None:
    good = "02:00:00:00:01:01"
    found: Found = {
        "fdb_port": {
            _mac_index(good): 3,
            "2.0.0.0.1": 3,  # five numbers
            "2.0.0.0.1.999": 3,  # not an octet
            _mac_index("02:00:00:00:01:02"): b"three",  # a string for a port
            _mac_index("02:00:00:00:01:03"): 0,  # port 0: unknown
        },
        "base_port_ifindex": {"3": b"x", "x": 4},
        "lldp_chassis": {"1.2": b"\x02\x00\x00\x00\x01\x01"},  # index too short
        "if_name": {"3": 17},
    }
    tables = switch_tables("sw", found)
    assert tables.fdb == ((good, 3),)
    assert tables.malformed == 3  # port 0 is the agent saying "not known", not garbage
    assert tables.neighbours == ()
    assert tables.port_names == {3: "port 3"}


def test_nothing_to_say_is_not_a_switch() -> None:
    assert not switch_tables("printer", {}).is_switch
    assert not switch_tables("printer", {"if_name": {"1": b"eth0"}}).is_switch


def test_lldp_neighbours_with_their_port_capabilities_and_management_address() -> None:
    row = "3100.3.1"
    found: Found = {
        "if_name": {"2": b"p1", "3": b"p2"},
        "lldp_local_port_desc": {"7": b"p2"},  # the agent numbers LLDP ports its own way
        "lldp_chassis_subtype": {"3100.7.1": 4, "3100.9.1": 7},
        "lldp_chassis": {"3100.7.1": bytes.fromhex("020000000aff"), "3100.9.1": b"ap-hall"},
        "lldp_sys_name": {"3100.7.1": b"core-switch", "3100.9.1": b"ap-hall"},
        "lldp_port_id": {"3100.7.1": b"ge-0/0/1"},
        "lldp_caps": {"3100.7.1": b"\x20\x00", "3100.9.1": b"\x00\x80"},
        "lldp_man_addr": {"3100.7.1.1.4.10.0.0.250": 2, f"{row}.2.16.254.128": 2},
    }
    tables = switch_tables("sw", found)
    switch, station = tables.neighbours
    assert switch == Neighbour(
        3, "02:00:00:00:0a:ff", "core-switch", "ge-0/0/1", ("10.0.0.250",), True
    )
    assert station.ifindex == 9 and station.chassis_mac is None and not station.relays


# -- inference ----------------------------------------------------------------------------
def _known(*devices: Device) -> Known:
    return Known.of(devices, [PROBE])


def test_two_switches_each_host_on_its_own_port_and_never_on_the_uplink() -> None:
    a, b = _device(0xA1, name="switch-a"), _device(0xB1, name="switch-b")
    h1, h2, h3, h4 = (_device(n) for n in (1, 2, 3, 4))
    # A: probe on 1, h1 on 2, h2 on 3, uplink to B on 24 (B, h3, h4 behind it).
    table_a = _fdb(
        a.id,
        {PROBE: 1, h1.mac: 2, h2.mac: 3, b.mac: 24, h3.mac: 24, h4.mac: 24},
    )
    # B: h3 on 5, h4 on 6, A and everything else behind its port 1.
    table_b = _fdb(
        b.id,
        {h3.mac: 5, h4.mac: 6, a.mac: 1, PROBE: 1, h1.mac: 1, h2.mac: 1},
    )
    topology = infer([table_a, table_b], _known(a, b, h1, h2, h3, h4), uplink_macs=10)
    assert topology.root == a.id
    where = {p.device: (p.switch, p.port) for p in topology.placements}
    assert where == {
        b.id: (a.id, "p24"),  # the switch hangs from A's port 24
        h1.id: (a.id, "p2"),
        h2.id: (a.id, "p3"),
        h3.id: (b.id, "p5"),
        h4.id: (b.id, "p6"),
    }
    assert dict(topology.uplinks) == {a.id: ("p24",), b.id: ("p1",)}
    for p in topology.placements:
        if p.device != b.id:
            assert p.port not in dict(topology.uplinks)[p.switch]


def test_a_port_with_many_macs_is_an_uplink_and_places_nobody() -> None:
    hosts = [_device(n) for n in range(1, 8)]
    entries = {h.mac: 9 for h in hosts[:5]}  # an unmanaged switch behind port 9
    entries |= {hosts[5].mac: 2, hosts[6].mac: 3}
    topology = infer([_fdb("sw", entries)], _known(*hosts), uplink_macs=5)
    assert {p.device for p in topology.placements} == {hosts[5].id, hosts[6].id}
    assert dict(topology.uplinks) == {"sw": ("p9",)}
    below = infer([_fdb("sw", entries)], _known(*hosts), uplink_macs=6)
    assert len(below.placements) == 7  # under the limit: a shared access port


def test_an_lldp_neighbour_sits_where_it_was_heard_and_its_port_places_nobody_else() -> None:
    ap, phone, laptop = _device(0x50, name="ap-hall"), _device(1), _device(2)
    heard = Neighbour(4, None, "AP-Hall", "eth0", (), relays=True)
    tables = SwitchTables(
        "sw", ((3, "p3"), (4, "p4")), ((phone.mac, 4), (ap.mac, 4), (laptop.mac, 3)), (heard,)
    )
    topology = infer([tables], _known(ap, phone, laptop), uplink_macs=10)
    where = {p.device: (p.port, p.source) for p in topology.placements}
    assert where == {ap.id: ("p4", LLDP), laptop.id: ("p3", FDB)}  # the phone is behind the AP


def test_a_chain_of_switches_hangs_each_from_the_nearest_one_on_the_roots_side() -> None:
    a, b, c = _device(0xA1), _device(0xB1), _device(0xC1)
    host = _device(7)
    macs = {d.id: d.mac for d in (a, b, c, host)}
    table_a = _fdb(a.id, {PROBE: 1, macs[b.id]: 2, macs[c.id]: 2, macs[host.id]: 2})
    table_b = _fdb(b.id, {PROBE: 1, macs[a.id]: 1, macs[c.id]: 8, macs[host.id]: 8})
    table_c = _fdb(c.id, {PROBE: 3, macs[a.id]: 3, macs[b.id]: 3, macs[host.id]: 4})
    topology = infer([table_c, table_b, table_a], _known(a, b, c, host), uplink_macs=10)
    parents = {p.device: (p.switch, p.port) for p in topology.placements}
    assert parents == {b.id: (a.id, "p2"), c.id: (b.id, "p8"), host.id: (c.id, "p4")}


def test_inconsistent_tables_cannot_make_a_loop() -> None:
    a, b = _device(0xA1), _device(0xB1)
    # Neither sees the probe; each sees the other: the smaller id is the root.
    tables = [_fdb(a.id, {b.mac: 1}), _fdb(b.id, {a.mac: 1})]
    topology = infer(tables, _known(a, b), uplink_macs=10)
    assert topology.root == a.id
    assert [(p.device, p.switch) for p in topology.placements] == [(b.id, a.id)]


def test_a_quiet_device_keeps_its_port_until_it_leaves_the_inventory() -> None:
    before = Topology((Placement("h1", "sw", 2, "p2", FDB, 1),), (("sw", ()),), "sw")
    now = Topology((Placement("h2", "sw", 3, "p3", FDB, 1),), (("sw", ()),), "sw")
    assert {p.device for p in now.carried(before, ["h1", "h2"]).placements} == {"h1", "h2"}
    assert {p.device for p in now.carried(before, ["h2"]).placements} == {"h2"}
    # A switch that did not answer this time keeps its facts while it is in the inventory.
    silent = Topology((), (), None)
    assert silent.carried(before, ["sw", "h1"]) == before
    assert silent.carried(before, ["h1"]) == silent  # the switch was removed


# -- rendering ----------------------------------------------------------------------------
def _pictured() -> tuple[Topology, list[Device]]:
    switch, host = _device(0xA1, name="core"), _device(2, name='tv "living"')
    topology = Topology(
        (Placement(host.id, switch.id, 2, "gi0/2", FDB, 1),), ((switch.id, ("gi0/24",)),), switch.id
    )
    return topology, [switch, host]


def test_the_inventory_holds_the_whole_picture() -> None:
    topology, devices = _pictured()
    stored = []
    for device in devices:
        details = render.store(topology, device)
        assert details is not None
        stored.append(replace(device, details=details))
        assert render.store(topology, stored[-1]) is None  # nothing new the second time
    assert render.from_devices(stored) == topology
    # A device the picture no longer places loses its port.
    unplaced = render.store(Topology((), topology.uplinks, topology.root), stored[1])
    assert unplaced == {}
    garbage = replace(devices[1], details={"port": {"switch": 3, "port": None}})
    assert render.from_devices([garbage]).placements == ()


def test_json_mermaid_and_dot() -> None:
    topology, devices = _pictured()
    switch, host = devices
    picture = json.loads(render.render("json", topology, devices))
    assert picture["root"] == switch.id
    assert picture["switches"] == [
        {
            "id": switch.id,
            "name": "core",
            "ip": switch.ip,
            "switch": None,
            "port": None,
            "uplinks": ["gi0/24"],
            "root": True,
        }
    ]
    assert picture["devices"][0] | {"name": "x"} == {
        "id": host.id,
        "name": "x",
        "ip": host.ip,
        "switch": switch.id,
        "port": "gi0/2",
        "ifindex": 2,
        "source": "fdb",
        "macs": 1,
    }
    mermaid = render.render("mermaid", topology, devices)
    assert mermaid.startswith("flowchart TD\n")
    assert f'n_{switch.id} -- "gi0/2" --- n_{host.id}' in mermaid
    assert "tv 'living'" in mermaid  # quotes cannot break the graph
    dot = render.render("dot", topology, devices)
    assert f'"{switch.id}" -> "{host.id}" [label="gi0/2"];' in dot and dot.endswith("}\n")


# -- poller -------------------------------------------------------------------------------
class _Inventory:
    def __init__(self, devices: list[Device]) -> None:
        self._devices = devices

    def devices(self) -> list[Device]:
        return list(self._devices)

    def get(self, device_id: str) -> Device | None:
        return next((d for d in self._devices if d.id == device_id), None)


class _Agents:
    """Answers as switches would; ``None`` for a device whose agent does not answer."""

    def __init__(self, answers: dict[str, Found | None]) -> None:
        self.answers = answers
        self.walks: list[Walk] = []

    async def read_tables(self, device: Device, walk: Walk) -> Found | None:
        self.walks.append(walk)
        return self.answers.get(device.id)


async def test_the_poller_emits_when_the_picture_changes_only() -> None:
    switch = replace(_device(0xA1), details={"snmp": {"sysName": "sw"}})
    printer = replace(_device(0xA2), details={"snmp": {"sysName": "printer"}})
    host = _device(3)
    answers: dict[str, Found | None] = {
        switch.id: {"fdb_port": {_mac_index(host.mac or ""): 5}, "if_name": {"5": b"ge5"}},
        printer.id: None,
    }
    bus, seen = EventBus(), []
    bus.subscribe(TopologyChanged, seen.append)
    agents = _Agents(answers)
    poller = TopologyPoller(bus, _Inventory([switch, printer, host]), agents, 3600, uplink_macs=10)
    await poller.start()
    try:
        first = await poller.poll()
        await poller.poll()  # the same tables: no event
    finally:
        await poller.stop()
    assert [e.topology for e in seen] == [first]
    assert first.placement(host.id) == Placement(host.id, switch.id, 5, "ge5", FDB, 1)
    assert len(agents.walks) == 4  # both agents, twice; the host has no agent


@pytest.mark.parametrize("bad", [{"fdb_port": {"1.2.3": "x"}}, {"lldp_caps": {"a.b.c": 1}}])
async def test_an_agent_answering_garbage_places_nobody(
    bad: Found, caplog: pytest.LogCaptureFixture
) -> None:
    switch = replace(_device(0xA1), details={"snmp": {"sysName": "sw"}})
    bus = EventBus()
    poller = TopologyPoller(
        bus, _Inventory([switch]), _Agents({switch.id: bad}), 3600, uplink_macs=10
    )
    with caplog.at_level(logging.INFO):
        topology = await poller.poll()
    assert topology.placements == () and topology.switches == ()
    if "fdb_port" in bad:
        assert f"Switch {switch.id}: 1 malformed forwarding entries skipped" in caplog.text


def test_a_switch_below_a_loop_keeps_its_place() -> None:
    from netmon_mqtt.topology.infer import _without_loops

    s_on_x = Placement("s", "x", 1, "p1", FDB, 1)
    x_on_y = Placement("x", "y", 2, "p2", FDB, 1)
    y_on_x = Placement("y", "x", 3, "p3", FDB, 1)
    kept = _without_loops([s_on_x, x_on_y, y_on_x])
    assert s_on_x in kept and len(kept) == 2  # one member of the loop x <-> y is cut


def test_the_root_is_the_switch_nearest_to_netmon() -> None:
    near, far = _device(0xB1), _device(0xA1)  # the far switch's id sorts first
    host = _device(5)
    # The far switch sees netmon behind a port that looks like an access port (few MACs,
    # no LLDP) but carries more MACs than netmon's port on the near switch.
    table_far = _fdb(far.id, {PROBE: 7, host.mac: 7})
    table_near = _fdb(near.id, {PROBE: 1, host.mac: 2})
    topology = infer([table_far, table_near], _known(near, far, host), uplink_macs=10)
    assert topology.root == near.id
    assert topology.placement(host.id) == Placement(host.id, near.id, 2, "p2", FDB, 1)


def test_a_carried_port_that_became_an_uplink_is_dropped() -> None:
    before = Topology((Placement("h1", "sw", 2, "p2", FDB, 1),), (("sw", ()),), "sw")
    now = Topology((), (("sw", ("p2",)),), "sw")  # p2 now leads to another switch
    assert now.carried(before, ["sw", "h1"]).placements == ()
