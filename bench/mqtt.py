"""MQTT benchmark: message rate at steady state and probe-to-subscriber latency.

    uv run python bench/mqtt.py [--devices 1000] [--seconds 90]

The real monitor and publisher run against a real mosquitto on loopback; only the ICMP layer
is simulated (no packet is sent): every device answers each probe after 1 ms, replies are
delivered the way the real batched pinger delivers them (at the monitor's next wake-up, or
at once for probes whose answer may change a presence). A mosquitto_sub on ``#`` records
every message with its arrival time.

Reported:
- messages per minute over a steady-state window of ``--seconds`` (after a warm-up), state
  messages against the target of one per device per ``metrics_interval``;
- latency from a probe result (a reply from a device that was away, or the timeout of a
  device that stopped answering) to the new presence on the subscriber: p50 / p95 / max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netmon_mqtt.clock import utcnow  # noqa: E402
from netmon_mqtt.config import MqttConfig  # noqa: E402
from netmon_mqtt.events import EventBus  # noqa: E402
from netmon_mqtt.models import Device  # noqa: E402
from netmon_mqtt.monitor.service import Monitor, MonitorSettings  # noqa: E402
from netmon_mqtt.publish.homeassistant import (  # noqa: E402
    HomeAssistantDiscovery,
    HomeAssistantSettings,
)
from netmon_mqtt.publish.mqtt import MqttLink  # noqa: E402
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


class SimulatedPinger:
    """The batched pinger's interface over simulated devices (``down`` never answer)."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.results: dict[str, list[tuple[float, bool]]] = {}  # ip -> (when, answered)
        self._pending: dict[int, _Probe] = {}
        self._seq = 0

    def open(self) -> None:
        return None

    def close(self) -> None:
        self._pending.clear()

    def send(self, ip: str, timeout: float, done: Done, *, urgent: bool = False) -> None:
        now = time.monotonic()
        self._seq += 1
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
            self.results.setdefault(probe.ip, []).append((now, True))
            probe.done(RTT * 1000)
        elif probe.deadline <= now:
            del self._pending[seq]
            self.results.setdefault(probe.ip, []).append((now, False))
            probe.done(None)


class _Devices:
    def __init__(self, devices: list[Device]) -> None:
        self._devices = devices

    def devices(self) -> list[Device]:
        return self._devices

    def get(self, device_id: str) -> Device | None:
        return next((d for d in self._devices if d.id == device_id), None)


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


async def _run(devices: list[Device], port: int, seconds: float, flips: int) -> dict[str, object]:
    bus = EventBus()
    pinger = SimulatedPinger()
    monitor = Monitor(
        bus,
        pinger,  # type: ignore[arg-type]
        MonitorSettings(INTERVAL, TIMEOUT, 0, METRICS_INTERVAL, wake_probe=False),
    )
    topics = Topics("netmon", "homeassistant", "bench")
    mqtt = MqttConfig(host="127.0.0.1", port=port, retained_wait=1.0)
    link = MqttLink(mqtt, "127.0.0.1", "netmon-bench", topics.bridge_state)
    inventory = _Devices(devices)
    parts: list[Publisher | HomeAssistantDiscovery | MqttLink] = [
        Publisher(link, topics, bus, inventory, lambda: {"version": "bench"}),
        HomeAssistantDiscovery(
            link, topics, bus, inventory, HomeAssistantSettings("homeassistant/status", 0, "bench")
        ),
        link,
    ]
    sub = connect_subscriber(port)
    try:
        for part in parts:
            await part.start()
        await monitor.start()
        for device in devices:
            monitor.watch(device)
        home = lambda: sum(  # noqa: E731
            1
            for d in devices
            if (m := sub.latest(f"netmon/device/{d.id}")) and m.json()["presence"] == "home"
        )
        started = time.monotonic()
        while home() < len(devices) and time.monotonic() - started < 60:
            await asyncio.sleep(0.5)
        await asyncio.sleep(METRICS_INTERVAL + 5)  # past the first metrics windows
        mark = len(sub.snapshot())
        await asyncio.sleep(seconds)
        window = sub.snapshot()[mark:]
        kinds = Counter(
            "state" if m.topic.count("/") == 2 and m.topic.startswith("netmon/device/") else m.topic
            for m in window
        )

        # Latency: devices stop answering, then answer again, a few per second.
        victims = devices[:flips]
        mark = len(sub.snapshot())
        for device in victims:
            pinger.down.add(device.ip or "")
            await asyncio.sleep(0.05)
        await asyncio.sleep(INTERVAL + TIMEOUT + 2)
        for device in victims:
            pinger.down.discard(device.ip or "")
            await asyncio.sleep(0.05)
        await asyncio.sleep(INTERVAL + 2)
        changes = sub.snapshot()[mark:]
        offline, online = [], []
        for device in victims:
            results = pinger.results[device.ip or ""]
            lost = next(t for t, answered in results if not answered)
            back = next(t for t, answered in results if answered and t > lost)
            states = [
                (m.at, json.loads(m.payload)["presence"])
                for m in changes
                if m.topic == f"netmon/device/{device.id}"
            ]
            offline += [next(at for at, p in states if p == "not_home") - lost]
            online += [next(at for at, p in states if p == "home" and at > back) - back]
        return {"window": seconds, "kinds": kinds, "offline": offline, "online": online}
    finally:
        await monitor.stop()
        for part in reversed(parts):
            await part.stop()
        sub.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{1000 * statistics.median(ordered):.1f} / {1000 * p95:.1f} / {1000 * ordered[-1]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--flips", type=int, default=100)
    args = parser.parse_args()
    broker = LocalMosquitto()
    broker.start()
    try:
        result = asyncio.run(_run(_devices(args.devices), broker.port, args.seconds, args.flips))
    finally:
        broker.stop()
    minutes = float(result["window"]) / 60  # type: ignore[arg-type]
    kinds: Counter[str] = result["kinds"]  # type: ignore[assignment]
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
    print(f"### Probe result to subscriber ({args.flips} devices down, then up)")
    print("| transition | p50 / p95 / max ms | target p95 |")
    print("|---|---|---|")
    print(f"| away (probe timed out) | {_ms(result['offline'])} | < 100 |")  # type: ignore[arg-type]
    print(f"| home (reply arrived) | {_ms(result['online'])} | < 100 |")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
