"""Recorder benchmark: what netmon's entities cost Home Assistant's database.

    sudo uv run python bench/recorder.py [--minutes 5] [--code PATH ...]

For each checkout of netmon-mqtt given with ``--code`` (default: this one), a namespace LAN
of hosts is built: half answer at once (a wired LAN: veth round trips of 0.02-0.06 ms), half
through a userspace responder after 4 +- 3 ms (a Wi-Fi-like link). The service runs with the
default metrics interval (30 s) against a real mosquitto, and a real Home Assistant (the
current release, from scripts/ha-current) records everything with its recorder. After a
warm-up, the state rows the recorder writes for each host's entities are counted over
``--minutes`` of steady state and reported per host per day, with the entities enabled per
host. Needs root; sends nothing outside the namespaces it builds.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.ha_tools import HomeAssistant, available, wait_for  # noqa: E402
from tests.lan import NetnsLan  # noqa: E402
from tests.mqtt_tools import LocalMosquitto  # noqa: E402
from tests.service_tools import write_config  # noqa: E402

PORT = 1883
HASS_PORT = 8123
WARMUP = float(os.environ.get("NETMON_BENCH_WARMUP", "90"))
HOSTS = 6
TOOLS = ROOT / "tests" / "tools"


def _service(lan: NetnsLan, code: Path, config: Path, log: Path) -> subprocess.Popen[str]:
    """The service of the checkout ``code`` (its own package first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "netmon_mqtt", "run", "--config", str(config)]
    with log.open("w") as out:
        return subprocess.Popen(
            lan.exec_args(lan.service_ns, *command),
            cwd=code, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip


def _rows(hass: HomeAssistant, since: float) -> dict[str, int]:
    with sqlite3.connect(f"file:{hass.recorder_db}?mode=ro", uri=True) as db:
        return dict(
            db.execute(
                "SELECT m.entity_id, COUNT(*) FROM states s JOIN states_meta m "
                "ON s.metadata_id = m.metadata_id WHERE s.last_updated_ts >= ? "
                "GROUP BY m.entity_id",
                (since,),
            ).fetchall()
        )


def measure(code: Path, minutes: float, folder: Path) -> dict[str, tuple[float, float, float]]:
    """Per kind of link: (entities enabled per host, rows per host per day: latency, all)."""
    lan = NetnsLan(HOSTS, tag=f"nmr{os.getpid() % 100000}", subnet="10.71.0.0/24").build()
    processes: list[subprocess.Popen[str]] = []
    broker = LocalMosquitto(PORT, prefix=lan.exec_args(lan.service_ns))
    hass = HomeAssistant(lan, folder / "ha", HASS_PORT, PORT)
    try:
        wifi = lan.hosts[HOSTS // 2 :]
        for host in wifi:
            lan.sysctl(host, "net.ipv4.icmp_echo_ignore_all", "1")
            script = [sys.executable, str(TOOLS / "icmp_delay.py"), "4", "3"]
            processes.append(lan.popen(host.namespace, script, stdout=subprocess.PIPE))
        broker.start()
        config = folder / "netmon.yaml"
        write_config(config, [lan.subnet], folder / "netmon.db", broker_port=PORT,
                     embedded=False, metrics_interval=30, monitor_interval=5)  # fmt: skip
        processes.append(_service(lan, code, config, folder / "service.log"))
        hass.prepare()
        hass.start()
        hass.onboard()
        hass.wait_running()
        hass.add_mqtt()
        assert wait_for(lambda: len(hass.netmon_entities()) >= HOSTS, 120), hass.log()[-2000:]
        time.sleep(WARMUP)
        started = time.time()
        time.sleep(minutes * 60)
        time.sleep(3)
        rows, states = _rows(hass, started), hass.states()
        entities = hass.netmon_entities()
        per_day = 24 * 60 / minutes
        report = {}
        for kind, hosts in (("wired", lan.hosts[: HOSTS // 2]), ("Wi-Fi-like", wifi)):
            enabled = latency = total = 0.0
            for host in hosts:
                ids = entities.get(host.device_id, [])
                enabled += sum(1 for e in ids if e in states)
                latency += sum(rows.get(e, 0) for e in ids if e.endswith("_latency"))
                total += sum(rows.get(e, 0) for e in ids)
            n = len(hosts)
            report[kind] = (enabled / n, latency / n * per_day, total / n * per_day)
    except Exception:
        print(hass.log()[-4000:], file=sys.stderr)
        raise
    else:
        return report
    finally:
        hass.close()
        for process in processes:
            process.terminate()
            process.wait(20)
        broker.stop()
        lan.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--code", type=Path, action="append", help="a checkout of netmon-mqtt")
    args = parser.parse_args()
    if not available():
        print("needs the current Home Assistant: scripts/ha-current", file=sys.stderr)
        return 2
    results: dict[str, dict[str, tuple[float, float, float]]] = defaultdict(dict)
    for code in args.code or [ROOT]:
        with tempfile.TemporaryDirectory(prefix="netmon-recorder-") as folder:
            results[str(code)] = measure(code.resolve(), args.minutes, Path(folder))
    print(f"### Recorder rows per host per day ({args.minutes:g} min of steady state, per day)")
    print("| code | link | entities enabled | latency rows/day | all rows/day |")
    print("|---|---|---|---|---|")
    for code, report in results.items():
        for kind, (enabled, latency, total) in report.items():
            print(f"| {code} | {kind} | {enabled:g} | {latency:.0f} | {total:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
