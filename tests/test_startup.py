"""The start-up lines: what runs, what is off and why, and where to look next."""

from __future__ import annotations

import ipaddress

from netmon_mqtt.config import validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.privileges import Privileges
from netmon_mqtt.startup import summary

LAN = Target(ipaddress.IPv4Network("192.168.1.0/24"), "eth0", "192.168.1.5")
ROUTED = Target(ipaddress.IPv4Network("10.20.0.0/24"), None, None)


def test_a_new_user_reads_what_runs_and_where_to_look() -> None:
    config = validate({"networks": ["192.168.1.0/24"], "discovery": {"use_snmp": False}})
    lines = summary(config, [LAN, ROUTED], Privileges(raw=True, icmp=True), "1.2.3")
    assert len(lines) == 4
    assert lines[0] == (
        "netmon-mqtt 1.2.3, instance main: watching 192.168.1.0/24 on eth0 (this machine "
        "192.168.1.5), 10.20.0.0/24 (routed)"
    )
    assert lines[1].startswith("Sweeps every 600 s, probes every 5 s; sources: ARP sweeps,")
    assert "SNMP" not in lines[1] and "CAP_NET_RAW" not in lines[1]
    assert lines[2] == (
        "MQTT: embedded broker on 127.0.0.1:1883, topics under netmon/, Home Assistant "
        "discovery under homeassistant/; database netmon.db"
    )
    assert "mosquitto_sub -h 127.0.0.1 -p 1883 -t 'netmon/#' -v" in lines[3]


def test_without_privileges_it_says_what_is_off() -> None:
    config = validate(
        {"networks": ["192.168.1.0/24"], "mqtt": {"host": "broker.lan", "tls": True, "port": 8883}}
    )
    lines = summary(config, [LAN], Privileges(raw=False, icmp=True), "1")
    assert lines[1].endswith("(off without CAP_NET_RAW: ARP sweeps, passive ARP/DHCP)")
    assert "ARP sweeps," not in lines[1].split("(off")[0]
    assert lines[2].startswith("MQTT: broker broker.lan:8883 (TLS), topics under netmon/")
    assert "mosquitto_sub -h broker.lan -p 8883" in lines[3]
