"""A switch's forwarding and neighbour tables, from the SNMP columns read (pure).

- BRIDGE-MIB ``dot1dTpFdbTable`` (MAC -> bridge port) and Q-BRIDGE-MIB ``dot1qTpFdbTable``
  (VLAN, MAC -> bridge port; switches with VLANs often fill only this one), with the entry's
  status: only ``learned`` entries (and ``other``, which some agents report for learned
  ones) say where a device is; ``self`` and ``mgmt`` entries are the switch's own.
- ``dot1dBasePortIfIndex``: bridge port -> ifIndex; ``ifName`` / ``ifDescr`` name the port.
- LLDP-MIB ``lldpRemTable`` and ``lldpRemManAddrTable``: who announced itself on which local
  port (chassis MAC, system name, port, capabilities, management addresses), and
  ``lldpLocPortTable`` to tell which interface an LLDP port number is (agents number LLDP
  ports by ifIndex or by bridge port).

Anything of the wrong type, out of range or malformed is skipped, never guessed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from ..macs import is_usable_mac, normalise_mac
from ..text import plain

_BRIDGE = "1.3.6.1.2.1.17"
_LLDP_REMOTE = "1.0.8802.1.1.2.1.4.1.1"
COLUMNS: dict[str, str] = {
    "base_port_ifindex": f"{_BRIDGE}.1.4.1.2",
    "fdb_port": f"{_BRIDGE}.4.3.1.2",
    "fdb_status": f"{_BRIDGE}.4.3.1.3",
    "qfdb_port": f"{_BRIDGE}.7.1.2.2.1.2",
    "qfdb_status": f"{_BRIDGE}.7.1.2.2.1.3",
    "if_descr": "1.3.6.1.2.1.2.2.1.2",
    "if_name": "1.3.6.1.2.1.31.1.1.1.1",
    "lldp_local_port_id": "1.0.8802.1.1.2.1.3.7.1.3",
    "lldp_local_port_desc": "1.0.8802.1.1.2.1.3.7.1.4",
    "lldp_chassis_subtype": f"{_LLDP_REMOTE}.4",
    "lldp_chassis": f"{_LLDP_REMOTE}.5",
    "lldp_port_id": f"{_LLDP_REMOTE}.7",
    "lldp_port_desc": f"{_LLDP_REMOTE}.8",
    "lldp_sys_name": f"{_LLDP_REMOTE}.9",
    "lldp_caps": f"{_LLDP_REMOTE}.12",
    "lldp_man_addr": "1.0.8802.1.1.2.1.4.2.1.3",
}
# dot1dTpFdbStatus / dot1qTpFdbStatus: other(1), invalid(2), learned(3), self(4), mgmt(5).
_WHERE_A_DEVICE_IS = frozenset({1, 3})
_CHASSIS_MAC = 4  # lldpRemChassisIdSubtype macAddress(4)
# lldpRemSysCapEnabled is a BITS string, bit 0 the first octet's highest: repeater(1),
# bridge(2), wlanAccessPoint(3), router(4) relay frames for other devices.
_RELAYS = 0x78
_MAX_TEXT = 64

Columns = Mapping[str, Mapping[str, object]]


@dataclass(frozen=True)
class Neighbour:
    """A device that announced itself with LLDP on one of the switch's ports."""

    ifindex: int
    chassis_mac: str | None
    name: str | None
    port: str | None
    addresses: tuple[str, ...]
    relays: bool  # announces itself as a bridge, access point, repeater or router


@dataclass(frozen=True)
class SwitchTables:
    """What one switch knows: its ports' names, where it learnt each MAC, its neighbours."""

    switch: str  # device id
    ports: tuple[tuple[int, str], ...]  # ifIndex -> name
    fdb: tuple[tuple[str, int], ...]  # (MAC, ifIndex) learnt entries
    neighbours: tuple[Neighbour, ...]
    malformed: int = 0  # forwarding entries skipped: a bad index or a value of a wrong type

    @property
    def is_switch(self) -> bool:
        """True when it has a forwarding table or LLDP neighbours."""
        return bool(self.fdb or self.neighbours)

    @property
    def port_names(self) -> dict[int, str]:
        """ifIndex -> the port's name."""
        return dict(self.ports)

    def port_name(self, ifindex: int) -> str:
        """The port's name, or ``port <ifIndex>`` when the agent names none."""
        return self.port_names.get(ifindex) or f"port {ifindex}"


def switch_tables(switch: str, found: Columns) -> SwitchTables:
    """The tables of ``switch`` from the columns read (empty for a device that is not a
    switch)."""
    names = _port_names(found)
    bridge_ports = _bridge_ports(found)
    fdb, malformed = _fdb(found, bridge_ports)
    neighbours = _neighbours(found, names, bridge_ports)
    used = {ifindex for _mac, ifindex in fdb} | {n.ifindex for n in neighbours}
    ports = tuple(sorted((i, names.get(i) or f"port {i}") for i in used))
    return SwitchTables(switch, ports, tuple(sorted(set(fdb))), neighbours, malformed)


