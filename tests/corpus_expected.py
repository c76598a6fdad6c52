"""What each recorded walk of ``snmpsim-data`` is: the type the taxonomy should give it, and
the model its sysDescr names where its ENTITY-MIB names none.

The type is what the recording shows the device to be. The corpus files most walks by kind
(``network/switch/...``); where the recording itself says otherwise the comment says why.
None: a device the taxonomy does not cover, or a walk with nothing to identify it by (no
system group).
"""

from __future__ import annotations

EXPECTED_TYPES: dict[str, str | None] = {
    "UPS/apc-7902b": "ups",
    "UPS/apc-8641": "ups",
    "UPS/apc-8932": "ups",
    "UPS/eastpower-istars-swv053": "ups",
    "UPS/eaton-93e-80": "ups",
    "UPS/eaton-9px-partial": "ups",
    "UPS/emerson-network-power": "ups",
    "UPS/huawei-gse200m": "ups",
    "UPS/ingrasys-power-switch": "ups",
    # the Trapeze (Juniper) controller walk of network/wifi/juniper-wlc2800, filed under UPS/
    "UPS/juniper-ac": "access_point",
    "UPS/phoenixtec-power": "ups",
    "UPS/vertiv-power": "ups",
    # a blade enclosure"s management module
    "bmc/hp-onboard-administrator": None,
    "camera/hikvision-network-video-recorder": "camera",
    # no system group: only Hikvision"s own MIB
    "camera/hikvision": None,
    "camera/samsung-ipolis": "camera",
    "camera/semac-ipcam-500": "camera",
    "camera/wds-ips-1022": "camera",
    "cloud/arista-dcs-7150s-52-cl": "switch",
    "iot/geist-temperature-sensor": "sensor",
    # a wireless LAN controller (ENTITY-MIB: AIR-CT5508-K9)
    "network/appliance/cisco-controller": "access_point",
    # a UCS fabric interconnect: a switch
    "network/appliance/cisco-ucs-6100-k9": "switch",
    # a UCS fabric interconnect: a switch
    "network/appliance/cisco-ucs-6100": "switch",
    # a Catalyst 6509 chassis of modules
    "network/appliance/cisco-unknown-01": None,
    # a server"s hardware management
    "network/appliance/empirical-hw-mgmt": None,
    # a management agent
    "network/appliance/huawei-ism": None,
    # a security audit appliance
    "network/appliance/infosec-nsae-6500": None,
    # a wireless LAN controller
    "network/appliance/meru-networks-controller": "access_point",
    # no system group: a proxy"s own MIB
    "network/appliance/network-research-squid": None,
    # an anti-DDoS appliance
    "network/appliance/nsfocus-ads": "firewall",
    # a UPS management appliance (UPS-MIB)
    "network/appliance/tripplite-poweralert": "ups",
    # an embedded board
    "network/appliance/ucdavis-sic": None,
    # a packet broker
    "network/appliance/vss-monitoring-optimizer-2400-span": None,
    "network/firewall/clavister-amaranten": "firewall",
    "network/firewall/fortinet-xcu": "firewall",
    "network/firewall/legend-holdings-firewall-2": "firewall",
    "network/firewall/legend-holdings-firewall": "firewall",
    "network/firewall/netentsec-ngfw": "firewall",
    "network/firewall/nsfocus-osms": "firewall",
    "network/firewall/paloalto-pa-5000": "firewall",
    "network/firewall/sangfor-ad1800-fp2": "firewall",
    "network/firewall/sangfor-vad1": "firewall",
    "network/firewall/topsec-ngfw4000-uf": "firewall",
    "network/firewall/venus-unknown-001": "firewall",
    "network/firewall/venus-vsos-v0600r0705b20180507": "firewall",
    "network/firewall/venus-vsos-v070060600": "firewall",
    # the sysObjectID of Brocade"s Fibre Channel switches (as network/switch/brocade-ds-5100b)
    "network/router/brocade-unknown-001": "switch",
    # sysServices 2 (datalink only) and a forwarding table: a switch
    "network/router/cisco-unmarked-0": "switch",
    "network/router/huawei-acu2": "router",
    "network/router/huawei-s5720": "router",
    "network/router/huawei-unknown-001": "router",
    "network/router/huawei-unknown-002": "router",
    "network/router/juniper-mx960-12-3r6-6": "router",
    "network/router/juniper-mx960-13-3r9-13": "router",
    "network/router/juniper-mx960-16-1r6-7-a": "router",
    "network/router/juniper-mx960-16-1r6-7-b": "router",
    # "Core Routing Switch": a layer-3 switch
    "network/router/ruijie-n18010": "switch",
    "network/router/vyatta-unknown": "router",
    "network/switch/bdcom-s5612": "switch",
    "network/switch/brocade-ds-5100b": "switch",
    "network/switch/brocade-fiber-channel": "switch",
    "network/switch/brocade-icx6430-24": "switch",
    "network/switch/cisco-c3560": "switch",
    "network/switch/cisco-c3750": "switch",
    "network/switch/cisco-n5000-uk9": "switch",
    "network/switch/cisco-n5000": "switch",
    "network/switch/cts-media-converter": "switch",
    "network/switch/dcrs-5980-28t-dc": "switch",
    "network/switch/dcs-3726c": "switch",
    "network/switch/dlink-des3038": "switch",
    "network/switch/dlink-des3200": "switch",
    "network/switch/dptech-dpx800-a5": "switch",
    "network/switch/h3c-comware-7-1-075": "switch",
    "network/switch/h3c-comware-lsq1wcmd0-2509p61": "switch",
    "network/switch/h3c-comware-lsq1wcmd0": "switch",
    "network/switch/h3c-e528-1": "switch",
    "network/switch/h3c-e528-2": "switch",
    # an H3C wireless access controller (IEEE 802.11 MIB)
    "network/switch/h3c-wx6103": "access_point",
    "network/switch/hpe-procurve-516733-b21": "switch",
    "network/switch/huawei-s12704": "switch",
    "network/switch/maipu-sm4200-16gef8ge-ac": "switch",
    "network/switch/metel-poe-box": "switch",
    "network/switch/ruijie-s5750-24gt12sfp": "switch",
    "network/switch/zte-zrx10": "switch",
    "network/switch/zte-zxr10-5250": "switch",
    "network/wifi/aruba-7010": "access_point",
    "network/wifi/aruba-7020": "access_point",
    "network/wifi/aruba-7210": "access_point",
    "network/wifi/juniper-wlc2800": "access_point",
    "network/wifi/ruckus-smartcell-gateway": "access_point",
    "network/wifi/ruijie-m18000": "access_point",
    "network/wifi/sangfor-wac-2": "access_point",
    "network/wifi/sangfor-wac": "access_point",
    "network/wifi/ubiquiti-m5": "access_point",
    "os/linux/ibm-power-chrp": "computer",
    "os/linux/ibm-x3550-m3": "computer",
    # the walk of an H3C E528 switch (ENTITY-MIB) with a dummy sysDescr
    "os/linux/netmanage": "switch",
    "os/linux/sangfor": "computer",
    "os/linux/slackware": "computer",
    "os/linux/unknown-001": "computer",
    "os/linux/unknown-002": "computer",
    "os/linux/unknown-003": "computer",
    "os/linux/unknown-004": "computer",
    "os/linux/unknown-005": "computer",
    "os/linux/unknown-006": "computer",
    "os/linux/unknown-007": "computer",
    "os/linux/unknown-008": "computer",
    "os/linux/zte-embsys-cgel": "computer",
    "os/windows/XP": "computer",
    "os/windows/server-2003-5-2": "computer",
    "storage/isilon-onefs": "nas",
    "storage/netapp-fas3270": "nas",
    "storage/netapp-ontap-8-2-3": "nas",
    # unknown
    "unclassified/01": None,
    # no system group
    "unclassified/02": None,
    # no system group
    "unclassified/03": None,
}

# The model a sysDescr names, for walks whose ENTITY-MIB names none (or names a part).
DESCR_MODELS: dict[str, str] = {
    "UPS/apc-7902b": "AP7902B",
    "UPS/apc-8641": "AP8641",
    "UPS/apc-8932": "AP8932",
    "camera/wds-ips-1022": "IPS-1022",
    "network/firewall/topsec-ngfw4000-uf": "NGFW4000-UF",
    "network/router/huawei-s5720": "S5720-36C-EI-AC",
    "network/router/juniper-mx960-12-3r6-6": "mx960",
    "network/router/juniper-mx960-13-3r9-13": "mx960",
    "network/router/ruijie-n18010": "N18010",
    "network/switch/brocade-icx6430-24": "ICX6430-24",
    "network/switch/dlink-des3038": "DES-3028",
    "network/switch/dlink-des3200": "DES-3200-18",
    "network/switch/maipu-sm4200-16gef8ge-ac": "SM4200-16GEF8GE-AC",
    "network/wifi/aruba-7010": "Aruba7010",
    "network/wifi/aruba-7020": "Aruba7010",
    "network/wifi/juniper-wlc2800": "WLC2800",
    "network/wifi/ruijie-m18000": "M18000-WS-ED",
}
