"""Monitoring benchmark: netmon-mqtt against fping doing the same job on a namespace LAN.

    sudo uv run python bench/monitor.py [--sizes 253 1000] [--seconds 60]

For each size a LAN of that many live hosts is built. Each tool then probes every host every
5 s for ``--seconds`` (after a warm-up): netmon-mqtt as the real service (publishing to a
mosquitto broker in the same namespace, monitoring every device it discovered), fping as
``fping -l -p 5000 -t 1000 -i 2 -Q 1 -q``.
Halfway through, one host is cut off the bridge; reported:
- CPU seconds per 1000 probes (user + system of the process over the window, from /proc);
- peak memory (VmHWM);
- time to detect the host that went down: netmon's ``device_offline`` event (with
  consider_home 0, so the first unanswered probe decides) against fping's first interval
  report showing the host with probes sent and none answered;
- state changes: netmon must report exactly one offline for the victim and none for others.
Needs root and fping. Sends nothing outside the namespaces it builds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lan import NetnsLan  # noqa: E402
from tests.mqtt_tools import (  # noqa: E402
    LocalMosquitto,
    connect_subscriber,
    request,
    wait_until,
)

PERIOD = 5.0
WARMUP = 15.0
PORT = 1883
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Result:
    """One tool at one size."""

    cpu_per_1000: float
    peak_mb: float
    detect_s: float | None
    false_changes: int


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_mb(pid: int) -> float:
    match = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def measure_window(
    pid: int, seconds: float, lan: NetnsLan, victim_down: threading.Event, victim_index: int
) -> tuple[float, float]:
    """CPU seconds over the window; the victim is cut off halfway. Returns (cpu, down_at)."""
    start = cpu_seconds(pid)
    time.sleep(seconds / 2)
    down_at = time.monotonic()
    lan.take_down(lan.hosts[victim_index])
    victim_down.set()
    time.sleep(seconds / 2)
    return cpu_seconds(pid) - start, down_at


def bench_netmon(lan: NetnsLan, seconds: float, folder: Path) -> Result:
    config = folder / "netmon.yaml"
    config.write_text(
        json.dumps(
            {
                "networks": [lan.subnet],
                "database": str(folder / "netmon.db"),
                "monitor_interval": PERIOD,
                "ping_timeout": 1.0,
                "consider_home": 0,
                "wake_probe": False,
                "metrics_interval": 30,
                "discovery_interval": 3600,
                "log_level": "warning",
                "discovery": {
                    "use_dns": False,
                    "use_ssdp": False,
                    "use_mdns": False,
                    "ipv6": False,
                },
                "mqtt": {"host": "127.0.0.1", "port": PORT},
            }
        )
    )
    ns = lan.exec_args(lan.service_ns)
    broker = LocalMosquitto(PORT, prefix=ns)
    broker.start()
    proc = subprocess.Popen(
        [*ns, sys.executable, "-m", "netmon_mqtt", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sub = None
    try:
        sub = connect_subscriber(PORT, ns, topic="netmon/bridge/#")
        total = len(lan.hosts)

        def online() -> int:
            info = sub.latest("netmon/bridge/info")  # type: ignore[union-attr]
            return int(info.json()["devices"]["online"]) if info else 0

        if not wait_until(lambda: online() >= total, 60, 0.5):
            # A host the start-up sweep missed would be found by the next scheduled sweep;
            # ask for it now, as a user would with "Scan now".
            print(
                f"note: {online()} of {total} online after the first sweep; scanning again",
                file=sys.stderr,
            )
            request(sub, ns, PORT, "scan", {"methods": ["arp"]}, timeout=60)
        if not wait_until(lambda: online() >= total, 60, 0.5):
            raise RuntimeError(f"netmon saw {online()} of {total} hosts online")
        time.sleep(WARMUP)
        events_before = len(sub.on("netmon/bridge/event"))
        cpu, down_at = measure_window(proc.pid, seconds, lan, threading.Event(), 0)
        victim = lan.hosts[0].device_id
        offline = [
            (m.at, m.json()["data"]["id"])
            for m in sub.on("netmon/bridge/event")[events_before:]
            if m.json()["type"] == "device_offline"
        ]
        detect = next((at - down_at for at, device in offline if device == victim), None)
        false_changes = sum(1 for _, device in offline if device != victim)
        probes = total * seconds / PERIOD
        return Result(1000 * cpu / probes, peak_mb(proc.pid), detect, false_changes)
    finally:
        if sub:
            sub.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        broker.stop()


def bench_fping(lan: NetnsLan, seconds: float) -> Result:
    ns = lan.exec_args(lan.service_ns)
    proc = subprocess.Popen(
        [
            *ns,
            "fping",
            "-l",
            "-p",
            str(int(PERIOD * 1000)),
            "-t",
            "1000",
            "-i",
            "2",
            "-Q",
            "1",
            "-q",
            *(h.ip for h in lan.hosts),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    victim_ip = lan.hosts[1].ip
    victim_down = threading.Event()
    detected: list[float] = []

    def read() -> None:
        assert proc.stderr is not None
        pattern = re.compile(rf"^{re.escape(victim_ip)}\s+: xmt/rcv/%loss = (\d+)/(\d+)/")
        for line in proc.stderr:
            match = pattern.match(line)
            if (
                match
                and victim_down.is_set()
                and not detected
                and int(match.group(1)) > 0
                and int(match.group(2)) == 0
            ):
                detected.append(time.monotonic())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        time.sleep(WARMUP)
        cpu, down_at = measure_window(proc.pid, seconds, lan, victim_down, 1)
        probes = len(lan.hosts) * seconds / PERIOD
        return Result(
            1000 * cpu / probes, peak_mb(proc.pid), detected[0] - down_at if detected else None, 0
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def run_size(size: int, seconds: float) -> dict[str, Result]:
    subnet = "10.77.0.0/24" if size <= 253 else "10.77.0.0/22"
    lan = NetnsLan(size, tag="nmbench", subnet=subnet)
    try:
        lan.build()
        with tempfile.TemporaryDirectory() as folder:
            netmon = bench_netmon(lan, seconds, Path(folder))
        lan.bring_up(lan.hosts[0])
        return {"netmon-mqtt": netmon, "fping -l": bench_fping(lan, seconds)}
    finally:
        lan.destroy()


def report(size: int, seconds: float, results: dict[str, Result]) -> str:
    lines = [
        f"### {size} hosts, one probe per host every {PERIOD:g} s, {seconds:g} s window",
        "| tool | CPU s per 1000 probes | peak memory MB | host down detected after s "
        "| false state changes |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        detect = f"{r.detect_s:.1f}" if r.detect_s is not None else "not detected"
        lines.append(
            f"| {name} | {r.cpu_per_1000:.3f} | {r.peak_mb:.0f} | {detect} | {r.false_changes} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[253, 1000])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    for size in args.sizes:
        print(report(size, args.seconds, run_size(size, args.seconds)), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
