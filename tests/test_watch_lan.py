"""``netmon-mqtt watch`` in a real terminal (tmux) against the real service on a namespace LAN.

The screen is read with ``tmux capture-pane``, as a user would read it. With
``NETMON_WRITE_PICTURES=1`` the test also writes the README's picture, docs/images/watch.svg.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import require
from .lan import Host, NetnsLan
from .mqtt_tools import request
from .service_tools import ServiceWithBroker, start_with_broker
from .waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
ROLES = ("desk", "tv", "printer", "late")
PORT = 1883  # inside the service namespace
WIDTH, HEIGHT = 150, 14


class Terminal:
    """A tmux session of its own (own server socket) running one command."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.socket = f"netmon-watch-{os.getpid()}"
        self._tmux("kill-server", check=False)
        self._tmux(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "watch",
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            "-c",
            str(cwd),
            shlex.join(command),
        )

    def _tmux(self, *args: str, check: bool = True) -> str:
        # A COLUMNS/LINES in the test's environment (pytest's terminal) would override
        # the pane's size inside the view.
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False, env=env
        )
        if check and done.returncode:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "watch")

    def keys(self, *keys: str) -> None:
        """Type ``keys`` one at a time, as a person would."""
        for key in keys:
            self._tmux("send-keys", "-t", "watch", key)
            time.sleep(0.15)

    def wait(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.3)
        size = self._tmux("display", "-p", "-t", "watch", "#{window_width}x#{window_height}")
        raise AssertionError(f"{what} not on screen within {timeout} s ({size.strip()}):\n{screen}")

    def running(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "-L", self.socket, "has-session", "-t", "watch"],
                check=False,
                capture_output=True,
            ).returncode
            == 0
        )

    def close(self) -> None:
        self._tmux("kill-server", check=False)


def _row(screen: str, host: Host) -> str:
    """The table line showing ``host`` (by its address), or ""."""
    pattern = re.compile(rf"\s{re.escape(host.ip)}\s")
    return next((line for line in screen.splitlines() if pattern.search(line)), "")


def _table_ips(screen: str, lan: NetnsLan) -> list[str]:
    """The hosts' addresses in table order (one per line: a name may repeat it)."""
    pattern = re.compile(rf"\s({re.escape(lan.subnet.rsplit('.', 1)[0])}\.\d+)\s")
    found = (pattern.search(line) for line in screen.splitlines())
    return [m.group(1) for m in found if m and m.group(1) != lan.service_ip]


@pytest.fixture
def world(make_lan: type[NetnsLan], tmp_path: Path) -> Iterator[tuple[NetnsLan, ServiceWithBroker]]:
    require(shutil.which("tmux") is not None, "needs tmux to run the terminal view")
    lan = make_lan(len(ROLES), roles=ROLES, subnet="10.95.0.0/24").build()
    lan.take_down(lan.host("late"))  # joins while the view is open
    running = start_with_broker(lan, tmp_path, PORT, discovery_interval=3600)
    try:
        yield lan, running
    finally:
        running.close()


