"""Discovery benchmark: netmon's ARP sweep against arp-scan and nmap on a namespace LAN.

    sudo uv run python bench/discovery.py [--sizes 253 1000] [--runs 5]

For each size a LAN of that many live hosts is built from network namespaces (a /24 for 254,
a /22 for 1000); every tool sweeps the whole network from the service namespace with its
neighbour cache flushed first, in turn, ``--runs`` times; netmon-mqtt as
``netmon-mqtt scan --methods arp`` (the sweep alone, as arp-scan does it, in a new process
each time, after one warm-up run so that its byte code is cached as after any
install). Reported per tool: median and worst wall time, CPU time (user + system of the
process), both against arp-scan's, peak RSS, and the share of live hosts found (worst run).
Needs root, arp-scan and nmap. Sends nothing outside the namespaces it builds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lan import NetnsLan, run  # noqa: E402

NETMON_CONFIG = """
discovery:
  neighbours: false
  passive: false
  icmp_sweep: false
  ipv6: false
  use_ssdp: false
  use_dns: false
"""


# As installed for a user: byte code cached (some shells and CI set PYTHONDONTWRITEBYTECODE,
# which would make every run compile every module again).
_CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Sample:
    """One run of one tool."""

    wall_s: float
    cpu_s: float
    rss_mb: float
    found: int


def measure(argv: list[str]) -> tuple[Sample, str]:
    """Run a command to completion, with its own resource usage from wait4."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=_CHILD_ENV
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _pid, status, usage = os.wait4(proc.pid, 0)
        errors.seek(0)
        error_text = errors.read()[-2000:]
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[4:]} exited with {proc.returncode}: {error_text}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, 0), out


def tools(lan: NetnsLan, config: Path) -> dict[str, tuple[list[str], str]]:
    """argv and the regex that extracts found addresses, per tool."""
    ns = lan.exec_args(lan.service_ns)
    return {
        "netmon-mqtt": (
            [
                *ns,
                sys.executable,
                "-m",
                "netmon_mqtt",
                "scan",
                lan.subnet,
                "--methods",
                "arp",
                "--json",
                "--config",
                str(config),
            ],
            r'"ip": "([\d.]+)"',
        ),
        "arp-scan": (
            [*ns, "arp-scan", "-q", "-I", "eth0", lan.subnet],
            r"^([\d.]+)\s+[0-9a-f:]{17}",
        ),
        "nmap -sn -PR": (
            [*ns, "nmap", "-sn", "-PR", "-n", lan.subnet],
            r"Nmap scan report for ([\d.]+)",
        ),
    }


def bench_size(size: int, runs: int) -> list[tuple[str, int, list[Sample]]]:
    subnet = "10.77.0.0/24" if size <= 253 else "10.77.0.0/22"
    lan = NetnsLan(size, tag="nmbench", subnet=subnet)
    results: list[tuple[str, int, list[Sample]]] = []
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(NETMON_CONFIG)
        try:
            lan.build()
            live = {h.ip for h in lan.hosts}
            samples: dict[str, list[Sample]] = {name: [] for name in tools(lan, config)}
            for argv, _pattern in tools(lan, config).values():
                measure(argv)  # warm-up, not counted: caches, byte code
            for _ in range(runs):
                for name, (argv, pattern) in tools(lan, config).items():
                    run("ip", "-n", lan.service_ns, "neigh", "flush", "all")
                    sample, out = measure(argv)
                    found = set(re.findall(pattern, out, re.MULTILINE)) & live
                    samples[name].append(
                        Sample(sample.wall_s, sample.cpu_s, sample.rss_mb, len(found))
                    )
            results = [(name, len(live), s) for name, s in samples.items()]
        finally:
            lan.destroy()
    return results


def report(size: int, results: list[tuple[str, int, list[Sample]]]) -> str:
    base = next((samples for name, _live, samples in results if name == "arp-scan"), None)
    lines = [
        f"### {size} live hosts, {len(results[0][2])} runs each",
        "| tool | wall s median / worst | x arp-scan (worst wall) | CPU s median "
        "| x arp-scan (CPU) | peak RSS MB | hosts found (worst run) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, live, samples in results:
        worst = min(s.found for s in samples)
        wall = max(s.wall_s for s in samples)
        cpu = statistics.median(s.cpu_s for s in samples)
        wall_ratio = cpu_ratio = "-"
        if base:
            wall_ratio = f"{wall / max(s.wall_s for s in base):.2f}"
            cpu_ratio = f"{cpu / statistics.median(s.cpu_s for s in base):.2f}"
        lines.append(
            f"| {name} | {statistics.median(s.wall_s for s in samples):.2f} / {wall:.2f} "
            f"| {wall_ratio} | {cpu:.2f} | {cpu_ratio} "
            f"| {max(s.rss_mb for s in samples):.0f} "
            f"| {worst}/{live} ({100 * worst / live:.1f}%) |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[253, 1000])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    for size in args.sizes:
        print(report(size, bench_size(size, args.runs)), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
