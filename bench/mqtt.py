"""MQTT benchmark: message rate at steady state and probe-to-subscriber latency.

    uv run python bench/mqtt.py [--devices 1000] [--seconds 90]

The real monitor and publisher run against a real mosquitto on loopback, in a process of
their own (so that its memory and CPU are theirs alone); only the ICMP layer is simulated (no
packet is sent): every device answers each probe after 1 ms (reported as 1 ms or 3 ms in
turns of the monitor's metrics windows, so that every window differs from the last: the
worst case); replies are delivered the way the real batched pinger delivers them (at the
monitor's next wake-up, or at once for probes whose answer may change a presence). A
mosquitto_sub on ``#``, read by the parent process, records every message with its arrival
time.

Reported:
- messages per minute over a steady-state window of ``--seconds`` (after a warm-up), state
  messages against the target of one per device per ``metrics_interval``;
- latency from a probe result (a reply from a device that was away, or the timeout of a
  device that stopped answering) to the new presence on the subscriber: p50 / p95 / max;
- the measured process's peak memory (VmHWM) and CPU time per probe over the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netmon_mqtt.background import Supervisor  # noqa: E402
from netmon_mqtt.clock import utcnow  # noqa: E402
from netmon_mqtt.config import MqttConfig  # noqa: E402
from netmon_mqtt.events import EventBus  # noqa: E402
from netmon_mqtt.models import Device  # noqa: E402
from netmon_mqtt.monitor.service import Monitor, MonitorSettings  # noqa: E402
from netmon_mqtt.publish.homeassistant import (  # noqa: E402
    HomeAssistantDiscovery,
    HomeAssistantSettings,
)
from netmon_mqtt.publish.link import MqttLink  # noqa: E402
from netmon_mqtt.publish.publisher import Publisher  # noqa: E402
from netmon_mqtt.publish.topics import Topics  # noqa: E402
from tests.mqtt_tools import LocalMosquitto, connect_subscriber  # noqa: E402

RTT = 0.001
INTERVAL = 5.0
TIMEOUT = 1.0
METRICS_INTERVAL = 30.0
Done = Callable[[float | None], object]


@dataclass
class _Probe:
    ip: str
    done: Done
    arrives: float | None  # monotonic time of the reply, None: never
    deadline: float


def _rtt_ms(since_open: float) -> float:
    """1 ms, and 3 ms every other metrics window (the monitor's windows start when it opens
    its pinger): every window differs from the last, so every one is published (the worst
    case; a steady network publishes nothing until something changes)."""
    return RTT * 1000 * (3.0 if int(since_open / METRICS_INTERVAL) % 2 else 1.0)


class SimulatedPinger:
    """The batched pinger's interface over simulated devices (``down`` never answer)."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.watched: set[str] = set()  # the devices whose results are kept (the flipped)
        self.results: dict[str, list[tuple[float, bool]]] = {}  # ip -> (when, answered)
        self._pending: dict[int, _Probe] = {}
        self._seq = 0
        self.sent = 0
        self._opened = time.monotonic()

    def open(self) -> None:
        self._opened = time.monotonic()

    def close(self) -> None:
        self._pending.clear()

    def send(self, ip: str, timeout: float, done: Done, *, urgent: bool = False) -> None:
        now = time.monotonic()
        self._seq += 1
        self.sent += 1
        probe = _Probe(ip, done, None if ip in self.down else now + RTT, now + timeout)
        self._pending[self._seq] = probe
        if urgent:  # the real pinger reads replies as they arrive while one is pending
            loop = asyncio.get_running_loop()
            seq = self._seq
            at = probe.arrives if probe.arrives is not None else probe.deadline
            loop.call_at(loop.time() + (at - now), self._settle, seq)

    def poll(self) -> None:
        for seq in list(self._pending):
            self._settle(seq)

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._pending.values()), default=None)

    def _settle(self, seq: int) -> None:
        probe = self._pending.get(seq)
        if probe is None:
            return
        now = time.monotonic()
        if probe.arrives is not None and probe.arrives <= now:
            del self._pending[seq]
            if probe.ip in self.watched:
                self.results.setdefault(probe.ip, []).append((now, True))
            probe.done(_rtt_ms(now - self._opened))
        elif probe.deadline <= now:
            del self._pending[seq]
            if probe.ip in self.watched:
                self.results.setdefault(probe.ip, []).append((now, False))
            probe.done(None)


