"""Soak: the service in its default configuration on a namespace LAN for a long time.

    sudo uv run python bench/soak.py [--devices 1000] [--minutes 120] [--sample 60]
        [--history-days 0.02] [--out FILE] [--subnet CIDR] [--tag NAME]

A LAN of ``--devices`` live hosts is built (a /22 for more than 253); the real service runs in
its default configuration (every source on, the embedded broker) with only its networks,
database and history retention set, and a subscriber to everything on its broker. Every
``--sample`` seconds the process's resident memory, open file descriptors, CPU time and the
database's size on disk (with its WAL) are read. With a short retention (``--history-days
0.02`` is about 29 minutes; pruning runs hourly) the database must stop growing once the
first prune ran. Printed (and written to ``--out`` as it goes): one row per sample, then the
growth of memory and descriptors from the end of the warm-up (the first quarter) to the end,
with the goals (< 5 %), and the peak memory. Sends nothing outside the namespaces it builds.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lan import NetnsLan  # noqa: E402

GROWTH_GOAL_PCT = 5.0
PORT = 1883  # the embedded broker, inside the service namespace


@dataclass(frozen=True)
class Reading:
    """One sample of the service process."""

    minute: float
    rss_mb: float
    peak_mb: float
    fds: int
    cpu_s: float
    db_mb: float


def read(pid: int, database: Path, started: float) -> Reading:
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    db = sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))
    return Reading(
        minute=(time.monotonic() - started) / 60,
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        peak_mb=int(status["VmHWM"].split()[0]) / 1024,
        fds=len(os.listdir(f"/proc/{pid}/fd")),
        cpu_s=(int(fields[11]) + int(fields[12])) / ticks,
        db_mb=db / 1e6,
    )


def growth(readings: list[Reading], value: str) -> float:
    """Percent change of ``value`` from the end of the warm-up (first quarter) to the end,
    each side the mean of up to three samples (one sample is noise)."""
    start = len(readings) // 4
    before = [getattr(r, value) for r in readings[start : start + 3]]
    after = [getattr(r, value) for r in readings[-3:]]
    base = sum(before) / len(before)
    return 100 * (sum(after) / len(after) - base) / base if base else 0.0


def summary(readings: list[Reading], devices: int, found: int) -> list[str]:
    rss, fds = growth(readings, "rss_mb"), growth(readings, "fds")
    cpu = readings[-1].cpu_s - readings[0].cpu_s
    minutes = readings[-1].minute - readings[0].minute
    return [
        "",
        f"### Soak: {devices} devices, default configuration, {readings[-1].minute:.0f} minutes",
        "| measure | value | goal |",
        "|---|---|---|",
        f"| devices in the inventory | {found} of {devices} | all |",
        f"| RSS growth after warm-up | {rss:+.1f} % | < {GROWTH_GOAL_PCT:.0f} % |",
        f"| open descriptors growth after warm-up | {fds:+.1f} % | < {GROWTH_GOAL_PCT:.0f} % |",
        f"| peak RSS | {max(r.peak_mb for r in readings):.1f} MB | |",
        f"| CPU | {100 * cpu / max(minutes * 60, 1):.1f} % of one core | |",
        f"| database at the end / largest | {readings[-1].db_mb:.1f} / "
        f"{max(r.db_mb for r in readings):.1f} MB | bounded by retention |",
    ]


def config(folder: Path, lan: NetnsLan, history_days: float) -> Path:
    path = folder / "netmon.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "networks": [lan.subnet],
                "database": str(folder / "netmon.db"),
                "history_days": history_days,
                "embedded_broker": {"host": "127.0.0.1", "port": PORT},
            }
        )
    )
    return path


def devices_found(database: Path) -> int:
    import sqlite3

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM devices").fetchone()[0])


def soak(args: argparse.Namespace) -> int:
    subnet = args.subnet or ("10.70.0.0/24" if args.devices <= 253 else "10.70.0.0/22")
    lan = NetnsLan(args.devices, tag=args.tag, subnet=subnet)
    out = open(args.out, "w") if args.out else None  # noqa: SIM115 (written as it goes)

    def emit(line: str) -> None:
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    readings: list[Reading] = []
    with tempfile.TemporaryDirectory(prefix="netmon-soak-") as name:
        folder = Path(name)
        database = folder / "netmon.db"
        log = (folder / "service.log").open("w")
        proc = None
        sub = None
        try:
            lan.build()
            command = [sys.executable, "-m", "netmon_mqtt", "run", "--config"]
            proc = lan.popen(
                lan.service_ns,
                [*command, str(config(folder, lan, args.history_days))],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            time.sleep(5)
            # A subscriber to everything, as Home Assistant or Node-RED would be.
            sub = subprocess.Popen(
                lan.exec_args(lan.service_ns, "mosquitto_sub", "-p", str(PORT), "-t", "#"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            emit("| minute | RSS MB | peak MB | open fds | CPU s | database MB |")
            emit("|---|---|---|---|---|---|")
            started = time.monotonic()
            deadline = started + args.minutes * 60
            pid = proc.pid  # ip netns exec execs the service: the same process
            while time.monotonic() < deadline and proc.poll() is None:
                r = read(pid, database, started)
                readings.append(r)
                emit(
                    f"| {r.minute:.1f} | {r.rss_mb:.1f} | {r.peak_mb:.1f} | {r.fds} "
                    f"| {r.cpu_s:.1f} | {r.db_mb:.2f} |"
                )
                time.sleep(min(args.sample, max(0.0, deadline - time.monotonic())))
            if proc.poll() is not None:
                emit(f"service exited with {proc.returncode}; log: {folder / 'service.log'}")
                return 1
            readings.append(read(pid, database, started))
            for line in summary(readings, args.devices, devices_found(database)):
                emit(line)
        finally:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if sub is not None:
                sub.terminate()
                sub.wait(10)
            log.close()
            lan.destroy()
            if out:
                out.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=120)
    parser.add_argument("--sample", type=float, default=60, help="seconds between samples")
    parser.add_argument("--history-days", type=float, default=0.02)
    parser.add_argument("--out", help="also write the table to this file, as it goes")
    parser.add_argument("--subnet", help="the LAN's network (default 10.70.0.0/24 or /22)")
    parser.add_argument("--tag", default="nmsoak", help="prefix of the LAN's namespaces")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    return soak(args)


if __name__ == "__main__":
    sys.exit(main())
