"""Presence continuity, dozers, rotating MACs and forgotten devices, in fast motion: the whole
service in one process against a real mosquitto and a real SQLite file, with only the link
layer and the pinger faked (``tests/fakes.py``; the fake LAN lies on loopback, 127.78.0.0/24).

The namespace-LAN tests (``test_presence_lan.py``) prove the same at real speed."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from netmon_mqtt.app import Service
from netmon_mqtt.config import validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.pipeline import Boundary
from netmon_mqtt.privileges import Privileges
from netmon_mqtt.publish.topics import Topics

from .fakes import FakeHosts, FakeLink, FakePinger, inprocess_config
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber

NETWORK = "127.78.0.0/24"
INTERFACE = "fake0"
TOPICS = Topics()
PRINTER = ("127.78.0.20", "00:1b:a9:00:00:20")
PHONE = ("127.78.0.50", "3c:22:fb:00:00:07")
PHONE_ID = PHONE[1].replace(":", "")


def _config(mosquitto: LocalMosquitto, database: Path, **overrides: Any) -> Any:
    values = {"metrics_interval": 0.5, **overrides}
    return validate(inprocess_config(NETWORK, database, mosquitto.port, **values))


@asynccontextmanager
async def _running(config: Any, hosts: FakeHosts) -> AsyncIterator[tuple[Service, FakeLink]]:
    link = FakeLink(hosts)
    pinger = FakePinger(hosts)
    boundary = Boundary(Privileges(raw=True, icmp=True), link, pinger, pinger)
    target = Target(ipaddress.IPv4Network(NETWORK), INTERFACE, "127.78.0.1")
    service = Service(config, [target], boundary)
    await service.start()
    try:
        yield service, link
    finally:
        await service.stop()


async def _until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    for _ in range(int(timeout / 0.05)):
        if value := predicate():
            return value
        await asyncio.sleep(0.05)
    return predicate()


def _events(sub: Subscriber, *kinds: str) -> list[dict[str, Any]]:
    found = [m.json() for m in sub.on(TOPICS.bridge_event)]
    return [e for e in found if not kinds or e["type"] in kinds]


def _presence_events(sub: Subscriber) -> list[tuple[str, str]]:
    return [(e["type"], e["data"]["id"]) for e in _events(sub, "device_online", "device_offline")]


def _joined(sub: Subscriber) -> list[str]:
    """Ids of the devices that joined, the printer (found at start-up) aside."""
    printer_id = PRINTER[1].replace(":", "")
    return [e["data"]["id"] for e in _events(sub, "device_joined") if e["data"]["id"] != printer_id]


def _state(sub: Subscriber, device_id: str) -> dict[str, Any] | None:
    message = sub.latest(TOPICS.device_state(device_id))
    return None if message is None else dict(message.json())


def _request(port: int, command: str, payload: dict[str, Any]) -> None:
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-q", "1"]
    topic = f"netmon/bridge/request/{command}"
    subprocess.run([*args, "-t", topic, "-m", json.dumps(payload)], check=True)


def _response(sub: Subscriber, command: str, transaction: str) -> dict[str, Any] | None:
    for message in sub.on(f"netmon/bridge/response/{command}"):
        body = message.json()
        if body.get("transaction") == transaction:
            return dict(body)
    return None


async def test_a_restart_announces_nothing_that_did_not_change(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    hosts = FakeHosts({PRINTER[0]: PRINTER[1], PHONE[0]: PHONE[1]})
    config = _config(mosquitto, tmp_path / "netmon.db")
    async with _running(config, hosts):
        sub = connect_subscriber(mosquitto.port)
        try:
            assert await _until(lambda: len(_presence_events(sub)) == 2)
            hosts.down.add(PHONE[0])  # the phone leaves before the restart
            assert await _until(lambda: ("device_offline", PHONE_ID) in _presence_events(sub))
        finally:
            sub.close()
    for restart in range(2):
        await _restart_quietly(mosquitto, config, hosts, restart)
    # A change during the downtime is still news: the phone came back.
    hosts.down.discard(PHONE[0])
    sub = connect_subscriber(mosquitto.port)
    try:
        async with _running(config, hosts):
            assert await _until(lambda: _presence_events(sub) == [("device_online", PHONE_ID)])
    finally:
        sub.close()


async def _restart_quietly(
    mosquitto: LocalMosquitto, config: Any, hosts: FakeHosts, restart: int
) -> None:
    """A restart: the printer home, the phone away, and not one presence event."""
    printer_id = PRINTER[1].replace(":", "")
    sub = connect_subscriber(mosquitto.port)
    try:
        async with _running(config, hosts) as (service, _link):
            # Long enough for every probe, sighting and metrics window to have happened.
            assert await _until(lambda: _events(sub, "scan_finished"))
            await asyncio.sleep(2.0)
            assert _presence_events(sub) == [], restart
            state = _state(sub, printer_id)
            assert state is not None
            assert state["presence"] == "home"
            assert getattr(service.inventory.get(PHONE_ID), "status", None) == "not_home"
    finally:
        sub.close()


async def test_a_dozer_learns_its_rhythm_and_a_leaver_still_leaves(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    """Silent 1.5 s, awake 0.5 s, with consider_home 0.6 s: away the first cycles, then
    home and asleep through its dozes; the printer beside it leaves within its grace."""
    hosts = FakeHosts({PRINTER[0]: PRINTER[1], PHONE[0]: PHONE[1]})
    config = _config(mosquitto, tmp_path / "netmon.db")
    sub = connect_subscriber(mosquitto.port)
    try:
        async with _running(config, hosts) as (service, _link):
            assert await _until(lambda: len(_presence_events(sub)) == 2)
            offline_after: list[int] = []
            sleeping_seen = False
            for cycle in range(6):
                hosts.down.add(PHONE[0])
                before = len(_events(sub, "device_offline"))
                for _ in range(15):
                    await asyncio.sleep(0.1)
                    sleeping_seen |= bool((_state(sub, PHONE_ID) or {}).get("sleeping"))
                if len(_events(sub, "device_offline")) > before:
                    offline_after.append(cycle)
                hosts.down.discard(PHONE[0])
                await asyncio.sleep(0.5)
            # Three gaps learned, then no more away verdicts.
            assert offline_after == [0, 1, 2]
            assert sleeping_seen
            state = _state(sub, PHONE_ID)
            assert state is not None
            assert state["grace"] == "learned"
            assert 1.5 * 1.5 <= state["grace_s"] <= 1.5 * 1.9 * 1.5
            # The printer, which never dozed, leaves within consider_home plus a cycle.
            printer_id = PRINTER[1].replace(":", "")
            left_at = asyncio.get_running_loop().time()
            hosts.down.add(PRINTER[0])
            assert await _until(lambda: ("device_offline", printer_id) in _presence_events(sub))
            assert asyncio.get_running_loop().time() - left_at <= 2.0
            assert service.inventory.get(PHONE_ID).gaps  # type: ignore[union-attr]
    finally:
        sub.close()


async def test_a_phone_on_a_new_private_mac_stays_one_device(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    hosts = FakeHosts({PRINTER[0]: PRINTER[1]})
    config = _config(mosquitto, tmp_path / "netmon.db")
    private = "da:a1:19:4c:22:9e"
    sub = connect_subscriber(mosquitto.port)
    try:
        async with _running(config, hosts) as (service, link):
            assert await _until(lambda: _events(sub, "scan_finished"))
            hosts.macs[PHONE[0]] = PHONE[1]
            link.dhcp_request(INTERFACE, PHONE[1], PHONE[0], "pixel-7", "android-dhcp-14")
            assert await _until(lambda: _joined(sub) == [PHONE_ID])
            hosts.macs["127.78.0.51"] = private
            del hosts.macs[PHONE[0]]
            link.dhcp_request(INTERFACE, private, "127.78.0.51", "pixel-7", "android-dhcp-14")
            assert await _until(
                lambda: getattr(service.inventory.get(PHONE_ID), "mac", 0) == private
            )
            await asyncio.sleep(1.0)
            assert _joined(sub) == [PHONE_ID]
            assert [d.id for d in service.inventory.devices()] == [
                PRINTER[1].replace(":", ""),
                PHONE_ID,
            ]
            info = sub.latest(TOPICS.device_info(PHONE_ID))
            assert info is not None
            linked = info.json()["linked_macs"]
            assert linked == {private: "DHCP host name 'pixel-7', parameter list and vendor class"}
            config_message = sub.latest(TOPICS.device_config(PHONE_ID))
            assert config_message is not None
            connections = config_message.json()["device"]["connections"]
            assert connections == [["mac", private], ["mac", PHONE[1]]]
            assert sub.latest(TOPICS.device_config(private.replace(":", ""))) is None
            # Still home, no offline/online flap from the change of MAC.
            await asyncio.sleep(1.0)
            phone_events = [e for e in _presence_events(sub) if e[1] == PHONE_ID]
            assert phone_events == [("device_online", PHONE_ID)]
            # And the user can split it off again, with clear errors for bad requests.
            _request(mosquitto.port, "device/unmerge", {"id": PHONE_ID, "mac": "nonsense"})
            _request(mosquitto.port, "device/unmerge", {"id": PHONE_ID, "mac": PHONE[1]})
            _request(
                mosquitto.port,
                "device/unmerge",
                {"id": PHONE_ID, "mac": private, "transaction": "t1"},
            )
            answer = await _until(lambda: _response(sub, "device/unmerge", "t1"))
            assert answer["status"] == "ok", answer
            assert answer["data"]["mac"] == PHONE[1]
            errors = [m.json() for m in sub.on("netmon/bridge/response/device/unmerge")][:2]
            assert [e["status"] for e in errors] == ["error", "error"]
            assert "expected a MAC address" in errors[0]["error"]
            assert f"{PHONE[1]} is not linked" in errors[1]["error"]
    finally:
        sub.close()


async def test_merge_by_request_and_forget_after_days(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    hosts = FakeHosts({PRINTER[0]: PRINTER[1], PHONE[0]: PHONE[1]})
    # Forgotten after 3 s unseen (1/28800 of a day).
    config = _config(mosquitto, tmp_path / "netmon.db", forget_after_days=3 / 86400)
    printer_id = PRINTER[1].replace(":", "")
    sub = connect_subscriber(mosquitto.port)
    try:
        async with _running(config, hosts) as (service, _link):
            assert await _until(lambda: len(_presence_events(sub)) == 2)
            _request(mosquitto.port, "device/merge", {"id": PHONE_ID, "into": PHONE_ID})
            _request(
                mosquitto.port,
                "device/merge",
                {"id": PHONE_ID, "into": printer_id, "transaction": "m"},
            )
            answer = await _until(lambda: _response(sub, "device/merge", "m"))
            assert answer["status"] == "ok", answer
            assert answer["data"]["linked_macs"] == {PHONE[1]: "merged by request"}
            first = sub.on("netmon/bridge/response/device/merge")[0].json()
            assert first["error"] == "id and into name the same device"
            assert [d.id for d in service.inventory.devices()] == [printer_id]
            removed = _events(sub, "device_removed")
            assert removed[0]["data"] == {"id": PHONE_ID, "reason": f"merged into {printer_id}"}
            # Gone for good: forgotten, and its discovery config withdrawn.
            hosts.down.add(PRINTER[0])
            await _until(lambda: _events(sub, "device_offline"))
            await asyncio.sleep(3.2)
            await service.retention.flush()  # the periodic flush would take up to a minute
            assert await _until(lambda: len(_events(sub, "device_removed")) == 2)
            assert _events(sub, "device_removed")[1]["data"]["reason"] == ("not seen for 3 s")
            # Its triggers are withdrawn first, then its config is cleared.
            assert await _until(
                lambda: getattr(sub.latest(TOPICS.device_config(printer_id)), "payload", 0) == ""
            )
    finally:
        sub.close()
