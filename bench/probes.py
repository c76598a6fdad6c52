"""Several probes: what the central broker receives, and how fast a device changes hands.

    uv run python bench/probes.py [--probes 3] [--devices 200] [--shared 20] [--seconds 60]

Each probe is the whole service (in this process) on its own simulated LAN (the fake link
and pinger of ``tests/fakes.py``: nothing is sent on any network), with ``--devices`` hosts
of its own plus ``--shared`` hosts every probe sees (the same MACs), connected to its own
mosquitto, bridged to a central mosquitto with the shipped example configuration
(``config/mosquitto``). A mosquitto_sub on the central broker counts every message.

Reported:
- messages per minute at the central broker over a steady-state window of ``--seconds``,
  by kind (state, probes, info, discovery config, other), and retained topics held there;
- hand-over: the time from stopping the probe that owns the shared devices to the last of
  their discovery configs republished by the next probe, at the central broker.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netmon_mqtt.app import Service  # noqa: E402
from netmon_mqtt.config import validate  # noqa: E402
from netmon_mqtt.discovery.networks import Target  # noqa: E402
from netmon_mqtt.pipeline import Boundary  # noqa: E402
from netmon_mqtt.privileges import Privileges  # noqa: E402
from tests.fakes import FakeHosts, FakeLink, FakePinger, inprocess_config  # noqa: E402
from tests.mqtt_tools import (  # noqa: E402
    LocalMosquitto,
    Received,
    bridged_brokers,
    connect_subscriber,
)

METRICS_INTERVAL = 30


def _lan(index: int, devices: int, shared: int) -> tuple[str, dict[str, str]]:
    network = ipaddress.IPv4Network(f"127.{80 + index}.0.0/22")
    hosts: dict[str, str] = {}
    for n in range(devices + shared):
        ip = str(network.network_address + 2 + n)
        owner = 0xFF if n < shared else index  # shared hosts: the same MAC on every LAN
        hosts[ip] = f"02:{owner:02x}:00:00:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"
    return str(network), hosts


async def _start(
    name: str, index: int, port: int, folder: Path, args: argparse.Namespace
) -> tuple[Service, FakeHosts]:
    network, hosts = _lan(index, args.devices, args.shared)
    config = validate(
        inprocess_config(
            network,
            folder / f"{name}.db",
            port,
            instance_id=name,
            monitor_interval=5,
            ping_timeout=1,
            consider_home=180,
            metrics_interval=METRICS_INTERVAL,
            mqtt={
                "host": "127.0.0.1",
                "port": port,
                "retained_wait": 1.0,
                "birth_delay": 0,
                "base_topic": f"netmon/{name}",
            },
        )
    )
    fake = FakeHosts(hosts)
    link, pinger = FakeLink(fake), FakePinger(fake)
    boundary = Boundary(Privileges(raw=True, icmp=True), link, pinger, pinger)
    own = str(ipaddress.IPv4Network(network).broadcast_address - 1)
    target = Target(ipaddress.IPv4Network(network), f"fake{index}", own)
    service = Service(config, [target], boundary)
    await service.start()
    return service, fake


async def _vary(lans: list[FakeHosts]) -> None:
    """Every metrics window, every round trip moves between 1 and 20 ms."""
    for step in range(10**6):
        for hosts in lans:
            hosts.rtt_ms = 1.0 if step % 2 else 20.0
        await asyncio.sleep(METRICS_INTERVAL)


def _kind(message: Received) -> str:
    topic = message.topic
    if topic.startswith("homeassistant/"):
        return "discovery config"
    if topic.endswith("/probes") and "/device/" in topic:
        return "probes (merged presence)"
    if topic.endswith("/info"):
        return "info"
    if "/device/" in topic and topic.count("/") == 3:
        return "device state"
    return "other"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--probes", type=int, default=3)
    parser.add_argument("--devices", type=int, default=200, help="per probe, its own")
    parser.add_argument("--shared", type=int, default=20, help="seen by every probe")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--changing",
        action="store_true",
        help="round trips move between 1 and 20 ms each window: every window is news",
    )
    args = parser.parse_args()
    names = [f"p{i}" for i in range(args.probes)]
    folder = Path(tempfile.mkdtemp(prefix="netmon-bench-probes-"))
    central = LocalMosquitto()
    central.start()
    brokers = bridged_brokers(central, names)
    services: dict[str, Service] = {}
    varying: asyncio.Task[None] | None = None
    sub = connect_subscriber(central.port)
    try:
        lans: list[FakeHosts] = []
        for i, name in enumerate(names):
            services[name], hosts = await _start(name, i, brokers[name].port, folder, args)
            lans.append(hosts)
        varying = asyncio.create_task(_vary(lans)) if args.changing else None
        total = args.probes * args.devices + args.shared
        print(
            f"{args.probes} probes, {args.devices} devices each + {args.shared} shared "
            f"({total} devices); warming up"
        )
        await asyncio.sleep(METRICS_INTERVAL + 15)  # sweeps, identification, first windows
        start = len(sub.snapshot())
        await asyncio.sleep(args.seconds)
        window = sub.snapshot()[start:]
        per_minute = 60.0 / args.seconds
        counts = Counter(_kind(m) for m in window)
        retained = {m.topic for m in sub.snapshot() if m.payload}
        print()
        mode = "round trips changing every window" if args.changing else "round trips steady"
        print(f"### Central broker, {args.seconds:.0f} s of steady state, {mode}")
        print("| messages | per minute | per device per minute |")
        print("|---|---|---|")
        for kind, count in sorted(counts.items()):
            print(f"| {kind} | {count * per_minute:.0f} | {count * per_minute / total:.2f} |")
        print(f"| all | {len(window) * per_minute:.0f} | {len(window) * per_minute / total:.2f} |")
        print(f"\nretained topics at the central broker: {len(retained)}")

        # Hand-over: stop the owner of the shared devices (the lowest instance id).
        shared_configs = {
            f"homeassistant/device/netmon_02ff0000{n >> 8:02x}{n & 0xFF:02x}/config"
            for n in range(args.shared)
        }
        mark = len(sub.snapshot())
        stopped = time.monotonic()
        await services.pop(names[0]).stop()
        deadline = stopped + 30
        done_at = None
        while time.monotonic() < deadline:
            moved = {
                m.topic
                for m in sub.snapshot()[mark:]
                if m.topic in shared_configs and f"netmon/{names[1]}/bridge/state" in m.payload
            }
            if moved == shared_configs:
                done_at = time.monotonic()
                break
            await asyncio.sleep(0.02)
        print("\n### Hand-over of the shared devices when their owner stops")
        if done_at is None:
            print("not complete within 30 s")
        else:
            print(
                f"{args.shared} configs republished by {names[1]} within "
                f"{(done_at - stopped) * 1000:.0f} ms of the owner's stop"
            )
    finally:
        if varying is not None:
            varying.cancel()
        for service in services.values():
            await service.stop()
        sub.close()
        for broker in brokers.values():
            broker.stop()
        central.stop()


if __name__ == "__main__":
    asyncio.run(main())
