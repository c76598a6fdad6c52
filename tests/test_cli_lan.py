"""`netmon-mqtt scan` and `devices` on the namespace LAN, as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require
from .lan import NetnsLan
from .responders import mdns_responder, ready
from .tools.snmpd import remove_folders, start_snmpd


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
def test_scan_names_and_types_devices_like_the_service(make_lan: type[NetnsLan]) -> None:
    """No configuration: the speaker is named by the name it announces over mDNS, the
    printer by the sysName its SNMP agent gives for the community ``public``."""
    require(shutil.which("snmpd") is not None, "needs net-snmp's snmpd (apt-get install snmpd)")
    lan = make_lan(3, subnet="10.74.0.0/24", roles=("speaker", "printer", "plain")).build()
    speaker, printer, plain = (lan.host(r) for r in ("speaker", "printer", "plain"))
    responder = mdns_responder(
        lan, speaker, "h1", "Kitchen Speaker", "Nest Audio", "_googlecast._tcp.local."
    )
    agent, _folder = start_snmpd(lan.exec_args(printer.namespace), printer.ip, community="public")
    try:
        assert ready(responder)
        result = _cli(lan, "scan", lan.subnet, "--json")
        assert result.returncode == 0, result.stderr
        rows = {r["ip"]: r for r in json.loads(result.stdout)}
        assert set(rows) == {h.ip for h in lan.hosts}
        assert rows[speaker.ip]["name"] == "Kitchen Speaker"
        assert rows[speaker.ip]["mdns_name"] == "h1" and rows[speaker.ip]["model"] == "Nest Audio"
        assert rows[speaker.ip]["device_type"] == "tv_media"
        assert rows[printer.ip]["snmp"]["sysName"] == "office-printer"
        assert rows[printer.ip]["name"] == "office-printer"
        assert rows[printer.ip]["device_type"] == "printer"
        assert rows[plain.ip]["vendor"] == plain.vendor

        table = _cli(lan, "scan", lan.subnet, "--methods", "arp,mdns")
        assert table.returncode == 0, table.stderr
        header, *lines = table.stdout.splitlines()
        assert header.split() == ["IP", "MAC", "NAME", "TYPE", "VENDOR", "MODEL"]
        speaker_line = next(line for line in lines if line.startswith(speaker.ip + " "))
        assert "Kitchen Speaker" in speaker_line and "tv_media" in speaker_line
        printer_line = next(line for line in lines if line.startswith(printer.ip + " "))
        assert "office-printer" not in printer_line  # SNMP was not among the methods asked
    finally:
        responder.terminate()
        responder.wait(10)
        agent.terminate()
        agent.wait(10)
        remove_folders()


@pytest.mark.netns
def test_scan_refuses_an_invalid_network(make_lan: type[NetnsLan]) -> None:
    lan = make_lan(1).build()
    result = _cli(lan, "scan", "10.77.0.0/40")
    assert result.returncode == 2
    assert "--network[0]" in result.stderr and "10.77.0.0/40" in result.stderr
    methods = _cli(lan, "scan", lan.subnet, "--methods", "arp,teleport")
    assert methods.returncode == 2
    assert "unknown method(s) teleport" in methods.stderr and "mdns" in methods.stderr


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