def _text(value: object) -> str | None:
    if not isinstance(value, bytes):
        return None
    return plain(value, _MAX_TEXT)


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _port_names(found: Columns) -> dict[int, str]:
    names: dict[int, str] = {}
    for column in ("if_descr", "if_name"):  # ifName wins
        for index, value in found.get(column, {}).items():
            if index.isdigit() and (text := _text(value)):
                names[int(index)] = text
    return names


def _bridge_ports(found: Columns) -> dict[int, int]:
    ports: dict[int, int] = {}
    for index, value in found.get("base_port_ifindex", {}).items():
        ifindex = _number(value)
        if index.isdigit() and ifindex is not None and ifindex > 0:
            ports[int(index)] = ifindex
    return ports


def _mac_of(numbers: list[int]) -> str | None:
    if len(numbers) != 6 or any(not 0 <= n <= 255 for n in numbers):
        return None
    return ":".join(f"{n:02x}" for n in numbers)


def _fdb(found: Columns, bridge_ports: Mapping[int, int]) -> tuple[list[tuple[str, int]], int]:
    """(MAC, ifIndex) of every learnt entry of both forwarding tables, and how many
    entries were malformed."""
    entries: list[tuple[str, int]] = []
    malformed = 0
    tables = (("fdb_port", "fdb_status", 0), ("qfdb_port", "qfdb_status", 1))
    for port_column, status_column, skip in tables:  # Q-BRIDGE rows start with the VLAN
        statuses = found.get(status_column, {})
        for index, value in found.get(port_column, {}).items():
            numbers = [int(part) for part in index.split(".")][skip:]
            mac, port = _mac_of(numbers), _number(value)
            status = _number(statuses.get(index, 3))
            if mac is None or port is None or port < 0:
                malformed += 1
                continue
            if not port or status not in _WHERE_A_DEVICE_IS:  # port 0: not known
                continue
            if not is_usable_mac(mac):  # group addresses are not devices
                continue
            entries.append((mac, bridge_ports.get(port, port)))
    return entries, malformed


def _neighbours(
    found: Columns, names: Mapping[int, str], bridge_ports: Mapping[int, int]
) -> tuple[Neighbour, ...]:
    """LLDP neighbours; a row is indexed ``timeMark.localPortNum.remIndex``."""
    local = _local_ports(found, names, bridge_ports)
    addresses = _management_addresses(found)
    rows: list[Neighbour] = []
    for index, value in found.get("lldp_chassis", {}).items():
        parts = index.split(".")
        if len(parts) != 3:
            continue
        port = int(parts[1])
        ifindex = local.get(port, port)
        chassis_mac = None
        if _number(found.get("lldp_chassis_subtype", {}).get(index)) == _CHASSIS_MAC:
            chassis_mac = _mac_from_bytes(value)
        caps = found.get("lldp_caps", {}).get(index)
        rows.append(
            Neighbour(
                ifindex,
                chassis_mac,
                _text(found.get("lldp_sys_name", {}).get(index)),
                _text(found.get("lldp_port_desc", {}).get(index))
                or _text(found.get("lldp_port_id", {}).get(index)),
                addresses.get(index, ()),
                isinstance(caps, bytes) and bool(caps[:1]) and bool(caps[0] & _RELAYS),
            )
        )
    return tuple(rows)


def _mac_from_bytes(value: object) -> str | None:
    if isinstance(value, bytes) and len(value) == 6:
        return normalise_mac(value.hex(":"))
    return None


def _local_ports(
    found: Columns, names: Mapping[int, str], bridge_ports: Mapping[int, int]
) -> dict[int, int]:
    """LLDP local port number -> ifIndex: by the port's name where the agent gives one
    that names an interface, else through the bridge port table, else the number itself."""
    by_name = {name: ifindex for ifindex, name in names.items()}
    local: dict[int, int] = {}
    for column in ("lldp_local_port_id", "lldp_local_port_desc"):
        for index, value in found.get(column, {}).items():
            text = _text(value)
            if index.isdigit() and text in by_name and int(index) not in local:
                local[int(index)] = by_name[text]
    for number, ifindex in bridge_ports.items():
        if number not in local and number not in names:
            local[number] = ifindex
    return local


def _management_addresses(found: Columns) -> dict[str, tuple[str, ...]]:
    """Row index -> IPv4 management addresses; a row of ``lldpRemManAddrTable`` is indexed
    ``timeMark.localPortNum.remIndex.addrSubtype.addrLength.address``."""
    addresses: dict[str, list[str]] = {}
    for index in found.get("lldp_man_addr", {}):
        parts = index.split(".")
        if len(parts) == 3 + 2 + 4 and parts[3] == "1" and parts[4] == "4":
            try:
                address = str(ipaddress.IPv4Address(".".join(parts[5:])))
            except ValueError:
                continue
            addresses.setdefault(".".join(parts[:3]), []).append(address)
    return {row: tuple(found_) for row, found_ in addresses.items()}
