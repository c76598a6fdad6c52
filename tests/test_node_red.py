"""The example flow (``examples/node-red-flow.json``) in a real Node-RED 4, fed by the service.

The whole service runs in-process as in ``test_service_inprocess.py`` (every component real
but the link layer and the pinger, ``tests/fakes.py``), publishing to a real mosquitto. Its
retained device states are on the broker before Node-RED starts, so the flow's "who's home"
table can only have them from the retained messages. The test reads the table from outside,
through the flow's own HTTP endpoints, then makes a phone leave and come back and a new device
join, and presses the flow's "Scan now" inject through Node-RED's admin API.

Node-RED is installed by ``scripts/node-red`` (node-red at a pinned version, into .node-red/).
It listens on loopback only; the fake LAN (127.77.0.0/24) sends nothing anywhere.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.publish.topics import Topics

from .conftest import require
from .inprocess import InProcess, running
from .mqtt_tools import LocalMosquitto, Subscriber, free_port
from .waiting import until

ROOT = Path(__file__).resolve().parent.parent
FLOW = ROOT / "examples" / "node-red-flow.json"
NODE_RED = ROOT / "scripts" / "node-red"
TAB = "netmon_tab"
SCAN_BUTTON = "netmon_scan_button"

NETWORK = "127.77.0.0/24"
INTERFACE = "fake0"
PRINTER = ("127.77.0.20", "00:1b:a9:00:00:20")  # Brother: home before Node-RED starts
PHONE = ("127.77.0.50", "3c:22:fb:00:00:07")  # Apple: home before, then leaves and returns
LABELS = ("127.77.0.60", "00:1b:a9:00:00:60")  # Brother: joins while Node-RED watches
TOPICS = Topics()


def _id(device: tuple[str, str]) -> str:
    return device[1].replace(":", "")


@pytest.fixture(scope="module")
def node_red_installed() -> None:
    """Node-RED in .node-red/, installed by scripts/node-red on first use (about 30 s)."""
    have = shutil.which("node") is not None and shutil.which("npm") is not None
    require(have, "needs node (18.5 or newer) and npm to install Node-RED (scripts/node-red)")
    done = subprocess.run(
        [str(NODE_RED), "install"], capture_output=True, text=True, timeout=600, check=False
    )
    require(done.returncode == 0, f"scripts/node-red install failed: {done.stderr[-2000:]}")


@pytest.fixture
async def world(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    """The service with a printer and a phone at home, its start-up sweep published."""
    macs = dict([PRINTER, PHONE])
    async with running(
        mosquitto.port, tmp_path / "netmon.db", macs, network=NETWORK, topic="netmon/#"
    ) as world:
        assert world.observe is not None
        sub = world.observe.sub
        # Home with the first round trip (published at once after the sweep's sighting).
        assert await until(lambda: _measured(sub, PRINTER) and _measured(sub, PHONE)), [
            m.topic for m in sub.snapshot()
        ]
        yield world


def _home(sub: Subscriber, device: tuple[str, str]) -> bool:
    state = sub.latest(TOPICS.device_state(_id(device)))
    info = sub.latest(TOPICS.device_info(_id(device)))
    return info is not None and state is not None and state.json()["presence"] == "home"


def _measured(sub: Subscriber, device: tuple[str, str]) -> bool:
    state = sub.latest(TOPICS.device_state(_id(device)))
    return _home(sub, device) and state is not None and state.json()["latency_ms"] is not None


class NodeRed:
    """Node-RED on a free loopback port, with its own user folder, running ``flow``."""

    def __init__(self, folder: Path, flow: list[dict[str, Any]]) -> None:
        self.port = free_port()
        self.folder = folder
        self.log_path = folder / "node-red.log"
        folder.mkdir()
        flow_file = folder / "flows.json"
        flow_file.write_text(json.dumps(flow, indent=1))
        self.settings = folder / "settings.js"
        settings = {
            "uiHost": "127.0.0.1",
            "uiPort": self.port,
            "userDir": str(folder),
            "flowFile": str(flow_file),
            "credentialSecret": "netmon-test",
            "telemetry": {"enabled": False, "updateNotification": False},
            "diagnostics": {"enabled": False, "ui": False},
            "externalModules": {"autoInstall": False, "palette": {"allowInstall": False}},
            "functionExternalModules": False,
            "logging": {"console": {"level": "info", "metrics": False, "audit": False}},
        }
        self.settings.write_text(f"module.exports = {json.dumps(settings, indent=1)};\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(NODE_RED), "--settings", str(self.settings), "--userDir", str(self.folder)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _http(self, method: str, path: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError:
            return 0, ""  # not listening yet

    async def http(self, method: str, path: str) -> tuple[int, str]:
        assert self.proc is not None and self.proc.poll() is None, self.log()[-3000:]
        return await asyncio.to_thread(self._http, method, path)

    async def table(self) -> dict[str, Any] | None:
        """What the flow's GET /netmon/devices answers (None while the flow is not up)."""
        status, body = await self.http("GET", "/netmon/devices")
        return json.loads(body) if status == 200 else None

    async def wait_table(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        table = None
        while time.monotonic() < deadline:
            table = await self.table()
            if table is not None and predicate(table):
                return table
            await asyncio.sleep(0.2)
        raise AssertionError(f"the flow's table never matched: {table}\n{self.log()[-3000:]}")


@pytest.fixture
def node_red(node_red_installed: None, tmp_path: Path) -> Iterator[Callable[..., NodeRed]]:
    """Start Node-RED on a flow; stopped at teardown."""
    started: list[NodeRed] = []

    def start(flow: list[dict[str, Any]]) -> NodeRed:
        instance = NodeRed(tmp_path / f"node-red-{len(started)}", flow)
        started.append(instance)
        instance.start()
        return instance

    yield start
    for instance in started:
        instance.stop()


def _example_flow(broker_port: int) -> list[dict[str, Any]]:
    """The shipped flow with only its broker's port changed."""
    flow: list[dict[str, Any]] = json.loads(FLOW.read_text())
    brokers = [n for n in flow if n["type"] == "mqtt-broker"]
    assert [(b["broker"], b["port"]) for b in brokers] == [("127.0.0.1", "1883")]
    brokers[0]["port"] = str(broker_port)
    return flow


def _row(sub: Subscriber, device: tuple[str, str]) -> dict[str, Any] | None:
    """The row the flow should show for a device: what the service last published."""
    info = sub.latest(TOPICS.device_info(_id(device)))
    state = sub.latest(TOPICS.device_state(_id(device)))
    if info is None or state is None:
        return None
    return {
        "id": _id(device),
        **{k: info.json()[k] for k in ("name", "ip", "mac", "vendor", "device_type")},
        **{k: state.json()[k] for k in ("presence", "latency_ms", "last_seen", "reason")},
    }


def _rows(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in table["devices"]}


def _logged(table: dict[str, Any]) -> list[str]:
    """The flow's notifications, oldest first."""
    return [entry["text"] for entry in reversed(table["log"])]


async def test_the_example_flow_keeps_who_is_home_follows_events_and_scans(
    world: InProcess, node_red: Callable[..., NodeRed]
) -> None:
    assert world.observe is not None
    sub = world.observe.sub
    ids = (_id(PRINTER), _id(PHONE))
    device_topics = {t(i) for i in ids for t in (TOPICS.device_state, TOPICS.device_info)}
    # 1. Node-RED starts after the service published: the table comes from retained messages.
    before = len(sub.snapshot())
    started = time.monotonic()
    red = node_red(_example_flow(world.port))
    table = await red.wait_table(lambda t: len(t["devices"]) == 2, timeout=40)
    assert [m.topic for m in sub.snapshot()[before:] if m.topic in device_topics] == []
    assert _rows(table) == {_id(PRINTER): _row(sub, PRINTER), _id(PHONE): _row(sub, PHONE)}
    assert table["bridge"] == "online" and (table["home"], table["total"]) == (2, 2)
    assert table["log"] == [] and table["last_scan"] is None
    status, page = await red.http("GET", "/netmon")
    assert status == 200 and "<title>Who's home: 2 of 2</title>" in page
    assert all(f"<td>{row['name']}</td><td>home</td>" in page for row in table["devices"])
    print(f"Node-RED up with the retained table in {time.monotonic() - started:.1f} s")

    # 2. Live events: the phone leaves, a new device joins, the phone comes back.
    phone = _rows(table)[_id(PHONE)]["name"]
    world.hosts.down.add(PHONE[0])
    table = await red.wait_table(lambda t: _rows(t)[_id(PHONE)]["presence"] == "not_home")
    await red.wait_table(lambda t: _rows(t)[_id(PHONE)] == _row(sub, PHONE))
    away = _logged(await red.wait_table(lambda t: len(t["log"]) == 1))
    events = [m.json() for m in sub.on(TOPICS.bridge_event)]
    offline = [e for e in events if e["type"] == "device_offline"]
    assert away == [f"{phone} is away ({offline[0]['data']['reason']})"], offline
    assert away[0].startswith(f"{phone} is away (no answer for ")

    world.hosts.macs[LABELS[0]] = LABELS[1]
    world.link.dhcp_request(INTERFACE, LABELS[1], LABELS[0], "label-printer", "")
    table = await red.wait_table(lambda t: len(t["log"]) == 3 and len(t["devices"]) == 3)
    await red.wait_table(lambda t: _rows(t)[_id(LABELS)] == _row(sub, LABELS))
    labels = _row(sub, LABELS)
    assert labels is not None and labels["name"] == "label-printer"
    assert labels["presence"] == "home" and labels["vendor"] is not None
    vendor = labels["vendor"]
    events = [m.json() for m in sub.on(TOPICS.bridge_event)]
    online = [e for e in events if e["type"] == "device_online" and e["data"]["id"] == _id(LABELS)]
    assert online[0]["data"]["reason"] in ("arp answered", "arp_passive answered"), online
    assert _logged(table)[1:] == [
        f"New device: label-printer ({LABELS[0]}, {LABELS[1]}, {vendor})",
        f"label-printer is home ({online[0]['data']['reason']})",
    ]

    world.hosts.down.discard(PHONE[0])
    table = await red.wait_table(lambda t: _rows(t)[_id(PHONE)]["presence"] == "home")
    table = await red.wait_table(lambda t: len(t["log"]) == 4)
    assert _logged(table)[3].startswith(f"{phone} is home (")
    assert (table["home"], table["total"]) == (3, 3)

    # 3. "Scan now": the inject, pressed through the admin API, sends the request; the flow
    # shows the service's response.
    status, _ = await red.http("POST", f"/inject/{SCAN_BUTTON}")
    assert status == 200
    table = await red.wait_table(lambda t: t["last_scan"] is not None)
    requests = sub.on(f"{TOPICS.request_prefix}scan")
    assert [m.json() for m in requests] == [{"transaction": "node-red"}]
    responses = sub.on(TOPICS.response("scan"))
    assert len(responses) == 1 and table["last_scan"]["response"] == responses[0].json()
    answer = responses[0].json()
    assert answer["status"] == "ok" and answer["transaction"] == "node-red"
    assert answer["data"]["found"] == 3
    text = f"Scan: 3 devices in {answer['data']['duration_s']} s"
    assert table["last_scan"]["text"] == text and _logged(table)[-1] == text
    status, page = await red.http("GET", "/netmon")
    assert status == 200 and "<title>Who's home: 3 of 3</title>" in page
    assert f"netmon: online. {text}</p>" in page
    assert f"New device: label-printer ({LABELS[0]}, {LABELS[1]}, {vendor})</li>" in page

    # The flow loaded cleanly: nothing failed, and no node of the flow warned.
    log = red.log()
    assert "Started flows" in log, log[-3000:]
    problems = [line for line in log.splitlines() if re.search(r"\[error\]|\[warn\] \[", line)]
    assert problems == [], log[-3000:]