@pytest.mark.netns
def test_watch_shows_the_lan_live_sorts_filters_and_marks_changes(
    world: tuple[NetnsLan, ServiceWithBroker], tmp_path: Path
) -> None:
    lan, running = world
    present = [lan.host(r) for r in ROLES[:3]]
    sub, ns = running.sub, lan.exec_args(lan.service_ns)

    def home(host: Host) -> bool:
        state = sub.latest(f"netmon/device/{host.device_id}")
        return bool(state and state.json()["presence"] == "home")

    assert wait_until(lambda: all(home(h) for h in present), 60), running.service.log()[-3000:]

    command = [
        *ns,
        sys.executable,
        "-m",
        "netmon_mqtt",
        "watch",
        "--broker",
        f"mqtt://127.0.0.1:{PORT}",
        "--screenshots",
        str(tmp_path),
    ]
    term = Terminal(command, tmp_path)
    try:
        # Every host that is home, with its latency; the bridge in the status line.
        screen = term.wait(
            lambda s: (
                all(" home " in _row(s, h) and " ms " in _row(s, h) for h in present)
                and "bridge online" in s
                and "3/3 home" in s
                and "healthy" in s
            ),
            30,
            "three hosts home with a latency and the bridge's health",
        )
        assert _row(screen, lan.host("late")) == ""

        # The latency history: the windows the service stored, steady ones too (read again
        # once per metrics window), one mark each. The wait ends when three are shown; the
        # bound only catches a history that never grows.
        term.wait(
            lambda s: len(re.findall(r"[▁▂▃▄▅▆▇█·]", _row(s, present[0]))) >= 3,
            120,
            "a latency history of at least three windows",
        )

        # Sorting: by address (s: name -> ip), then reversed.
        term.keys("s")
        screen = term.wait(lambda s: "sort ip ↑" in s, 5, "sort by ip")
        ips = [h.ip for h in present]
        assert _table_ips(screen, lan) == sorted(ips, key=lambda ip: int(ip.rsplit(".", 1)[1]))
        term.keys("r")
        screen = term.wait(lambda s: "sort ip ↓" in s, 5, "reversed sort")
        assert _table_ips(screen, lan) == sorted(
            ips, key=lambda ip: int(ip.rsplit(".", 1)[1]), reverse=True
        )

        # Filtering: only the printer, then everything again.
        printer = lan.host("printer")
        term.keys("/")
        term.keys(*printer.ip, "Enter")
        screen = term.wait(
            lambda s: "1 shown" in s and "Filter" in s, 5, "the filter applied to one row"
        )
        assert _table_ips(screen, lan) == [printer.ip]
        # Nobody acknowledged it: marked unknown; the a key acknowledges the selected row.
        assert "? unk" in _row(screen, printer)
        term.keys("a")
        term.wait(lambda s: "? unk" not in _row(s, printer), 10, "the printer acknowledged")
        term.keys("Escape")
        screen = term.wait(lambda s: len(_table_ips(s, lan)) == 3, 5, "all rows back")
        assert "filter '" not in screen

        # A host that leaves is shown away and marked as changed.
        leaver = lan.host("tv")
        lan.take_down(leaver)
        term.wait(
            lambda s: " away " in _row(s, leaver) and "● chg" in _row(s, leaver),
            40,
            "the leaver away and marked changed",
        )

        # A host that joins (a scan finds it) appears marked as new.
        late = lan.host("late")
        lan.bring_up(late)
        answer = request(sub, ns, PORT, "scan", {})
        assert answer is not None and answer["status"] == "ok", answer
        screen = term.wait(
            lambda s: "★ new" in _row(s, late), 40, "the host that joined marked as new"
        )

        # It names itself with escape sequences (clear the screen, set the title) and a bell:
        # the view, the published info (what Home Assistant reads) and `devices` show text.
        hostile = "\x1b[2J\x1b]0;owned\x07evil-laptop"
        lan.netns_exec(
            late, sys.executable, str(ROOT / "tests" / "tools" / "send_frames.py"), "dhcp",
            "eth0", late.mac, hostile, "x", late.ip,
        )  # fmt: skip
        screen = term.wait(lambda s: "evil-laptop" in _row(s, late), 20, "the name as text")
        assert "netmon-mqtt" in screen and "bridge online" in screen  # nothing was cleared
        assert "owned" not in term._tmux("display", "-p", "-t", "watch", "#{pane_title}")
        info = sub.latest(f"netmon/device/{late.device_id}/info")
        assert info is not None and "evil-laptop" in info.json()["dhcp_hostname"]
        assert not re.search(r"[\x00-\x1f\x7f]", info.payload), info.payload
        listed = subprocess.run(
            [sys.executable, "-m", "netmon_mqtt", "devices", "--database",
             str(tmp_path / "netmon.db")],
            capture_output=True, text=True, check=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert "evil-laptop" in listed.stdout, listed.stdout
        assert "UNKNOWN" in listed.stdout and "unknown (acknowledge them" in listed.stdout
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", listed.stdout), listed.stdout

        # The x key saves a picture of the screen.
        term.keys("x")
        picture = tmp_path / "netmon-watch.svg"
        assert wait_until(picture.exists, 10), term.screen()
        svg = picture.read_text()
        text = html.unescape(svg).replace("\xa0", " ")
        assert svg.lstrip().startswith("<svg") and "netmon-mqtt watch" in text
        assert all(h.ip in text for h in lan.hosts)
        if os.environ.get("NETMON_WRITE_PICTURES") == "1":
            (ROOT / "docs" / "images").mkdir(exist_ok=True)
            shutil.copy(picture, ROOT / "docs" / "images" / "watch.svg")

        term.keys("q")
        assert wait_until(lambda: not term.running(), 10), term.screen()
    finally:
        term.close()
