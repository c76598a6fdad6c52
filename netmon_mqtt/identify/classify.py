"""A device type guess from the evidence, with the evidence kept (pure).

Types: ``phone``, ``computer``, ``printer``, ``tv_media``, ``network``, ``iot``. Strong
evidence (advertised services, DHCP vendor class, SNMP system description) outweighs the
vendor name; the guess is None when nothing points anywhere.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..macs import is_randomized
from ..models import Device

STRONG = 3
WEAK = 1

_SERVICES: tuple[tuple[str, str], ...] = (
    (
        r"_(airplay|raop|googlecast|spotify-connect|roku|sonos|androidtvremote\d*|amzn-wplay)\.",
        "tv_media",
    ),
    (r"_(ipp|ipps|printer|pdl-datastream|scanner|uscan|uscans)\.", "printer"),
    (r"_(hap|hue|matter|matterc|esphomelib|shelly|homekit|miio|tuya)\.", "iot"),
    (r"_(companion-link|apple-mobdev2|rdlink)\.", "phone"),
    (r"_(smb|ssh|sftp-ssh|workstation|rfb|adisk|afpovertcp|nfs)\.", "computer"),
    (r"MediaRenderer|MediaServer|dial-multiscreen", "tv_media"),
    (r"InternetGatewayDevice|WANDevice|WFADevice", "network"),
    (r"device:Printer", "printer"),
)
_DHCP_CLASS: tuple[tuple[str, str], ...] = (
    (r"^android-dhcp", "phone"),
    (r"^MSFT", "computer"),
    (r"^(dhcpcd|Linux)", "computer"),
    (r"^udhcp", "iot"),
    (r"^(Cisco|ubnt|MikroTik|Aruba)", "network"),
)
_SNMP_DESCR: tuple[tuple[str, str], ...] = (
    (
        r"Cisco IOS|RouterOS|EdgeOS|JUNOS|ProCurve|Aruba|UniFi|OpenWrt|switch|router|firewall",
        "network",
    ),
    (r"JetDirect|[Pp]rinter|LaserJet", "printer"),
    (r"Windows|Darwin|Linux|FreeBSD", "computer"),
)
_VENDORS: tuple[tuple[str, str], ...] = (
    (
        r"Ubiquiti|TP-LINK|NETGEAR|Cisco|MikroTik|Routerboard|Juniper|Aruba|Zyxel|AVM|Ruckus",
        "network",
    ),
    (
        r"Espressif|Tuya|Shelly|Philips Lighting|Signify|Nest Labs|ecobee|iRobot|Sonoff|Xiaomi",
        "iot",
    ),
    (r"Sonos|Roku|Vizio|Amazon Technologies", "tv_media"),
    (r"Brother|Canon|Seiko Epson|Lexmark|Xerox|Kyocera", "printer"),
    (r"Raspberry Pi|Intel Corporate|Dell|Lenovo|VMware|Micro-Star|ASUSTek", "computer"),
)


def _match(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, kind in table:
        if re.search(pattern, text):
            return kind
    return None


def classify(device: Device) -> tuple[str | None, tuple[str, ...]]:
    """The most supported type and the evidence for it."""
    votes: dict[str, list[tuple[int, str]]] = defaultdict(list)

    def vote(kind: str | None, weight: int, why: str) -> None:
        if kind:
            votes[kind].append((weight, why))

    for source, facts in device.details.items():
        for service in facts.get("services", ()):
            vote(_match(_SERVICES, str(service)), STRONG, f"{source} service {service}")
    dhcp_class = device.details.get("dhcp", {}).get("vendor_class")
    if dhcp_class:
        vote(_match(_DHCP_CLASS, str(dhcp_class)), STRONG, f"DHCP vendor class {dhcp_class}")
    descr = device.details.get("snmp", {}).get("sysDescr")
    if descr:
        vote(_match(_SNMP_DESCR, str(descr)), STRONG, f"SNMP sysDescr {str(descr)[:60]}")
    if device.vendor:
        vote(_match(_VENDORS, device.vendor), WEAK, f"vendor {device.vendor}")
    if device.mac and is_randomized(device.mac):
        vote("phone", WEAK, "randomized MAC (privacy address, typical of phones)")
    if not votes:
        return None, ()
    kind = max(votes, key=lambda k: sum(w for w, _ in votes[k]))
    return kind, tuple(why for _, why in votes[kind])
