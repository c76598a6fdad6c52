"""Two netmon-mqtt instances on one broker (different ``instance_id`` and base topic, each
watching its own part of the namespace LAN), and the metrics rate limit."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from .lan import NetnsLan
from .mqtt_tools import LocalMosquitto, connect_subscriber
from .service_tools import RunningService, no_traceback, write_config
from .waiting import wait_until

PORT = 1883
METRICS_INTERVAL = 4


@pytest.mark.netns
def test_two_instances_share_a_broker_without_colliding(
    make_lan: type[NetnsLan], tmp_path: Path
) -> None:
    lan = make_lan(6, subnet="10.78.0.0/24").build()
    ns = lan.exec_args(lan.service_ns)
    broker = LocalMosquitto(PORT, prefix=ns)
    broker.start()
    # The hosts are .2 to .7: "main" watches .2 and .3, "lab" watches .4 to .7.
    instances = {
        "main": ("netmon", ["10.78.0.2/31"]),
        "lab": ("netmon_lab", ["10.78.0.4/31", "10.78.0.6/31"]),
    }
    services: dict[str, RunningService] = {}
    for instance, (base, networks) in instances.items():
        config = tmp_path / f"{instance}.yaml"
        write_config(
            config,
            networks,
            tmp_path / f"{instance}.db",
            broker_port=PORT,
            embedded=False,
            instance_id=instance,
            mqtt_options={"base_topic": base},
            metrics_interval=METRICS_INTERVAL,
        )
        services[instance] = RunningService(lan, config, tmp_path / f"{instance}.log")
    sub = None
    try:
        for service in services.values():
            service.start()
        sub = connect_subscriber(PORT, ns)
        owners = {
            "main": {h.device_id for h in lan.hosts if h.ip in {"10.78.0.2", "10.78.0.3"}},
            "lab": {h.device_id for h in lan.hosts if h.ip not in {"10.78.0.2", "10.78.0.3"}},
        }

        def configs() -> dict[str, dict[str, object]]:
            found = {}
            for message in sub.snapshot():  # type: ignore[union-attr]
                if message.topic.startswith("homeassistant/device/"):
                    found[message.topic] = json.loads(message.payload) if message.payload else {}
            return found

        def all_published() -> bool:
            topics = set(configs())
            infos = all(sub.latest(f"{base}/bridge/info") for base, _ in instances.values())  # type: ignore[union-attr]
            return infos and all(
                f"homeassistant/device/netmon_{d}/config" in topics
                for devices in owners.values()
                for d in devices
            )

        assert wait_until(all_published, 30), services["main"].log() + services["lab"].log()
        found = configs()
        for instance, devices in owners.items():
            base = instances[instance][0]
            bridge = found[f"homeassistant/device/netmon_bridge_{instance}/config"]
            assert bridge["device"]["identifiers"] == [f"netmon_bridge_{instance}"]  # type: ignore[index]
            assert sub.latest(f"{base}/bridge/state").payload == "online"
            info = sub.latest(f"{base}/bridge/info")
            assert info is not None and info.json()["instance_id"] == instance
            for device in devices:
                config = found[f"homeassistant/device/netmon_{device}/config"]
                assert config["device"]["via_device"] == f"netmon_bridge_{instance}"  # type: ignore[index]
                assert config["state_topic"] == f"{base}/device/{device}"
                assert config["availability"][0]["topic"] == f"{base}/bridge/state"

        # Metrics rate limit: steady state, at most one state message per device per
        # metrics_interval (presence changes aside: every host stays up), fewer when the
        # windows say nothing new; all of them under this instance's own base topic.
        mark, window = len(sub.snapshot()), 3 * METRICS_INTERVAL
        time.sleep(window)
        per_device = Counter(
            m.topic
            for m in sub.snapshot()[mark:]
            if m.topic.startswith("netmon/device/") and m.topic.count("/") == 2
        )
        assert set(per_device) <= {f"netmon/device/{d}" for d in owners["main"]}, per_device
        assert all(n <= window / METRICS_INTERVAL + 1 for n in per_device.values()), per_device

        # Each instance owns its configs: restarting "main" (whose reconciliation clears
        # stale configs it owns) leaves every config of "lab" alone, and vice versa.
        mark = len(sub.snapshot())
        assert services["main"].stop() == 0
        assert wait_until(lambda: sub.latest("netmon/bridge/state").payload == "offline", 5)
        assert sub.latest("netmon_lab/bridge/state").payload == "online"
        services["main"].start()
        assert wait_until(lambda: sub.latest("netmon/bridge/state").payload == "online", 15)
        time.sleep(3)  # past its reconciliation (retained_wait 1 s)
        cleared = [
            m.topic
            for m in sub.snapshot()[mark:]
            if m.topic.startswith("homeassistant/device/") and not m.payload
        ]
        assert cleared == []
        for service in services.values():
            clean, excerpt = no_traceback(service.log())
            assert clean, excerpt
    finally:
        if sub:
            sub.close()
        for service in services.values():
            service.kill()
        broker.stop()
