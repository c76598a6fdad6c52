"""An snmpd ``pass_persist`` handler serving a Linux bridge's real forwarding table.

net-snmp has no BRIDGE-MIB for Linux bridges; this handler reads ``bridge -j fdb show``
and sysfs at each request (cached for a second) and serves, under 1.3.6.1.2.1.17:
- ``dot1dBaseBridgeAddress``, ``dot1dBaseNumPorts`` and ``dot1dBasePortTable`` (bridge
  port -> ifIndex, as sysfs numbers them);
- ``--mib bridge``: ``dot1dTpFdbTable`` (MAC -> bridge port, status learned or self);
- ``--mib qbridge``: ``dot1qTpFdbTable`` (FDB id 1, MAC -> bridge port, status), as
  switches with VLANs do.

Usage in snmpd.conf: ``pass_persist .1.3.6.1.2.1.17 python3 bridge_mib.py br0 --mib qbridge``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BASE = (1, 3, 6, 1, 2, 1, 17)
LEARNED, SELF = 3, 4
Oid = tuple[int, ...]
Value = tuple[str, str]  # (pass type, value text)


def _sys(path: str) -> str:
    return Path(path).read_text().strip()


def _ports(bridge: str) -> dict[str, tuple[int, int]]:
    """Port name -> (bridge port number, ifIndex)."""
    found: dict[str, tuple[int, int]] = {}
    for brif in Path(f"/sys/class/net/{bridge}/brif").iterdir():
        number = int(_sys(f"/sys/class/net/{brif.name}/brport/port_no"), 16)
        found[brif.name] = (number, int(_sys(f"/sys/class/net/{brif.name}/ifindex")))
    return found


def _fdb(bridge: str) -> list[tuple[str, str, int]]:
    """(MAC, port name, status) of the bridge's own entries."""
    out = subprocess.run(
        ["bridge", "-j", "fdb", "show", "br", bridge],
        capture_output=True,
        text=True,
        check=True,
        timeout=5,
    ).stdout
    entries = []
    for entry in json.loads(out or "[]"):
        if entry.get("master") != bridge or "ifname" not in entry:
            continue
        status = SELF if entry.get("state") == "permanent" else LEARNED
        entries.append((entry["mac"], entry["ifname"], status))
    return entries


def _mac_oid(mac: str) -> Oid:
    return tuple(int(part, 16) for part in mac.split(":"))


def table(bridge: str, mib: str) -> dict[Oid, Value]:
    """Every OID served, with its value."""
    ports = _ports(bridge)
    address = _sys(f"/sys/class/net/{bridge}/address")
    values: dict[Oid, Value] = {
        (*BASE, 1, 1, 0): ("octet", address.replace(":", " ")),
        (*BASE, 1, 2, 0): ("integer", str(len(ports))),
    }
    for number, ifindex in ports.values():
        values[(*BASE, 1, 4, 1, 1, number)] = ("integer", str(number))
        values[(*BASE, 1, 4, 1, 2, number)] = ("integer", str(ifindex))
    for mac, port, status in _fdb(bridge):
        if port not in ports:
            continue
        number, index = ports[port][0], _mac_oid(mac)
        if mib == "bridge":
            values[(*BASE, 4, 3, 1, 1, *index)] = ("octet", mac.replace(":", " "))
            values[(*BASE, 4, 3, 1, 2, *index)] = ("integer", str(number))
            values[(*BASE, 4, 3, 1, 3, *index)] = ("integer", str(status))
        else:
            values[(*BASE, 7, 1, 2, 2, 1, 2, 1, *index)] = ("integer", str(number))
            values[(*BASE, 7, 1, 2, 2, 1, 3, 1, *index)] = ("integer", str(status))
    return values


def _parse(text: str) -> Oid:
    return tuple(int(part) for part in text.strip().strip(".").split(".") if part)


def _answer(oid: Oid, value: Value) -> str:
    return "." + ".".join(map(str, oid)) + f"\n{value[0]}\n{value[1]}\n"


def serve(bridge: str, mib: str) -> None:
    """The pass_persist loop: PING, get, getnext, set (refused)."""
    cached: tuple[float, dict[Oid, Value]] = (0.0, {})
    while line := sys.stdin.readline():
        command = line.strip()
        if command == "PING":
            sys.stdout.write("PONG\n")
        elif command in ("get", "getnext"):
            wanted = _parse(sys.stdin.readline())
            if time.monotonic() - cached[0] > 1.0:
                cached = (time.monotonic(), table(bridge, mib))
            values = cached[1]
            if command == "get":
                found = wanted if wanted in values else None
            else:
                found = min((oid for oid in values if oid > wanted), default=None)
            sys.stdout.write(_answer(found, values[found]) if found else "NONE\n")
        elif command == "set":
            sys.stdin.readline()
            sys.stdin.readline()
            sys.stdout.write("not-writable\n")
        sys.stdout.flush()


def main() -> None:
    """Serve until snmpd closes the pipe."""
    parser = argparse.ArgumentParser()
    parser.add_argument("bridge")
    parser.add_argument("--mib", choices=["bridge", "qbridge"], default="bridge")
    args = parser.parse_args()
    serve(args.bridge, args.mib)


if __name__ == "__main__":
    main()
