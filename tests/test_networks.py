"""Resolving configured networks to interfaces, and the kernel neighbour table."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from netmon_mqtt.discovery.neighbours import parse_arp_table, read_neighbours
from netmon_mqtt.discovery.networks import (
    InterfaceAddress,
    candidate_networks,
    parse_ip_addr,
    resolve_targets,
)
from netmon_mqtt.errors import DiscoveryError

IP_ADDR = json.dumps(
    [
        {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
        {
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "192.168.1.20", "prefixlen": 24},
                {"family": "inet6", "local": "fe80::1", "prefixlen": 64},
            ],
        },
        {
            "ifname": "eth0.20",
            "addr_info": [{"family": "inet", "local": "10.20.0.2", "prefixlen": 23}],
        },
        {"ifname": "wg0", "addr_info": [{"family": "inet", "local": "10.99.0.1", "prefixlen": 8}]},
        {
            "ifname": "weird",
            "addr_info": [{"family": "inet", "local": "nonsense", "prefixlen": 24}],
        },
    ]
)


def _addresses() -> list[InterfaceAddress]:
    return parse_ip_addr(IP_ADDR)


def test_parse_ip_addr_keeps_ipv4_only() -> None:
    found = {(a.interface, str(a.address)) for a in _addresses()}
    assert found == {
        ("lo", "127.0.0.1/8"),
        ("eth0", "192.168.1.20/24"),
        ("eth0.20", "10.20.0.2/23"),
        ("wg0", "10.99.0.1/8"),
    }


def test_parse_ip_addr_rejects_garbage() -> None:
    with pytest.raises(DiscoveryError, match="unexpected output"):
        parse_ip_addr("{not json")


def test_auto_skips_loopback_and_huge_networks() -> None:
    assert [a.interface for a in candidate_networks(_addresses())] == ["eth0", "eth0.20"]
    targets = resolve_targets(("auto",), _addresses())
    assert [(str(t.network), t.interface) for t in targets] == [
        ("192.168.1.0/24", "eth0"),
        ("10.20.0.0/23", "eth0.20"),
    ]


def test_cidr_on_link_gets_its_interface_and_source_address() -> None:
    (target,) = resolve_targets(("10.20.1.0/24",), _addresses())
    assert target.on_link and target.interface == "eth0.20" and target.source_ip == "10.20.0.2"


def test_routed_cidr_has_no_interface() -> None:
    (target,) = resolve_targets(("172.16.5.0/24",), _addresses())
    assert not target.on_link and target.interface is None


def test_interface_name_and_duplicates() -> None:
    targets = resolve_targets(("eth0", "192.168.1.0/24", "auto"), _addresses())
    assert [str(t.network) for t in targets] == ["192.168.1.0/24", "10.20.0.0/23"]
    with pytest.raises(DiscoveryError, match="'eth9' has no IPv4 address"):
        resolve_targets(("eth9",), _addresses())


ARP_TABLE = """IP address       HW type     Flags       HW address            Mask     Device
192.168.1.1      0x1         0x2         B8:27:EB:00:00:01     *        eth0
192.168.1.7      0x1         0x0         00:00:00:00:00:00     *        eth0
192.168.1.9      0x1         0x2         not-a-mac             *        eth0
999.1.1.1        0x1         0x2         b8:27:eb:00:00:02     *        eth0
10.9.9.9         0x1         0x2         b8:27:eb:00:00:03     *        eth1
short line
192.168.1.30     0x1         0x2         ff:ff:ff:ff:ff:ff     *        eth0
"""


def test_parse_arp_table_keeps_complete_valid_entries() -> None:
    assert parse_arp_table(ARP_TABLE) == [
        ("192.168.1.1", "b8:27:eb:00:00:01", "eth0"),
        ("10.9.9.9", "b8:27:eb:00:00:03", "eth1"),
    ]


def test_read_neighbours_filters_by_network(tmp_path: Path) -> None:
    table = tmp_path / "arp"
    table.write_text(ARP_TABLE)
    found = read_neighbours([ipaddress.IPv4Network("192.168.1.0/24")], table)
    assert [(o.ip, o.mac, o.source) for o in found] == [
        ("192.168.1.1", "b8:27:eb:00:00:01", "neighbours")
    ]
    assert read_neighbours([ipaddress.IPv4Network("10.0.0.0/8")], tmp_path / "missing") == []


def test_target_contains() -> None:
    (target,) = resolve_targets(("10.20.1.0/24",), _addresses())
    assert target.contains("10.20.1.77")
    assert not target.contains("10.20.2.1")
    assert not target.contains("fe80::1")
    assert not target.contains("garbage")
