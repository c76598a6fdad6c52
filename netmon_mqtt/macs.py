"""MAC address and device id helpers: addresses are normalised once, at the edge."""

from __future__ import annotations

import ipaddress
import re

_HEX = re.compile(r"[0-9a-f]{12}")


def normalise_mac(value: str) -> str:
    """Return ``aa:bb:cc:dd:ee:ff`` for any common MAC notation; raise ValueError otherwise."""
    digits = re.sub(r"[^0-9a-f]", "", value.lower())
    if not _HEX.fullmatch(digits) or len(re.sub(r"[:.\-\s]", "", value)) != 12:
        raise ValueError(f"not a MAC address: {value!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_usable_mac(mac: str) -> bool:
    """False for broadcast, all-zero and multicast addresses, which never name a host."""
    first = int(mac[:2], 16)
    return mac not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") and not first & 1


def is_randomized(mac: str) -> bool:
    """True for a locally administered address (privacy / randomized MACs)."""
    return bool(int(mac[:2], 16) & 0x02)


def device_id_for(mac: str | None, ip: str | None) -> str:
    """The immutable device id: 12 hex digits of the MAC, else ``ip_<hex address>``."""
    if mac:
        return mac.replace(":", "")
    if not ip:
        raise ValueError("a device needs a MAC or an IP address")
    return f"ip_{ipaddress.ip_address(ip).packed.hex()}"
