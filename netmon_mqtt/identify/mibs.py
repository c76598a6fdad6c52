"""Which standard and vendor MIBs an agent implements: evidence of what the device is
(pure; the client asks, ``snmp.py``).

A switch answers BRIDGE-MIB, a UPS UPS-MIB or its maker's UPS MIB, a printer Printer-MIB,
a host HOST-RESOURCES-MIB, an access point the IEEE 802.11 MIB. One GETBULK asks for the
first object after each root (``MIB_WALK``: one row per column, nothing more is read); a
root answers when the agent's next object lies inside it.
"""

from __future__ import annotations

from typing import Final

from .snmp_walk import Found, Walk

MIBS: Final = {
    "BRIDGE-MIB": "1.3.6.1.2.1.17",
    "UPS-MIB": "1.3.6.1.2.1.33",
    "Printer-MIB": "1.3.6.1.2.1.43",
    "HOST-RESOURCES-MIB": "1.3.6.1.2.1.25",
    "IEEE802dot11-MIB": "1.2.840.10036",
    "PowerNet-MIB": "1.3.6.1.4.1.318.1.1",  # APC: UPSes, PDUs, environment
    "XUPS-MIB": "1.3.6.1.4.1.534.1",  # Eaton (Powerware)
    "MG-SNMP-UPS-MIB": "1.3.6.1.4.1.705.1",  # Eaton (MGE)
    "PPC-MIB": "1.3.6.1.4.1.935.1",  # Phoenixtec / PPC / Kert
    "LIEBERT-GP-MIB": "1.3.6.1.4.1.476.1.42",  # Vertiv (Liebert)
    "CPS-MIB": "1.3.6.1.4.1.3808.1.1.1",  # CyberPower
}
MIB_WALK: Final = Walk(MIBS, max_rows=1, repetitions=1)
UPS_MIBS: Final = frozenset(
    {
        "UPS-MIB",
        "PowerNet-MIB",
        "XUPS-MIB",
        "MG-SNMP-UPS-MIB",
        "PPC-MIB",
        "LIEBERT-GP-MIB",
        "CPS-MIB",
    }
)


def answered(found: Found) -> tuple[str, ...]:
    """The MIBs (by name, in ``MIBS`` order) with an object in the walk's answer."""
    return tuple(name for name in MIBS if found.get(name))
