"""Reading the kernel's tables through iproute2's JSON output (``ip -j``)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from dataclasses import dataclass

from ..macs import is_usable_mac, normalise_mac


async def ip_json(*args: str) -> list[dict[str, object]] | None:
    """``ip -j <args>`` parsed; None when ``ip`` is missing or fails."""
    try:
        process = await asyncio.create_subprocess_exec(
            "ip", "-j", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    out, _ = await process.communicate()
    if process.returncode != 0:
        return None
    try:
        data = json.loads(out.decode() or "[]")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, list) else None


@dataclass(frozen=True)
class Neighbour:
    """One entry of ``ip -j neigh`` with an address and a usable MAC."""

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    mac: str
    interface: str
    states: frozenset[str]
    confirmed_age: float  # seconds since the kernel confirmed it (``-s``; 0 when not told)

    @property
    def reachable(self) -> bool:
        """Confirmed lately: the kernel holds it REACHABLE."""
        return "REACHABLE" in self.states


def neighbour_entries(entries: list[dict[str, object]]) -> list[Neighbour]:
    """The entries of ``ip -j [-s] neigh`` that name an address and a usable MAC."""
    found: list[Neighbour] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        states = entry.get("state") or []
        confirmed = entry.get("confirmed")
        try:
            address = ipaddress.ip_address(str(entry.get("dst")))
            mac = normalise_mac(str(entry.get("lladdr", "")))
        except ValueError:
            continue
        if not is_usable_mac(mac):
            continue
        age = float(confirmed) if isinstance(confirmed, int | float) and confirmed >= 0 else 0.0
        found.append(
            Neighbour(
                address,
                mac,
                str(entry.get("dev", "")),
                frozenset(map(str, states)) if isinstance(states, list) else frozenset(),
                age,
            )
        )
    return found
