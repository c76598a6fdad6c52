"""Faults a monitor meets in months unattended: the broker restarting empty, the power going
during writes, a broken database, disk or configuration file, the broker port taken.

The command-line cases run ``netmon-mqtt run`` inside a private network and mount
namespace (``unshare``; root): only a loopback exists there, so nothing can leave even if
the service got further than it should, and the read-only and full disks are tmpfs mounts
that vanish with the namespace."""

from __future__ import annotations

import asyncio
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netmon_mqtt.inventory.store import Store

from .conftest import require
from .inprocess import InProcess
from .mqtt_tools import (
    LocalMosquitto,
    Received,
    Subscriber,
    connect_subscriber,
    open_subscriber,
)
from .tools.fake_service import hosts
from .waiting import wait_until

ROOT = Path(__file__).parent.parent
NETWORK = "10.94.0.0/24"  # routed: no such network inside the empty namespace


def _isolated(script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``script`` (bash) in a private network and mount namespace, loopback up."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None, "needs root and unshare")
    return subprocess.run(
        ["unshare", "--net", "--mount", "bash", "-euc", f"ip link set lo up\n{script}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def _netmon(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "netmon_mqtt", *args])


def _one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The run failed with one line (besides the start-up summary at info) saying each of
    ``expected``, exit status 2 and no traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 2, output
    lines = [line for line in output.splitlines() if line.strip() and " INFO " not in line]
    assert len(lines) == 1, lines
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _run(database: Path, *extra: str) -> str:
    # An unused broker port: the database fails first; nothing may get that far anyway.
    args = ["run", "--network", NETWORK, "--broker", "mqtt://127.0.0.1:9", "--database"]
    return _netmon(*args, str(database), *extra)


def test_a_corrupt_database_is_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "netmon.db"
    database.write_bytes(random.Random(5).randbytes(8192))
    line = _one_clear_line(_isolated(_run(database)), str(database), "not a database")
    assert "move the file away" in line


def test_more_than_two_slash_16_to_sweep_is_one_clear_line(tmp_path: Path) -> None:
    """Each network no larger than a /16, but three of them: refused before anything starts
    (in an empty network namespace all the same)."""
    networks = [arg for n in range(3) for arg in ("--network", f"10.{n}.0.0/16")]
    database = str(tmp_path / "never.db")
    args = ["run", "--broker", "mqtt://127.0.0.1:9", "--database", database, *networks]
    line = _one_clear_line(_isolated(_netmon(*args)), "196608 addresses", "(two /16)")
    assert line.startswith("netmon-mqtt: configuration error: networks:"), line


def test_a_database_on_a_read_only_disk_is_one_clear_line(tmp_path: Path) -> None:
    disk = tmp_path / "ro"
    disk.mkdir()
    database = disk / "netmon.db"
    script = f"mount -t tmpfs -o ro,size=1m tmpfs {disk}\n{_run(database)}"
    line = _one_clear_line(_isolated(script), str(database), "Read-only file system")
    assert "may write them (on a writable disk)" in line


def test_a_database_whose_directory_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    database = tmp_path / "afile" / "netmon.db"
    _one_clear_line(_isolated(_run(database)), str(database), "or choose another --database")


def test_a_full_disk_is_one_clear_line(tmp_path: Path) -> None:
    disk = tmp_path / "full"
    disk.mkdir()
    database = disk / "netmon.db"
    fill = f"dd if=/dev/zero of={disk}/fill bs=4k 2>/dev/null || true"
    script = f"mount -t tmpfs -o size=64k tmpfs {disk}\n{fill}\n{_run(database)}"
    line = _one_clear_line(_isolated(script), str(database), "disk is full")
    assert "free space on its disk" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ("cannot read", "No such file or directory", "netmon.example.yaml")),
        (b"networks: [10.94.0.0/24\n", ("is not valid YAML", "line 2, column 1", "fix it")),
        (b"networks:\n\t- 10.94.0.0/24\n", ("is not valid YAML", "line 2, column 1")),
        (b"\xff\xfe\x00n", ("cannot read", "not UTF-8 text")),
    ],
    ids=["missing", "unclosed", "tab", "binary"],
)
def test_a_broken_or_missing_configuration_file_is_one_clear_line(
    tmp_path: Path, text: bytes | None, expected: tuple[str, ...]
) -> None:
    config = tmp_path / "netmon.yaml"
    if text is not None:
        config.write_bytes(text)
    database = tmp_path / "netmon.db"
    script = f"{_netmon('run', '--config', str(config), '--database', str(database))}"
    _one_clear_line(_isolated(script), str(config), "configuration error", *expected)
    check = _isolated(_netmon("check-config", str(config)))
    _one_clear_line(check, str(config), *expected)
    assert not database.exists()


