"""`netmon-mqtt scan` and `devices` on the namespace LAN, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .lan import NetnsLan


def _cli(lan: NetnsLan, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lan.exec_args(lan.service_ns, sys.executable, "-m", "netmon_mqtt", *args),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.netns
def test_scan_finds_every_host_with_its_vendor(make_lan: type[NetnsLan]) -> None:
    lan = make_lan(6).build()
    result = _cli(lan, "scan", lan.subnet, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {(r["ip"], r["mac"], r["vendor"]) for r in rows} == {
        (h.ip, h.mac, h.vendor) for h in lan.hosts
    }
    table = _cli(lan, "scan", lan.subnet)
    assert table.returncode == 0
    assert f"{len(lan.hosts)} host(s) found on {lan.subnet}" in table.stdout
    assert lan.hosts[0].vendor in table.stdout


@pytest.mark.netns
def test_scan_refuses_an_invalid_network(make_lan: type[NetnsLan]) -> None:
    lan = make_lan(1).build()
    result = _cli(lan, "scan", "10.77.0.0/40")
    assert result.returncode == 2
    assert "--network[0]" in result.stderr and "10.77.0.0/40" in result.stderr


def test_devices_without_inventory_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "netmon_mqtt", "devices", "--database", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no inventory at" in result.stderr
