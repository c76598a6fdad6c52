"""Names are text: control and format characters sent by any host (or broker client) never
reach a stored name or fact, a terminal, the ``watch`` view or Home Assistant."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from netmon_mqtt.discovery.packets import DhcpPacket
from netmon_mqtt.discovery.passive import dhcp_observation
from netmon_mqtt.discovery.ssdp import parse_description
from netmon_mqtt.identify.snmp import render
from netmon_mqtt.models import Device, Observation
from netmon_mqtt.publish import ha_discovery
from netmon_mqtt.publish.router import Message
from netmon_mqtt.publish.topics import Topics
from netmon_mqtt.reports import print_table
from netmon_mqtt.text import plain
from netmon_mqtt.watch.app import WatchApp
from netmon_mqtt.watch.model import WatchModel

from .snmprec import Octets

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
# An escape sequence (clear the screen, set a title), a right-to-left override, a zero-width
# joiner, a bell, a NUL, a line separator: what a hostile name carries.
HOSTILE = "\x1b[2J\x1b]0;owned\x07Printer\u202eowT\u200d\x00\u2028Two"


def _clean(text: str) -> bool:
    return all(ch.isprintable() for ch in text) and "\x1b" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (HOSTILE, "[2J ]0;owned Printer owT Two"),
        ("  Living   Room\tTV \n", "Living Room TV"),
        (b"caf\xc3\xa9 \xff", "café �"),
        ("\x00\x1b\u202e", None),
        (None, None),
        ("x" * 500, "x" * 200),
    ],
)
def test_plain_keeps_what_reads_and_drops_what_does_not(value: object, expected: Any) -> None:
    assert plain(value) == expected


def test_every_source_s_names_and_facts_are_plain_at_ingestion() -> None:
    obs = Observation(
        ip="10.0.0.5",
        source="mdns",
        seen_at=NOW,
        hostname=HOSTILE,  # an mDNS SRV target is not filtered by zeroconf
        attributes=(("model", HOSTILE), ("empty", "\x1b\x00")),
        services=(f"_http._tcp.local.{HOSTILE}",),
    )
    assert obs.hostname is not None and _clean(obs.hostname)
    assert dict(obs.attributes) == {"model": plain(HOSTILE)}  # nothing left: no fact
    assert all(_clean(s) for s in obs.services)
    packet = DhcpPacket("3c:22:fb:00:00:07", "10.0.0.7", 3, HOSTILE, HOSTILE, None, (1, 3))
    dhcp = dhcp_observation("eth0", packet, NOW)
    assert dhcp is not None and dhcp.hostname and _clean(dhcp.hostname)
    assert all(_clean(v) for _, v in dhcp.attributes)
    description = (  # (XML itself refuses control characters: such a description is dropped)
        "<root><device><friendlyName>TV\u200d\u2028red</friendlyName>"
        "<modelName>\u202eX</modelName></device></root>"
    ).encode()
    assert parse_description(description) == {"friendlyName": "TV red", "modelName": "X"}
    assert parse_description(b"<root><device><modelName>a&#x1b;b</modelName></device></root>") == {}
    assert render("sysName", Octets(HOSTILE.encode())) == plain(HOSTILE)
    assert render("sysName", 42) is None  # a number where text belongs


def test_names_from_an_older_database_and_renames_show_as_text() -> None:
    device = Device("3c22fb000007", "3c:22:fb:00:00:07", "10.0.0.7", NOW, NOW, name=HOSTILE)
    assert _clean(device.display_name)
    config = ha_discovery.device_config(device, Topics(), "1")
    assert _clean(config["device"]["name"])


def test_terminal_tables_print_text_only() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        print_table([{"name": HOSTILE, "ip": "10.0.0.7\x1b[A"}], ["name", "ip"])
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()


def test_watch_cells_are_plain_text_never_markup() -> None:
    """Every field of a device's info and state is markup, or an escape sequence: the view
    draws them as the characters they are (before, ``"ip": "[/]"`` raised MarkupError)."""
    model = WatchModel("netmon")
    markup = {"name": "[/]", "ip": "[bold]x[/bold][/]", "vendor": "[link=x]y", "mac": "[/]"}
    markup["device_type"] = "[/]"  # not a type: shown as one of ours, "Unknown"
    hostile = {k: v + "\x1b[2J" for k, v in markup.items()}
    model.apply(Message("netmon/device/d1/info", _json(hostile), retain=False))
    state = {"presence": "[/]", "latency_ms": 1.0, "last_seen": "[/]"}
    model.apply(Message("netmon/device/d1", _json(state), retain=False))
    app = WatchApp(model, SimpleNamespace(), io.StringIO())  # type: ignore[arg-type]
    cells = app._cells(model.devices["d1"], NOW)
    texts = [cell.plain for cell in cells]
    assert "[/]" in texts[1] and "[bold]x[/bold][/]" in texts[2], texts
    assert "Unknown" in texts, texts
    assert all(_clean(text) for text in texts), texts


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value)
