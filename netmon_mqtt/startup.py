"""What the service says when it starts: a few lines on what runs and where to look next
(pure: the lines are built from the configuration, the networks and the privileges)."""

from __future__ import annotations

from collections.abc import Sequence

from .config import Config
from .discovery.networks import Target
from .privileges import Privileges

_SOURCES = (  # DiscoveryConfig flag -> the name users know it by
    ("arp", "ARP sweeps"),
    ("icmp_sweep", "ICMP sweeps"),
    ("neighbours", "neighbour tables"),
    ("passive", "passive ARP/DHCP"),
    ("ipv6", "IPv6 neighbours"),
    ("use_mdns", "mDNS"),
    ("use_ssdp", "SSDP"),
    ("use_dns", "reverse DNS"),
    ("use_netbios", "NetBIOS"),
    ("use_snmp", "SNMP"),
)
_NEED_RAW = frozenset({"arp", "passive"})


def summary(
    config: Config, targets: Sequence[Target], privileges: Privileges, version: str
) -> list[str]:
    """The start-up lines (logged at info level, one each)."""
    d, m = config.discovery, config.mqtt
    networks = ", ".join(
        f"{t.network} on {t.interface} (this machine {t.source_ip})"
        if t.on_link
        else f"{t.network} (routed)"
        for t in targets
    )
    sources = [
        name
        for flag, name in _SOURCES
        if getattr(d, flag) and (privileges.raw or flag not in _NEED_RAW)
    ]
    off = [name for flag, name in _SOURCES if getattr(d, flag) and name not in sources]
    if config.uses_embedded_broker:
        e = config.embedded_broker
        broker = f"embedded broker on {e.host}:{e.port}"
        host, port = e.host, e.port
    else:
        broker = f"broker {m.host}:{m.port}{' (TLS)' if m.tls else ''}"
        host, port = m.host or "", m.port
    return [
        f"netmon-mqtt {version}, instance {config.instance_id}: watching {networks}",
        f"Sweeps every {config.discovery_interval:g} s, probes every "
        f"{config.monitor_interval:g} s; sources: {', '.join(sources) or 'none'}"
        + (f" (off without CAP_NET_RAW: {', '.join(off)})" if off else ""),
        f"MQTT: {broker}, topics under {m.base_topic}/, Home Assistant discovery under "
        f"{m.discovery_prefix}/; database {config.database}",
        f"Next: `mosquitto_sub -h {host} -p {port} -t '{m.base_topic}/#' -v` shows what is "
        "published; in Home Assistant, the MQTT integration on the same broker shows the "
        "devices",
    ]
