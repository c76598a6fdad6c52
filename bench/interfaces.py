"""Interface poll benchmark: one read of a 48-port switch's interface tables.

    sudo uv run python bench/interfaces.py [--ports 48] [--runs 20]

A simulated switch: a private network namespace with ``--ports`` interfaces (veth links
whose peers sit in a second namespace, up, with real kernel counters) and a real net-snmp
agent on its loopback. Side by side, in
one run, against the same agent: netmon-mqtt's poll (``SnmpIdentifier.read_interfaces``:
every ifTable and ifXTable column it uses, GETBULK of 24 rows, all columns at once) and
net-snmp's own ``snmpbulkwalk`` of the whole ifTable and ifXTable (-Cr24), the established
tool. Reports wall time and CPU time per poll. Needs root; sends nothing outside the
namespace it creates, and removes it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netmon_mqtt.identify.credentials import SnmpCredential  # noqa: E402
from netmon_mqtt.identify.snmp import STATIC_EVERY, SnmpIdentifier  # noqa: E402
from netmon_mqtt.models import Device  # noqa: E402
from tests.tools.snmpd import remove_folders, start_snmpd  # noqa: E402

IF_TABLE, IFX_TABLE = "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"


Timings = tuple[list[float], list[float], int]


async def _netmon(runs: int) -> tuple[Timings, Timings]:
    """Full reads (the first poll of an agent, then every STATIC_EVERY-th) and counter-only
    reads (the others), measured apart."""
    now = datetime.now(UTC)
    switch = Device(id="switch", mac=None, ip="127.0.0.1", first_seen=now, last_seen=now)
    reader = SnmpIdentifier((SnmpCredential(community="public"),), timeout=2.0)
    assert await reader.identify(switch) is not None, "the agent does not answer"
    full: Timings = ([], [], 0)
    counters: Timings = ([], [], 0)
    for poll in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        reading = await reader.read_interfaces(switch)
        kind = full if poll % STATIC_EVERY == 0 else counters
        kind[0].append(time.perf_counter() - wall)
        kind[1].append(time.process_time() - cpu)
        assert reading is not None
        if poll % STATIC_EVERY == 0:
            full = (full[0], full[1], len(reading.interfaces))
        else:
            counters = (counters[0], counters[1], len(reading.interfaces))
    reader.close()
    return full, counters


def _snmpbulkwalk(runs: int) -> Timings:
    walls, cpus, rows = [], [], 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        lines = 0
        for table in (IF_TABLE, IFX_TABLE):
            out = subprocess.run(
                ["snmpbulkwalk", "-v2c", "-c", "public", "-Cr24", "-On", "127.0.0.1", table],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            lines += len(out.splitlines())
        walls.append(time.perf_counter() - wall)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        rows = lines
    return walls, cpus, rows


def _inner(runs: int) -> None:
    """Inside the namespace: the agent, then both pollers."""
    agent, _folder = start_snmpd([], "127.0.0.1", community="public", name="bench-switch")
    try:
        time.sleep(1.0)
        full, counters = asyncio.run(_netmon(runs))
        walk = _snmpbulkwalk(runs)
    finally:
        agent.terminate()
        agent.wait(10)
        remove_folders()
    print("| poller | interfaces / values read | wall ms p50 / max | CPU ms p50 / max |")
    print("|---|---|---|---|")
    for name, (walls, cpus, rows), unit in (
        ("netmon-mqtt, full read (every 10th poll)", full, "interfaces, 15 columns"),
        ("netmon-mqtt, counters and status (other polls)", counters, "interfaces, 7 columns"),
        ("snmpbulkwalk ifTable + ifXTable (net-snmp)", walk, "values"),
    ):
        print(
            f"| {name} | {rows} {unit} | {statistics.median(walls) * 1e3:.1f} / "
            f"{max(walls) * 1e3:.1f} | {statistics.median(cpus) * 1e3:.1f} / "
            f"{max(cpus) * 1e3:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", type=int, default=48)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        _inner(args.runs)
        return
    if os.geteuid() != 0:
        raise SystemExit("needs root (a network namespace)")
    namespace = f"nmbif{os.getpid() % 100000}"
    peers = f"{namespace}-peers"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    subprocess.run(["ip", "netns", "add", peers], check=True)
    try:
        ports = range(1, args.ports + 1)
        links = ["link set lo up"]
        links += [f"link add port{n} type veth peer name peer{n} netns {peers}" for n in ports]
        links += [f"link set port{n} up" for n in ports]
        subprocess.run(
            ["ip", "-n", namespace, "-batch", "-"], input="\n".join(links) + "\n",
            text=True, check=True,
        )  # fmt: skip
        print(f"### One poll of a {args.ports}-port switch (net-snmp agent), {args.runs} runs")
        subprocess.run(
            ["ip", "netns", "exec", namespace, sys.executable, __file__, "--inner",
             "--runs", str(args.runs)],
            check=True,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
        subprocess.run(["ip", "netns", "del", peers], check=False)


if __name__ == "__main__":
    main()