class _Devices:
    """The inventory as the monitor and the publisher use it (``last_seen`` moved per
    answer, as the inventory does)."""

    def __init__(self, devices: list[Device]) -> None:
        self._devices = {d.id: d for d in devices}

    def devices(self) -> list[Device]:
        return list(self._devices.values())

    def get(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    def heard(self, device_id: str, when: datetime) -> None:
        device = self._devices.get(device_id)
        if device is not None and when > device.last_seen:
            self._devices[device_id] = replace(device, last_seen=when)

    def last_seen(self, device_id: str) -> datetime | None:
        device = self._devices.get(device_id)
        return device.last_seen if device else None


def _devices(count: int) -> list[Device]:
    now = utcnow()
    devices = []
    for index in range(count):
        mac = f"02:00:00:00:{index >> 8:02x}:{index & 0xFF:02x}"
        ip = f"198.18.{index >> 8}.{index & 0xFF}"  # benchmark range; nothing is sent
        devices.append(
            Device(id=mac.replace(":", ""), mac=mac, ip=ip, first_seen=now, last_seen=now)
        )
    return devices


def _say(line: str) -> None:
    """A marker for the parent, with this process's monotonic clock (shared by both)."""
    print(f"{line} {time.monotonic():.6f}", flush=True)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _service(devices: list[Device], port: int, seconds: float, flips: int) -> dict[str, Any]:
    """The measured process: monitor, publisher and Home Assistant discovery over the
    simulated pinger; markers on stdout, results returned."""
    bus = EventBus()
    pinger = SimulatedPinger()
    victims = devices[:flips]
    pinger.watched = {d.ip or "" for d in victims}
    inventory = _Devices(devices)
    monitor = Monitor(
        bus,
        pinger,  # type: ignore[arg-type]
        MonitorSettings(INTERVAL, TIMEOUT, 0, METRICS_INTERVAL, wake_probe=False),
        inventory,
        loops=Supervisor(),  # the simulated pinger has no clock of its own
    )
    topics = Topics("netmon", "homeassistant", "bench")
    mqtt = MqttConfig(host="127.0.0.1", port=port, retained_wait=1.0)
    link = MqttLink(mqtt, "127.0.0.1", "netmon-bench", topics.bridge_state)
    parts: list[Publisher | HomeAssistantDiscovery | MqttLink] = [
        Publisher(link, topics, bus, inventory, lambda: {"version": "bench"}),
        HomeAssistantDiscovery(
            link, topics, bus, inventory, HomeAssistantSettings("homeassistant/status", 0, "bench")
        ),
        link,
    ]
    try:
        for part in parts:
            await part.start()
        await monitor.start()
        for device in devices:
            monitor.watch(device)
        # Every device probed and answered, then past the first metrics windows.
        await asyncio.sleep(INTERVAL + METRICS_INTERVAL + 5)
        cpu, sent = _cpu_s(), pinger.sent
        _say("WINDOW_START")
        await asyncio.sleep(seconds)
        _say("WINDOW_END")
        cpu, sent = _cpu_s() - cpu, pinger.sent - sent

        # Latency: devices stop answering, then answer again, a few per second.
        for device in victims:
            pinger.down.add(device.ip or "")
            await asyncio.sleep(0.05)
        await asyncio.sleep(INTERVAL + TIMEOUT + 2)
        for device in victims:
            pinger.down.discard(device.ip or "")
            await asyncio.sleep(0.05)
        await asyncio.sleep(INTERVAL + 2)
        return {
            "cpu_per_1000_probes": 1000 * cpu / max(sent, 1),
            "probes": sent,
            "peak_mb": _peak_mb(),
            "results": {ip: pinger.results.get(ip, []) for ip in pinger.watched},
        }
    finally:
        await monitor.stop()
        for part in reversed(parts):
            await part.stop()


def _child(args: argparse.Namespace) -> int:
    result = asyncio.run(_service(_devices(args.devices), args.port, args.seconds, args.flips))
    Path(args.child).write_text(json.dumps(result))
    return 0


def _observe(args: argparse.Namespace, port: int, out: Path) -> dict[str, Any]:
    """Run the measured process and record what a subscriber on ``#`` sees."""
    sub = connect_subscriber(port)
    command = [sys.executable, __file__, "--child", str(out), "--port", str(port)]
    command += ["--devices", str(args.devices), "--seconds", str(args.seconds)]
    command += ["--flips", str(args.flips)]
    marks: dict[str, int] = {}
    try:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            marks[line.split()[0]] = len(sub.snapshot())
        if proc.wait() != 0:
            raise RuntimeError(f"the measured process exited with {proc.returncode}")
        messages = sub.snapshot()
    finally:
        sub.close()
    result: dict[str, Any] = json.loads(out.read_text())
    window = messages[marks["WINDOW_START"] : marks["WINDOW_END"]]
    result["kinds"] = Counter(
        "state" if m.topic.count("/") == 2 and m.topic.startswith("netmon/device/") else m.topic
        for m in window
    )
    changes = messages[marks["WINDOW_END"] :]
    offline, online = [], []
    for device in _devices(args.devices)[: args.flips]:
        results = result["results"][device.ip or ""]
        lost = next(t for t, answered in results if not answered)
        back = next(t for t, answered in results if answered and t > lost)
        states = [
            (m.at, json.loads(m.payload)["presence"])
            for m in changes
            if m.topic == f"netmon/device/{device.id}"
        ]
        offline += [next(at for at, p in states if p == "not_home") - lost]
        online += [next(at for at, p in states if p == "home" and at > back) - back]
    result.update(window=args.seconds, offline=offline, online=online)
    return result


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * p95:.1f} / {1000 * ordered[-1]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--flips", type=int, default=100)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the measured process's output
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    broker = LocalMosquitto()
    broker.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            result = _observe(args, broker.port, Path(folder) / "result.json")
    finally:
        broker.stop()
    minutes = float(result["window"]) / 60
    kinds: Counter[str] = result["kinds"]
    target = args.devices * 60 / METRICS_INTERVAL
    print(
        f"### {args.devices} simulated devices, metrics_interval {METRICS_INTERVAL:.0f} s, "
        f"{result['window']:.0f} s window"
    )
    print("| messages | per minute | target |")
    print("|---|---|---|")
    print(f"| device state | {kinds['state'] / minutes:.0f} | <= {target:.0f} |")
    for topic, count in sorted(kinds.items()):
        if topic != "state":
            print(f"| {topic} | {count / minutes:.1f} | |")
    print(f"| all | {sum(kinds.values()) / minutes:.0f} | |")
    print()
    print("### The measured process (monitor, publisher, discovery, MQTT link)")
    print("| peak RSS MB | CPU s per 1000 probes | probes in the window |")
    print("|---|---|---|")
    print(f"| {result['peak_mb']:.0f} | {result['cpu_per_1000_probes']:.3f} | {result['probes']} |")
    print()
    print(f"### Probe result to subscriber ({args.flips} devices down, then up)")
    print("| transition | p50 / p95 / max ms | target p95 |")
    print("|---|---|---|")
    print(f"| away (probe timed out) | {_ms(result['offline'])} | < 50 |")
    print(f"| home (reply arrived) | {_ms(result['online'])} | < 50 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
