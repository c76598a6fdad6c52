"""The whole path on a namespace LAN: ARP sweep -> inventory -> monitor -> MQTT -> HA configs.

Runs the real service process inside the service namespace against a real mosquitto (also in
that namespace) or the embedded amqtt broker, and reads the broker with mosquitto_sub.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.vendors import short_vendor

from .lan import Host, NetnsLan
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber, request
from .service_tools import RunningService, no_traceback, write_config
from .waiting import wait_until

HOSTS = 20
MONITOR_INTERVAL = 1.0
CONSIDER_HOME = 5.0
PING_TIMEOUT = 0.5
PORT = 1883  # inside the service namespace, whose loopback is private to the test


def _stored_devices(database: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(database) as db:
        return {
            row[0]: (row[1], row[2])
            for row in db.execute("SELECT id, first_seen, mac FROM devices")
        }


def _config_topic(host: Host) -> str:
    return f"homeassistant/device/netmon_{host.device_id}/config"


def _state(sub: Subscriber, host: Host) -> dict[str, Any] | None:
    message = sub.latest(f"netmon/device/{host.device_id}")
    return message.json() if message else None


def _home_with_latency(sub: Subscriber, hosts: list[Host]) -> bool:
    for host in hosts:
        state = _state(sub, host)
        if not (state and state["presence"] == "home" and isinstance(state["latency_ms"], float)):
            return False
    return all(sub.latest(_config_topic(h)) for h in hosts)


def _retained_configs(sub: Subscriber) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for message in sub.snapshot():
        if message.retained and message.topic.startswith("homeassistant/device/"):
            found.setdefault(message.topic, []).append(message.json())
    return found


@pytest.mark.netns
@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_lan_devices_become_home_assistant_entities(
    make_lan: type[NetnsLan], tmp_path: Path, broker: str
) -> None:
    lan = make_lan(HOSTS).build()
    ns = lan.exec_args(lan.service_ns)
    external = None
    if broker == "mosquitto":
        external = LocalMosquitto(PORT, prefix=ns)
        external.start()
    database = tmp_path / "netmon.db"
    config = tmp_path / "netmon.yaml"
    write_config(
        config,
        [lan.subnet],
        database,
        broker_port=PORT,
        embedded=broker == "amqtt",
        discovery={"arp_timeout": 1.0, "arp_retries": 1},
    )
    service = RunningService(lan, config, tmp_path / "service.log")
    subscribers: list[Subscriber] = []
    try:
        started = time.monotonic()
        service.start()
        sub = connect_subscriber(PORT, ns)
        subscribers.append(sub)

        # 1. Within 30 s: one discovery config per host and a 'home' state with a latency.
        assert wait_until(lambda: _home_with_latency(sub, lan.hosts), 30), service.log()
        assert time.monotonic() - started <= 30
        fresh = connect_subscriber(PORT, ns)
        subscribers.append(fresh)
        wait_until(lambda: len(_retained_configs(fresh)) >= HOSTS + 1, 5)
        configs = _retained_configs(fresh)
        expected = {_config_topic(h) for h in lan.hosts}
        bridge_topic = "homeassistant/device/netmon_bridge_main/config"
        assert set(configs) == expected | {bridge_topic}
        for host in lan.hosts:
            (payload,) = configs[_config_topic(host)]
            assert payload["device"]["connections"] == [["mac", host.mac]]
            assert payload["device"]["manufacturer"] == short_vendor(host.vendor)
            assert payload["device"]["via_device"] == "netmon_bridge_main"
            assert payload["state_topic"] == f"netmon/device/{host.device_id}"
        assert fresh.latest("netmon/bridge/state").payload == "online"

        # 2. A host taken down is not_home / off within consider_home + one cycle.
        victim = lan.hosts[2]
        lan.take_down(victim)
        down_at = time.monotonic()
        limit = CONSIDER_HOME + MONITOR_INTERVAL + PING_TIMEOUT + 1.0
        away = wait_until(
            lambda: (_state(sub, victim) or {}).get("presence") == "not_home", limit + 5
        )
        assert away, service.log()
        assert time.monotonic() - down_at <= limit
        state = _state(sub, victim)
        assert state is not None and state["online"] is False
        others = [h for h in lan.hosts if h is not victim]
        assert all(_state(sub, h)["presence"] == "home" for h in others)  # type: ignore[index]

        # ... and home again once it answers.
        lan.bring_up(victim)
        back = wait_until(lambda: (_state(sub, victim) or {}).get("presence") == "home", 10)
        assert back, service.log()

        # 3. A restart keeps ids, first_seen and options changed at run time, and publishes
        # no duplicate config.
        changed = request(sub, ns, PORT, "options", {"options": {"discovery_interval": 1234}})
        assert changed is not None and changed["status"] == "ok", changed
        before = _stored_devices(database)
        assert set(before) == {h.device_id for h in lan.hosts}
        assert service.stop() == 0
        assert (
            wait_until(lambda: sub.latest("netmon/bridge/state").payload == "offline", 5)
            or broker == "amqtt"
        )  # the embedded broker stops with the service
        mark = time.monotonic()
        service.start()
        if broker == "amqtt":
            # The embedded broker lost everything with the process: a new client sees each
            # config exactly once, republished from the inventory.
            sub = connect_subscriber(PORT, ns)
            subscribers.append(sub)
        assert wait_until(
            lambda: (
                _home_with_latency(sub, lan.hosts)
                and sub.latest("netmon/bridge/state").payload == "online"
            ),
            30,
        )
        time.sleep(2.0)
        after = _stored_devices(database)
        assert after == before
        assert wait_until(
            lambda: sub.latest("netmon/bridge/info").json()["discovery_interval"] == 1234, 5
        ), "saved options not re-applied"
        listed = subprocess.run(
            [sys.executable, "-m", "netmon_mqtt", "devices", "--json", "--database", str(database)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        rows = {row["id"]: row for row in json.loads(listed.stdout)}
        assert set(rows) == set(before)
        assert rows[lan.hosts[0].device_id]["vendor"] == lan.hosts[0].vendor
        configs_after = [
            m for m in sub.snapshot() if m.topic.startswith("homeassistant/device/") and m.at > mark
        ]
        if broker == "mosquitto":
            assert configs_after == [], "unchanged discovery configs were republished"
        else:
            topics = [m.topic for m in configs_after]
            assert sorted(topics) == sorted(expected | {bridge_topic})
        clean, excerpt = no_traceback(service.log())
        assert clean, excerpt

        # 4. A crash leaves the Last Will: the bridge (and so every entity) is unavailable.
        if broker == "mosquitto":
            service.kill()
            assert wait_until(lambda: sub.latest("netmon/bridge/state").payload == "offline", 10)
    finally:
        service.kill()
        for subscriber in subscribers:
            subscriber.close()
        if external:
            external.stop()
