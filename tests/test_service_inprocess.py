"""The whole service in one process, against a real mosquitto: every component is the real
one except the link layer and the pinger (``tests/fakes.py``), so no root is needed.

Each action's publishes are asserted exactly: the topics touched, the final payload of every
retained topic and the events in order (volatile values such as timestamps normalised).
The fake LAN lies in 127.77.0.0/24: even a packet sent by mistake would stay on loopback.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt import __version__
from netmon_mqtt.models import Device
from netmon_mqtt.publish import ha_discovery
from netmon_mqtt.publish.topics import Topics

from .inprocess import InProcess
from .mqtt_tools import LocalMosquitto, Received, Subscriber, open_subscriber
from .waiting import until

NETWORK = "127.77.0.0/24"
INTERFACE = "fake0"
PRINTER = ("127.77.0.20", "00:1b:a9:00:00:20")  # Brother: found by the start-up sweep
PHONE = ("127.77.0.50", "3c:22:fb:00:00:07")  # Apple: joins with a DHCP request
PHONE_ID = PHONE[1].replace(":", "")
TOPICS = Topics()
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


class World(InProcess):
    """The in-process service with a printer, read message by message."""

    @property
    def sub(self) -> Subscriber:
        assert self.observe is not None
        return self.observe.sub

    def mark(self) -> int:
        return len(self.sub.snapshot())

    async def since(self, mark: int, quiet: float = 0.6, limit: float = 5.0) -> list[Received]:
        """What the service published after ``mark`` (the test's own requests aside), once
        nothing more came for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline, count, still = loop.time() + limit, -1, loop.time()
        while loop.time() < deadline:
            now = len(self.sub.snapshot())
            if now != count:
                count, still = now, loop.time()
            elif count > mark and loop.time() - still >= quiet:
                break
            await asyncio.sleep(0.05)
        return [m for m in self.sub.snapshot()[mark:] if "/bridge/request/" not in m.topic]

    def request(self, command: str, payload: dict[str, Any]) -> None:
        """A request as given (its transaction, if any, included); not waited for."""
        assert self.requests is not None
        args = self.requests.publish_args(f"netmon/bridge/request/{command}")
        subprocess.run([*args, "-m", json.dumps(payload)], check=True)


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[World]:
    world = World(mosquitto.port, tmp_path / "netmon.db", dict([PRINTER]), network=NETWORK)
    world.watch(await open_subscriber(mosquitto.port))
    try:
        await world.start()
        assert await until(lambda: _scanned(world.sub)), [m.topic for m in world.sub.snapshot()]
        await world.since(0)
        yield world
    finally:
        await world.stop()
        world.sub.close()


def _scanned(sub: Subscriber) -> bool:
    """The start-up sweep is over and everything it caused was sent."""
    events = [m.json()["type"] for m in sub.on(TOPICS.bridge_event)]
    return "scan_finished" in events


def _normal(value: Any) -> Any:
    """Timestamps and measured durations replaced by placeholders."""
    if isinstance(value, dict):
        return {
            k: "<seconds>"
            if k in ("last_scan_duration_s", "uptime_s")
            else "<key>"
            if k == "public_key" and v
            else _normal(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str):
        text = TIME.sub("<time>", value)
        # The answer to the ARP check reaches the prober and the passive listener at once:
        # either may report it first.
        text = text.replace("arp_passive answered", "arp answered")
        return re.sub(r"no answer for \d+ s", "no answer for <n> s", text)
    return value


def _retained(messages: list[Received]) -> dict[str, Any]:
    """The last payload of each retained topic (a subscriber sees the retain flag only on what
    the broker held when it subscribed), normalised."""
    live = ("netmon/bridge/event", "netmon/bridge/response/")
    return {
        m.topic: _normal(_parsed(m.payload))
        for m in messages
        if not m.topic.startswith(live) and not m.topic.endswith("/event")
    }


def _parsed(payload: str) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload  # online / offline


def _events(messages: list[Received], topic: str = TOPICS.bridge_event) -> list[Any]:
    return [_normal(m.json()) for m in messages if m.topic == topic]


def _bridge_info(total: int, online: int, discovery_interval: float = 3600.0) -> dict[str, Any]:
    return {
        "version": __version__,
        "instance_id": "main",
        "base_topic": "netmon",
        "discovery_prefix": "homeassistant",
        "networks": [NETWORK],
        "discovery_interval": discovery_interval,
        "monitor_interval": 0.2,
        "metrics_interval": 60.0,
        "started_at": "<time>",
        "devices": {"total": total, "online": online},
        "last_scan_duration_s": "<seconds>",
        "public_key": "<key>",
        "sealing": "x25519-hkdf-sha256-chacha20poly1305",
    }


def _summary(ip: str, mac: str, name: str, vendor: str, kind: str | None, online: bool) -> Any:
    return {
        "id": mac.replace(":", ""),
        "name": name,
        "mac": mac,
        "ip": ip,
        "vendor": vendor,
        "device_type": kind,
        "last_seen": "<time>",
        "tracked": True,
        "known": False,
        "online": online,
    }


def _unknown(device_id: str, name: str, vendor: str, kind: str, ip: str) -> Any:
    return {"id": device_id, "name": name, "vendor": vendor, "device_type": kind, "ip": ip,
            "first_seen": "<time>"}  # fmt: skip


PHONE_INFO = {
    "id": PHONE_ID,
    "name": "pixel-7",
    "ip": PHONE[0],
    "mac": PHONE[1],
    "hostname": "pixel-7",
    "host_name": "pixel-7",
    "vendor": "Apple, Inc.",
    "model": None,
    "model_id": None,
    "sw_version": None,
    "hw_version": None,
    "serial_number": None,
    "mdns_name": None,
    "dhcp_hostname": "pixel-7",
    "dns_name": None,
    "netbios_name": None,
    "device_type": "phone",
    "type_evidence": ["DHCP vendor class android-dhcp-14"],
    "type_confidence": 100,
    "known": False,
    "randomized_mac": False,
    "linked_macs": {},
    "ipv6": [],
    "snmp": None,
    "port": None,
    "switch": None,
    "services": [],
    "first_seen": "<time>",
    "probes": ["main"],
}


def _phone_config() -> Any:
    device = Device(
        id=PHONE_ID, mac=PHONE[1], ip=PHONE[0], first_seen=None, last_seen=None,  # type: ignore[arg-type]
        vendor="Apple, Inc.", names={"dhcp": "pixel-7"}, device_type="phone",
    )  # fmt: skip
    return ha_discovery.device_config(device, TOPICS, __version__)


def _state(
    presence: str,
    reason: str,
    metrics: dict[str, Any] | None = None,
    method: str = "dhcp",
    consider_home: float = 0.6,
) -> dict[str, Any]:
    empty = dict.fromkeys(("latency_ms", "latency_min_ms", "latency_max_ms", "jitter_ms"))
    return {
        "presence": presence,
        "online": presence == "home",
        **(metrics or {**empty, "packet_loss_pct": None}),
        "last_seen": "<time>",
        "method": method,
        "reason": reason,
        "sleeping": False,
        "grace_s": consider_home,
        "grace": "consider_home",
        "grace_why": "consider_home, no doze seen",
    }


async def test_join_presence_request_and_options_publish_exactly_this(world: World) -> None:
    printer = (*PRINTER, "Brother industries, LTD.")
    assert world.service.inventory.get(PRINTER[1].replace(":", "")) is not None
    printer_summary = _summary(*printer[:2], f"Brother {PRINTER[0]}", printer[2], "printer", True)
    printer_id, printer_name = printer[1].replace(":", ""), printer_summary["name"]
    printer_unknown = _unknown(printer_id, printer_name, printer[2], "printer", printer[0])

    # 1. A phone joins: its DHCP request is all it takes (with its answer to the ARP check
    # that sets off). Its first answered probe's round trip goes out at once, not after a
    # whole metrics window.
    first_rtt = {
        "latency_ms": 1.5,
        "latency_min_ms": 1.5,
        "latency_max_ms": 1.5,
        "jitter_ms": None,
        "packet_loss_pct": 0.0,
    }
    mark = world.mark()
    world.hosts.macs[PHONE[0]] = PHONE[1]
    world.link.dhcp_request(INTERFACE, PHONE[1], PHONE[0], "pixel-7", "android-dhcp-14")
    messages = await world.since(mark)
    assert _retained(messages) == {
        TOPICS.device_info(PHONE_ID): PHONE_INFO,
        TOPICS.device_config(PHONE_ID): _phone_config(),
        # Admitted by its answer to the ARP check its DHCP request set off.
        TOPICS.device_state(PHONE_ID): _state("home", "arp answered", first_rtt, "icmp"),
        TOPICS.device_availability(PHONE_ID): "online",  # tracked, presence known
        TOPICS.bridge_info: _bridge_info(2, 2),
        TOPICS.bridge_devices: [
            printer_summary,
            _summary(*PHONE, "pixel-7", "Apple, Inc.", "phone", True),
        ],
        # Nobody acknowledged either: both are unknown devices present now, newest first.
        TOPICS.bridge_unknown: {
            "count": 2,
            "devices": [
                _unknown(PHONE_ID, "pixel-7", "Apple, Inc.", "phone", PHONE[0]),
                printer_unknown,
            ],
        },
    }
    assert _events(messages) == [
        {"type": "device_joined", "at": "<time>", "data": PHONE_INFO},
        {
            "type": "device_online",
            "at": "<time>",
            "data": {"id": PHONE_ID, "at": "<time>", "reason": "arp answered"},
        },
    ]

    # 2. A request: one response, nothing else.
    mark = world.mark()
    world.request("device/ping", {"id": PHONE_ID, "count": 2, "transaction": "ping-1"})
    messages = await world.since(mark)
    assert [(m.topic, m.retained, m.json()) for m in messages] == [
        (
            "netmon/bridge/response/device/ping",
            False,
            {
                "status": "ok",
                "data": {
                    "id": PHONE_ID,
                    "ip": PHONE[0],
                    "sent": 2,
                    "received": 2,
                    "packet_loss_pct": 0.0,
                    "latency_ms": 1.5,
                    "rtts_ms": [1.5, 1.5],
                },
                "transaction": "ping-1",
            },
        )
    ]

    # 3. An options change: the response, bridge/info, and the database.
    mark = world.mark()
    world.request("options", {"options": {"discovery_interval": 1800, "consider_home": 1}})
    messages = await world.since(mark)
    options = {
        "networks": [NETWORK],
        "discovery_interval": 1800,
        "monitor_interval": 0.2,
        "metrics_interval": 60,
        "consider_home": 1,
        "ping_timeout": 0.2,
        "wake_probe": False,
        "history_days": 7,
        "track_new_devices": True,
        "max_consider_home": 1800,
        "forget_after_days": 30,
        "forget_random_after_days": 7,
        "snmp_credentials": [],
    }
    # Retained state is flushed before events and responses: the answer comes after it.
    # (bridge/devices may be rebuilt too: the phone's last_seen moved with its probes.)
    messages = [m for m in messages if m.topic != TOPICS.bridge_devices]
    assert [m.topic for m in messages] == [TOPICS.bridge_info, "netmon/bridge/response/options"]
    assert _normal(messages[0].json()) == _bridge_info(2, 2, discovery_interval=1800)
    assert messages[1].json() == {"status": "ok", "data": {"options": options}}
    with sqlite3.connect(world.database) as db:
        saved = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM settings")}
    assert saved == {"discovery_interval": 1800, "consider_home": 1}

    # 4. The phone leaves: away after the new consider_home (1 s), not the old one.
    mark = world.mark()
    world.hosts.down.add(PHONE[0])
    messages = await world.since(mark, quiet=1.5)
    away = _retained(messages)[TOPICS.device_state(PHONE_ID)]
    reason = "no answer for <n> s (grace 1 s: consider_home, no doze seen)"
    metrics = {k: away[k] for k in _METRICS}
    assert away == _state("not_home", reason, metrics, "icmp", consider_home=1)
    assert away["packet_loss_pct"] == 100.0 or away["latency_ms"] == 1.5
    assert _retained(messages) == {
        TOPICS.device_state(PHONE_ID): away,
        TOPICS.bridge_info: _bridge_info(2, 1, discovery_interval=1800),
        TOPICS.bridge_devices: [
            printer_summary,
            _summary(*PHONE, "pixel-7", "Apple, Inc.", "phone", False),
        ],
        TOPICS.bridge_unknown: {"count": 1, "devices": [printer_unknown]},  # the phone left
    }
    data = {"id": PHONE_ID, "at": "<time>", "reason": reason}
    left = [{"type": "device_offline", "at": "<time>", "data": data}]
    assert _events(messages) == left
    assert _events(messages, TOPICS.device_event(PHONE_ID)) == left


_METRICS = ("latency_ms", "latency_min_ms", "latency_max_ms", "jitter_ms", "packet_loss_pct")


async def _ask(world: World, command: str, payload: dict[str, Any]) -> Any:
    mark = world.mark()
    world.request(command, payload)
    messages = await world.since(mark)
    answers = [m.json() for m in messages if m.topic == f"netmon/bridge/response/{command}"]
    assert len(answers) == 1, [m.topic for m in messages]
    return answers[0]


async def test_device_get_and_history_answer_what_the_rest_api_did(world: World) -> None:
    printer_id = PRINTER[1].replace(":", "")
    got = await _ask(world, "device/get", {"id": printer_id})
    assert got["status"] == "ok", got
    data = got["data"]
    assert data["info"]["id"] == printer_id and data["info"]["ip"] == PRINTER[0]
    assert data["state"]["presence"] == "home" and data["tracked"] is True
    assert (await _ask(world, "device/get", {"id": "nope"}))["error"] == "no device 'nope'"

    history = await _ask(world, "device/history", {"id": printer_id})
    assert history["status"] == "ok", history
    changes = history["data"]["changes"]
    assert [c["presence"] for c in changes] == ["home"], changes
    assert set(changes[0]) == {"at", "presence", "reason"}
    later = {"id": printer_id, "since": "2099-01-01T00:00:00Z"}
    assert (await _ask(world, "device/history", later))["data"]["changes"] == []
    earlier = {"id": printer_id, "until": "2000-01-01T00:00:00+01:00"}
    assert (await _ask(world, "device/history", earlier))["data"]["changes"] == []

    # Bad requests: a clear error each, and the service still answers.
    bad = [
        ({"id": printer_id, "since": "yesterday"}, "ISO 8601 time with a timezone"),
        ({"id": printer_id, "since": "2026-11-30T08:00:00"}, "ISO 8601 time with a timezone"),
        ({"id": printer_id, "limit": 0}, "limit"),
        ({"id": printer_id, "limit": 100000}, "limit"),
        (
            {"id": printer_id, "since": "2026-11-30T09:00:00Z", "until": "2026-11-30T08:00:00Z"},
            "since is after until",
        ),
    ]
    for payload, expected in bad:
        answer = await _ask(world, "device/history", payload)
        assert answer["status"] == "error" and expected in answer["error"], (payload, answer)
    assert (await _ask(world, "device/get", {"id": printer_id}))["status"] == "ok"
