"""Which switch port each device is plugged into, from the switches' tables (pure).

A port is an **uplink** (or trunk) when, on that port, the switch
- learnt the MAC of another switch netmon polls, or hears one announce itself with LLDP;
- learnt netmon's own MAC, and it is not the root switch (the port leads toward netmon);
- hears a neighbour that announces itself as a bridge, access point, repeater or router;
- learnt ``uplink_macs`` MACs or more (an unmanaged switch or a Wi-Fi access point behind it).

A device sits on the port where a switch learnt its MAC and that is not an uplink; when
several switches qualify, the port with the fewest MACs wins. A device that announces
itself with LLDP sits on the port it was heard on, uplink or not (it is the neighbour).
Nothing is placed on an uplink from the forwarding tables alone: a device behind an
unmanaged switch has no port rather than a wrong one.

Switches hang on each other: the **root** is the switch on whose access port netmon's own
MAC was learnt (else the one with the smallest id). A switch's parent is the switch facing
it from the root's side (it sees the root and the switch on different ports) with the
fewest MACs on that port: the nearest one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..models import Device
from .tables import Neighbour, SwitchTables

FDB, LLDP = "fdb", "lldp"
MAX_DEPTH = 64  # switches in a chain; deeper is a loop in inconsistent tables


@dataclass(frozen=True)
class Placement:
    """Where a device (or a switch) is plugged in."""

    device: str
    switch: str
    ifindex: int
    port: str
    source: str  # FDB or LLDP
    macs: int  # MACs the switch learnt on that port

    def as_dict(self) -> dict[str, object]:
        """The stored and published form (without the device)."""
        return {
            "switch": self.switch,
            "port": self.port,
            "ifindex": self.ifindex,
            "source": self.source,
            "macs": self.macs,
        }

    @classmethod
    def from_dict(cls, device: str, value: Mapping[str, object]) -> Placement | None:
        """A stored placement; None when it is not one."""
        switch, port, ifindex = value.get("switch"), value.get("port"), value.get("ifindex")
        source, macs = value.get("source"), value.get("macs", 0)
        if not (isinstance(switch, str) and isinstance(port, str) and isinstance(ifindex, int)):
            return None
        if source not in (FDB, LLDP) or not isinstance(macs, int):
            return None
        return cls(device, switch, ifindex, port, str(source), macs)


@dataclass(frozen=True)
class Topology:
    """Every placement, each switch's uplink ports, and the root switch."""

    placements: tuple[Placement, ...] = ()
    uplinks: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: str | None = None

    @property
    def switches(self) -> tuple[str, ...]:
        """The switches whose tables were read."""
        return tuple(switch for switch, _ports in self.uplinks)

    def placement(self, device: str) -> Placement | None:
        """Where ``device`` is, if known."""
        return next((p for p in self.placements if p.device == device), None)

    def carried(self, before: Topology, present: Iterable[str]) -> Topology:
        """This topology completed by ``before`` for what the tables do not show now, while
        still in the inventory (``present``): a switch that did not answer this time keeps
        its uplinks, and a device quiet for longer than its switch's ageing time keeps its
        port (it did not move)."""
        keep = set(present)
        uplinks = dict(self.uplinks)
        for switch, ports in before.uplinks:
            if switch not in uplinks and switch in keep:
                uplinks[switch] = ports
        now = {p.device for p in self.placements}
        old = [
            p
            for p in before.placements
            if p.device not in now
            and p.device in keep
            and p.switch in uplinks
            and (p.device in uplinks or p.port not in uplinks[p.switch])
        ]
        switches = _without_loops([p for p in (*self.placements, *old) if p.device in uplinks])
        devices = [p for p in (*self.placements, *old) if p.device not in uplinks]
        placements = tuple(sorted((*switches, *devices), key=lambda p: p.device))
        root = self.root if self.root is not None else before.root
        root = root if root in uplinks else None
        return Topology(placements, tuple(sorted(uplinks.items())), root)


@dataclass(frozen=True)
class Known:
    """What the inventory knows, to tell which device a MAC or a neighbour is."""

    by_mac: Mapping[str, str] = field(default_factory=dict)
    by_ip: Mapping[str, str] = field(default_factory=dict)
    by_name: Mapping[str, str] = field(default_factory=dict)
    own_macs: frozenset[str] = frozenset()

    @classmethod
    def of(cls, devices: Iterable[Device], own_macs: Iterable[str] = ()) -> Known:
        """From the inventory's devices and netmon's own interfaces' MACs."""
        by_mac: dict[str, str] = {}
        by_ip: dict[str, str] = {}
        by_name: dict[str, str] = {}
        for device in devices:
            for mac in device.macs:
                by_mac[mac] = device.id
            if device.ip:
                by_ip[device.ip] = device.id
            for name in (device.hostname, *device.names.values()):
                if name:
                    by_name.setdefault(name.lower(), device.id)
        return cls(by_mac, by_ip, by_name, frozenset(own_macs))

    def neighbour(self, n: Neighbour) -> str | None:
        """The device an LLDP neighbour is: by chassis MAC, management address, name."""
        if n.chassis_mac and n.chassis_mac in self.by_mac:
            return self.by_mac[n.chassis_mac]
        for address in n.addresses:
            if address in self.by_ip:
                return self.by_ip[address]
        return self.by_name.get(n.name.lower()) if n.name else None