def test_the_embedded_brokers_port_taken_is_one_clear_line(tmp_path: Path) -> None:
    holder = (
        "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 1883)); s.listen();"
        " time.sleep(60)"
    )
    script = (
        f"{shlex.join([sys.executable, '-c', holder])} & holder=$!\nsleep 0.5\n"
        f"set +e\n{_netmon('run', '--network', NETWORK, '--database', str(tmp_path / 'n.db'))}"
        "\nstatus=$?\nkill $holder\nexit $status"
    )
    line = _one_clear_line(_isolated(script), "mqtt://127.0.0.1:1883", "address already in use")
    assert "set mqtt.host to use it, or embedded_broker.port" in line


# The broker restarting empty -----------------------------------------------------------


def _retained(sub: Subscriber) -> dict[str, str]:
    return {m.topic: m.payload for m in sub.snapshot() if m.retained and m.payload}


# Topics whose payload moves on by itself (uptime, last seen, probe windows).
_MOVING = ("netmon/bridge/health", "netmon/bridge/info", "netmon/bridge/devices")


def _steady(retained: dict[str, str]) -> dict[str, str]:
    return {t: p for t, p in retained.items() if t not in _MOVING and not _is_state(t)}


def _is_state(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 3 and parts[:2] == ["netmon", "device"]


async def _settled_retained(port: int, wanted: int = 1, timeout: float = 15) -> dict[str, str]:
    """The retained messages a new subscriber gets (a subscriber sees a message as
    retained only when it subscribes after it was published: so a new one each time),
    once there are at least ``wanted``."""
    deadline = time.monotonic() + timeout
    while True:
        sub = await open_subscriber(port)
        try:
            await asyncio.sleep(1.0)
            found = _retained(sub)
        finally:
            sub.close()
        if len(found) >= wanted or time.monotonic() > deadline:
            return found


async def test_a_broker_restarted_empty_gets_every_config_state_and_bridge_topic_back(
    running: InProcess, mosquitto: LocalMosquitto
) -> None:
    before = await _settled_retained(mosquitto.port)
    assert "netmon/bridge/state" in before and any(
        t.startswith("homeassistant/device/netmon_") for t in before
    ), sorted(before)
    mosquitto.stop()  # persistence is off: every retained message is gone
    await asyncio.sleep(0.5)
    mosquitto.start()
    started = time.monotonic()
    after = await _settled_retained(mosquitto.port, wanted=len(before), timeout=20)
    took = time.monotonic() - started
    assert sorted(after) == sorted(before), set(before) ^ set(after)
    assert _steady(after) == _steady(before)
    assert after["netmon/bridge/state"] == "online"
    assert took < 15, took
    answer = await running.ask("info", {})
    assert answer is not None and answer["status"] == "ok"


# SIGKILL while writing -----------------------------------------------------------------

HOSTS = 120


def _start_fake_service(database: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.tools.fake_service", str(database), str(port), str(HOSTS)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )


def _check_database(database: Path) -> None:
    with sqlite3.connect(f"file:{database}?mode=rw", uri=True) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT id, mac, ip FROM devices").fetchall()
        ips = [ip for _id, _mac, ip in rows]
        assert len(ips) == len(set(ips)), "one address, two devices"
        assert {mac for _id, mac, _ip in rows} <= set(hosts(HOSTS).values())
        for table in ("samples", "presence_changes"):
            twice = db.execute(
                f"SELECT device_id, at, COUNT(*) FROM {table} GROUP BY device_id, at "
                "HAVING COUNT(*) > 1"
            ).fetchall()
            assert twice == [], (table, twice[:3])


def test_sigkill_during_writes_leaves_a_clean_database_without_duplicates(
    mosquitto: LocalMosquitto, tmp_path: Path
) -> None:
    database, log = tmp_path / "netmon.db", tmp_path / "service.log"
    rng = random.Random(8)
    for _ in range(4):
        opened = log.read_text().count("Inventory holds") if log.exists() else 0
        process = _start_fake_service(database, mosquitto.port, log)
        try:  # killed once the database is open, in the first sweep or probing later
            assert wait_until(lambda n=opened: log.read_text().count("Inventory holds") > n, 30)
            time.sleep(rng.uniform(0.05, 2.0))
            assert process.poll() is None, log.read_text()
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        _check_database(database)

    sub = connect_subscriber(mosquitto.port, topic="netmon/bridge/devices")
    runs = log.read_text().count(" running")
    process = _start_fake_service(database, mosquitto.port, log)
    try:
        assert wait_until(lambda: log.read_text().count(" running") > runs, 30)

        def all_found() -> list[object] | None:
            latest: Received | None = sub.latest("netmon/bridge/devices")
            devices = latest.json() if latest else []
            return devices if len(devices) == HOSTS else None

        assert wait_until(all_found, 30), log.read_text()[-3000:]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0, log.read_text()[-3000:]
        sub.close()
    _check_database(database)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]

    async def reopened() -> int:
        store = Store(database)
        await store.open()  # the service's own code: opens and migrates cleanly
        try:
            return len(await store.load_devices())
        finally:
            await store.close()

    assert asyncio.run(reopened()) == HOSTS
