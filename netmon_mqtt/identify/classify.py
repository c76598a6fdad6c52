"""A device type guess from the evidence, with the evidence kept (pure).

Types are those of ``taxonomy.py``. Strong evidence (advertised services, DHCP vendor class,
SNMP system description) outweighs the vendor name; the guess is None when nothing points
anywhere. A type the owner set (``device/options``) is kept whatever the evidence says.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..macs import is_randomized
from ..models import Device
from .taxonomy import TYPES

OWNER = "owner"  # details the owner set: {"device_type": ...}

STRONG = 6
WEAK = 2
HINT = 1  # less than any vendor: "Linux" runs on routers, radios, NAS and cameras too
_I = re.IGNORECASE

_SERVICES: tuple[tuple[str, str], ...] = (
    (r"_(raop|spotify-connect|sonos)\.", "speaker"),
    (r"_(airplay|googlecast|roku|amzn-wplay|androidtvremote\d*|viziocast)\.", "tv_media"),
    (r"_(ipp|ipps|printer|pdl-datastream)\.", "printer"),
    (r"_(scanner|uscan|uscans)\.", "scanner"),
    (r"_(hue)\.", "light"),
    (r"_(shelly|tuya)\.", "plug"),
    (r"_(esphomelib)\.", "sensor"),
    (r"_(hap|homekit|matter|matterc|miio)\.", "hub"),
    (r"_(companion-link|apple-mobdev2|rdlink)\.", "phone"),
    (r"_(nvstream|xbox)\.", "game_console"),
    (r"_(rtsp|onvif)\.", "camera"),
    (r"_(adisk|nfs|afpovertcp)\.", "nas"),
    (r"_(smb|ssh|sftp-ssh|workstation|rfb)\.", "computer"),
    (r"MediaRenderer|MediaServer|dial-multiscreen", "tv_media"),
    (r"InternetGatewayDevice|WANDevice", "router"),
    (r"WFADevice|WLANAccessPoint", "access_point"),
    (r"NetworkVideoTransmitter|DigitalSecurityCamera", "camera"),
    (r"device:Printer", "printer"),
)
_DHCP_CLASS: tuple[tuple[str, str], ...] = (
    (r"^android-dhcp", "phone"),
    (r"^MSFT", "computer"),
    (r"^(dhcpcd|Linux)", "computer"),
    (r"^udhcp", "hub"),
    (r"^Aruba", "access_point"),
    (r"^(Cisco|ubnt|MikroTik)", "router"),
)
# sysDescr, case-insensitive: "DES-3200-18 Fast Ethernet Switch" is a switch.
_SNMP_DESCR: tuple[tuple[str, str], ...] = (
    (r"firewall|\bNGFW|PAN-OS|FortiGate|Adaptive Security Appliance|pfSense|OPNsense", "firewall"),
    (r"Smart-UPS|\bUPS\b|Management Card|PowerChute|\bPDU\b|\bAPC\b", "ups"),
    (r"Data ONTAP|NetApp|DiskStation|Synology|QNAP|\bNAS\b|storage", "nas"),
    (r"camera|IPCAM|Network Video|Hikvision|AXIS", "camera"),
    (r"\bsensor\b|environmental monitor", "sensor"),
    (r"access point|\bUAP\b|Aironet|Aruba AP|\bWAP\b", "access_point"),
    (r"switch|ProCurve|Catalyst|\bDES-\d|\bDGS-\d|EX\d{4}", "switch"),
    (r"router|RouterOS|EdgeOS|Vyatta|VyOS|JUNOS|Cisco IOS|OpenWrt|gateway", "router"),
    (r"JetDirect|printer|LaserJet", "printer"),
    (r"VMware ESX|ESXi|Windows Server|Hardware: .*Server", "server"),
    (r"Windows|Darwin|FreeBSD", "computer"),
)
# "Linux" alone says little (routers, radios, NAS and cameras run it): a hint of a computer.
_SNMP_LINUX = r"\bLinux\b"
_VENDORS: tuple[tuple[str, str], ...] = (
    (r"Ubiquiti|Aruba|Ruckus|Cambium", "access_point"),
    (r"TP-LINK|NETGEAR|Cisco|MikroTik|Routerboard|Juniper|Zyxel|AVM|D-Link", "router"),
    (r"Fortinet|Palo Alto|SonicWall|WatchGuard", "firewall"),
    (r"American Power Conversion|Schneider|Eaton", "ups"),
    (r"Synology|QNAP|NetApp|Western Digital", "nas"),
    (r"Hikvision|Dahua|Axis Communications|Reolink", "camera"),
    (r"Philips Lighting|Signify|LIFX", "light"),
    (r"Nest Labs|ecobee|tado", "thermostat"),
    (r"Espressif|Tuya|Shelly|Sonoff|Itead", "plug"),
    (r"iRobot|SmartThings|Xiaomi", "hub"),
    (r"Sonos|Bose", "speaker"),
    (r"Roku|Vizio|Amazon Technologies", "tv_media"),
    (r"Nintendo|Sony Interactive", "game_console"),
    (r"Brother|Canon|Seiko Epson|Lexmark|Xerox|Kyocera", "printer"),
    (r"VMware|QEMU|Parallels|Xensource", "virtual_machine"),
    (r"Raspberry Pi|Intel Corporate|Dell|Lenovo|Micro-Star|ASUSTek", "computer"),
)


def _match(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, kind in table:
        if re.search(pattern, text, _I):
            return kind
    return None


def classify(device: Device) -> tuple[str | None, tuple[str, ...]]:
    """The most supported type and the evidence for it; the owner's choice wins."""
    chosen = device.details.get(OWNER, {}).get("device_type")
    if chosen in TYPES:
        return str(chosen), ("set by the owner",)
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
        why = f"SNMP sysDescr {str(descr)[:60]}"
        kind = _match(_SNMP_DESCR, str(descr))
        if kind is None and re.search(_SNMP_LINUX, str(descr)):
            vote("computer", HINT, why)
        vote(kind, STRONG, why)
    if device.vendor:
        vote(_match(_VENDORS, device.vendor), WEAK, f"vendor {device.vendor}")
    if device.mac and is_randomized(device.mac):
        vote("phone", WEAK, "randomized MAC (privacy address, typical of phones)")
    if not votes:
        return None, ()
    kind = max(votes, key=lambda k: sum(w for w, _ in votes[k]))
    return kind, tuple(why for _, why in votes[kind])