@dataclass
class _Switch:
    """One switch's tables as sets: MACs per port, devices heard with LLDP per port."""

    tables: SwitchTables
    macs_on: dict[int, set[str]]
    heard: dict[int, list[tuple[Neighbour, str | None]]]
    uplinks: set[int] = field(default_factory=set)
    sees: dict[str, tuple[int, str]] = field(default_factory=dict)  # switch -> port, source

    @property
    def id(self) -> str:
        return self.tables.switch

    def count(self, ifindex: int) -> int:
        return len(self.macs_on.get(ifindex, ()))

    def placement(self, device: str, ifindex: int, source: str) -> Placement:
        return Placement(
            device, self.id, ifindex, self.tables.port_name(ifindex), source, self.count(ifindex)
        )


def infer(tables: Iterable[SwitchTables], known: Known, uplink_macs: int) -> Topology:
    """The topology the switches' tables show (see the module's docstring)."""
    switches = {t.switch: _prepare(t, known) for t in tables}
    for s in switches.values():
        _find_uplinks(s, switches, known, uplink_macs)
    root = _root(switches, known)
    for s in switches.values():
        if s.id != root:  # the port toward netmon leads to the root: an uplink
            s.uplinks |= {i for i, macs in s.macs_on.items() if macs & known.own_macs}
    placements = [p for p in (_parent(s, switches, root) for s in switches.values()) if p]
    placements = _without_loops(placements)
    placements += _devices(switches, known)
    uplinks = tuple(
        (s.id, tuple(sorted({s.tables.port_name(i) for i in s.uplinks})))
        for s in sorted(switches.values(), key=lambda s: s.id)
    )
    return Topology(tuple(sorted(placements, key=lambda p: p.device)), uplinks, root)


def _prepare(tables: SwitchTables, known: Known) -> _Switch:
    macs_on: dict[int, set[str]] = defaultdict(set)
    for mac, ifindex in tables.fdb:
        macs_on[ifindex].add(mac)
    heard: dict[int, list[tuple[Neighbour, str | None]]] = defaultdict(list)
    for n in tables.neighbours:
        heard[n.ifindex].append((n, known.neighbour(n)))
    return _Switch(tables, dict(macs_on), dict(heard))


def _find_uplinks(s: _Switch, switches: Mapping[str, _Switch], known: Known, most: int) -> None:
    for ifindex, macs in s.macs_on.items():
        for mac in macs:
            other = known.by_mac.get(mac)
            if other is not None and other in switches and other != s.id:
                s.sees.setdefault(other, (ifindex, FDB))
                s.uplinks.add(ifindex)
        if len(macs) >= most:
            s.uplinks.add(ifindex)
    for ifindex, heard in s.heard.items():
        for n, device in heard:
            if device is not None and device in switches and device != s.id:
                s.sees[device] = (ifindex, LLDP)  # a direct link: better than the FDB
                s.uplinks.add(ifindex)
            elif n.relays:
                s.uplinks.add(ifindex)


def _root(switches: Mapping[str, _Switch], known: Known) -> str | None:
    """The switch netmon itself is plugged into: of those that learnt netmon's MAC on a
    port that is not an uplink, the one with the fewest MACs on that port (a switch further
    away sees netmon behind its uplink, with everything else); else the smallest id."""
    candidates = [
        (len(macs), s.id)
        for s in switches.values()
        for ifindex, macs in s.macs_on.items()
        if ifindex not in s.uplinks and macs & known.own_macs
    ]
    if candidates:
        return min(candidates)[1]
    return min(switches, default=None)


def _parent(s: _Switch, switches: Mapping[str, _Switch], root: str | None) -> Placement | None:
    """Where switch ``s`` hangs: the nearest switch facing it from the root's side."""
    if s.id == root:
        return None
    facing = [(other, *other.sees[s.id]) for other in switches.values() if s.id in other.sees]

    def between(other: _Switch, ifindex: int) -> bool:
        return other.id == root or (root in other.sees and other.sees[root][0] != ifindex)

    candidates = [c for c in facing if between(c[0], c[1])] or facing
    if not candidates:
        return None
    other, ifindex, source = min(
        candidates, key=lambda c: (c[2] != LLDP, c[0].count(c[1]), c[0].id)
    )
    return other.placement(s.id, ifindex, source)


def _without_loops(placements: list[Placement]) -> list[Placement]:
    """Switch placements minus those that would make a switch its own ancestor (one per
    loop, the first met): a switch hanging below a loop keeps its place."""
    parent = {p.device: p for p in placements}
    for p in sorted(placements, key=lambda p: p.device):
        seen, at = {p.switch}, p.switch
        for _step in range(MAX_DEPTH):
            if at == p.device or at not in parent:
                break
            at = parent[at].switch
            if at in seen and at != p.device:
                break  # a loop above that does not contain p: its own member is cut
            seen.add(at)
        if at == p.device:
            del parent[p.device]
    return [p for p in placements if parent.get(p.device) is p]


def _devices(switches: Mapping[str, _Switch], known: Known) -> list[Placement]:
    """Each non-switch device on its access port (see the module's docstring)."""
    candidates: dict[str, list[Placement]] = defaultdict(list)
    for s in switches.values():
        for ifindex, macs in s.macs_on.items():
            if ifindex in s.uplinks:
                continue
            for mac in macs:
                device = known.by_mac.get(mac)
                if device and device not in switches:
                    candidates[device].append(s.placement(device, ifindex, FDB))
        for ifindex, heard in s.heard.items():
            for _n, device in heard:
                if device and device not in switches:
                    candidates[device].append(s.placement(device, ifindex, LLDP))
    return [
        min(found, key=lambda p: (p.source != LLDP, p.macs, p.switch))
        for found in candidates.values()
    ]
