"""What each kind of evidence says about a device's type (pure tables, read by ``classify``).

Patterns are matched case-insensitively anywhere in the text; the first that matches gives
the type. Types are those of ``taxonomy.py``.
"""

from __future__ import annotations

import re
from typing import Final

Table = tuple[tuple[str, str], ...]

# Advertised mDNS service types and UPnP device or service types.
SERVICES: Final[Table] = (
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
    (r"ZonePlayer", "speaker"),
)
# DHCP option 60, the client's own vendor class.
DHCP_CLASS: Final[Table] = (
    (r"^android-dhcp", "phone"),
    (r"^MSFT", "computer"),
    (r"^(dhcpcd|Linux)", "computer"),
    (r"^udhcp", "hub"),
    (r"^Aruba", "access_point"),
    (r"^(Cisco|ubnt|MikroTik)", "router"),
)
# The model a device announces (mDNS TXT, UPnP modelName, ENTITY-MIB, sysDescr).
MODELS: Final[Table] = (
    (r"^(iPhone|iPod)", "phone"),
    (r"^iPad", "tablet"),
    (r"^(MacBook|Macmini|MacPro|iMac|Mac\d|VirtualMac)", "computer"),
    (r"^AppleTV|Chromecast|Google TV|Fire ?TV|Roku|SHIELD", "tv_media"),
    (r"^AudioAccessory|HomePod|Google Home|Nest (Mini|Audio)|Sonos|Echo", "speaker"),
    (r"Nest Hub|Echo Show", "hub"),
    (r"^Watch\d", "phone"),
    (r"LaserJet|OfficeJet|DeskJet|PIXMA|EcoTank|WorkForce|imageCLASS|MFC-|HL-L", "printer"),
    (r"PlayStation|Xbox|Nintendo", "game_console"),
    (r"^(AIR-CT|AIR-AP|AIR-CAP|UAP|U6-)|\bWX\d{4}|\bWLC", "access_point"),
    (r"^(FGT|FortiGate|PA-\d|ASA\d)", "firewall"),
    (r"^(WS-C|N\dK-|C9[23]00|UCS-FI)|Switch", "switch"),
    (r"^(ISR\d|CISCO\d{3,4}|CCR\d|RB\d)", "router"),
)
# sysDescr, case-insensitive: "DES-3200-18 Fast Ethernet Switch" is a switch.
SNMP_DESCR: Final[Table] = (
    (r"firewall|\bNGFW|PAN-OS|FortiGate|Adaptive Security Appliance|pfSense|OPNsense", "firewall"),
    (r"Smart-UPS|\bUPS\b|Management Card|PowerChute|PowerAlert|\bPDU\b|\bAPC\b", "ups"),
    (r"Data ONTAP|NetApp|OneFS|Isilon|DiskStation|Synology|QNAP|\bNAS\b|storage", "nas"),
    (r"camera|IPCAM|Network Video|Hikvision|AXIS|iPolis", "camera"),
    (r"\bsensor\b|environmental monitor", "sensor"),
    (
        r"access point|\bUAP\b|Aironet|Aruba AP|\bWAP\b|ArubaOS|wireless|\bWLC\d|\bWAC\b"
        r"|^Cisco Controller|SmartCell|SmartZone|ZoneDirector",
        "access_point",
    ),
    (r"switch|ProCurve|Catalyst|\bDES-\d|\bDGS-\d|\bEX\d{4}|NX-OS|Media Converter", "switch"),
    (r"router|RouterOS|EdgeOS|Vyatta|VyOS|JUNOS|OpenWrt|gateway|Routing Platform", "router"),
    (r"JetDirect|printer|LaserJet", "printer"),
    (r"VMware ESX|ESXi|Windows Server|Hardware: .*Server", "server"),
    (r"Windows|Darwin|FreeBSD", "computer"),
)
# "Linux" alone says little (routers, radios, NAS and cameras run it): a hint of a computer.
SNMP_LINUX: Final = r"\bLinux\b"
# The maker an SNMP agent's sysObjectID names (the IANA registry): agents are mostly
# infrastructure, so these lean that way where a maker makes several kinds.
MAKERS: Final[Table] = (
    (r"Fortinet|Palo Alto|SonicWall|WatchGuard|Check Point|Clavister|Topsec|Hillstone"
     r"|Sangfor|NSFOCUS|Venus Info|Netentsec|Legend Holdings|Stormshield|Barracuda", "firewall"),
    (r"American Power Conversion|Eaton|Merlin Gerin|Powerware|Phoenixtec|Liebert"
     r"|Tripp Lite|Cyber ?Power|Riello|Socomec|East Power|Emerson Network Power", "ups"),
    (r"Geist|AKCP|Sensaphone", "sensor"),
    (r"Vertiv", "ups"),
    (r"Network Appliance|NetApp|Isilon|Synology|QNAP|Pure Storage|Nimble Storage", "nas"),
    (r"Hikvision|Dahua|Axis Communications|Hanwha|Samsung Techwin|Mobotix|Vivotek"
     r"|Uniview|Avigilon", "camera"),
    (r"Ubiquiti|Aruba|Ruckus|Meru Networks|Trapeze|Aerohive|Cambium|Mist Systems", "access_point"),
    (r"Arista|Brocade|Foundry|H3C|Ruijie|Digital China|Shanghai Baud|BDCOM|Maipu"
     r"|Extreme Networks|Allied Telesis|Edgecore|Accton|Connection Technology|METEL"
     r"|DPTECH|D-Link|Netgear|TP-Link|Zyxel", "switch"),
    (r"Juniper|MikroTik|HUAWEI|Zhongxing|ZTE|Vyatta|Nokia|Alcatel|Teltonika"
     r"|DrayTek|AVM", "router"),
    (r"Brother|Canon|Seiko Epson|Lexmark|Xerox|Kyocera|Ricoh|Konica|Toshiba TEC", "printer"),
    (r"Microsoft", "computer"),
    (r"VMware", "server"),
)  # fmt: skip
# The maker an OUI names (IEEE registry): every kind of device carries a MAC.
VENDORS: Final[Table] = (
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
# MIBs an agent answers (``mibs.py``) and what they say.
MIBS: Final = {
    "UPS-MIB": "ups",
    "PowerNet-MIB": "ups",
    "XUPS-MIB": "ups",
    "MG-SNMP-UPS-MIB": "ups",
    "PPC-MIB": "ups",
    "LIEBERT-GP-MIB": "ups",
    "CPS-MIB": "ups",
    "Printer-MIB": "printer",
    "IEEE802dot11-MIB": "access_point",
}
# sysServices layer bits (RFC 3418): 2 datalink, 4 internet, 64 applications.
LAYER2, LAYER3, LAYER7 = 0x02, 0x04, 0x40


def match(table: Table, text: str) -> str | None:
    """The type of the first pattern of ``table`` found in ``text``."""
    for pattern, kind in table:
        if re.search(pattern, text, re.IGNORECASE):
            return kind
    return None


def parameter_list_kind(parameters: str) -> tuple[str, str] | None:
    """What a DHCP parameter request list (option 55, "1,3,6,...") says: (type, family).

    The lists are each system's own, stable across versions (public captures of each):
    Windows asks for 249 and 252 (classless routes, proxy auto-discovery); Apple's systems
    begin with 1,121 and ask for 119 and 252, macOS also for 95 (LDAP); Android asks for
    26, 28, 51, 58 and 59 without 121; ISC dhclient begins 1,28,2.
    """
    try:
        asked = [int(p) for p in parameters.split(",")[:64] if p.strip()]
    except ValueError:
        return None
    wanted = set(asked)
    if {249, 252} <= wanted:
        return "computer", "Windows"
    if asked[:2] == [1, 121] and {119, 252} <= wanted:
        return ("computer", "macOS") if 95 in wanted else ("phone", "iOS")
    if {26, 28, 51, 58, 59} <= wanted and 121 not in wanted:
        return "phone", "Android"
    if asked[:3] == [1, 28, 2]:
        return "computer", "Linux (dhclient)"
    return None
