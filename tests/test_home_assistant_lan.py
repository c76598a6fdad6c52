"""A real Home Assistant (2025.4.4, from .venv-ha) and the real service on the namespace LAN,
with a real mosquitto: MQTT discovery gives every host its entities, presence follows the
LAN, removal and restarts behave, and the netmon component is set up through the config
flow and its actions work, with no entity twice."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .ha_tools import HASS, HomeAssistant, wait_for
from .lan import NetnsLan
from .mqtt_tools import LocalMosquitto, connect_subscriber, request
from .service_tools import RunningService, no_traceback, write_config

HOSTS = 4
BROKER_PORT = 1883
HASS_PORT = 8123
CONSIDER_HOME = 4.0
PER_DEVICE = {
    "device_tracker": "",
    "binary_sensor": "_connectivity",
    "sensor.latency": "_latency",
    "sensor.packet_loss": "_packet_loss",
    "sensor.ip": "_ip_address",
    "sensor.hostname": "_hostname",
    "sensor.vendor": "_vendor",
    "button": "_ping",
}


def _by_role(entities: list[str]) -> dict[str, str]:
    """The device's entities by role (see PER_DEVICE), from their ids."""
    roles: dict[str, str] = {}
    for entity in entities:
        domain, _, object_id = entity.partition(".")
        if domain == "sensor":
            for role in ("latency", "packet_loss", "ip", "hostname", "vendor"):
                if object_id.endswith(PER_DEVICE[f"sensor.{role}"]):
                    roles[f"sensor.{role}"] = entity
        else:
            roles[domain] = entity
    return roles


@pytest.mark.netns
def test_home_assistant_shows_controls_and_survives_restarts(
    make_lan: type[NetnsLan], tmp_path: Path
) -> None:
    require(HASS.exists(), "needs Home Assistant in .venv-ha (scripts/ha-venv builds it)")
    lan = make_lan(HOSTS, subnet="10.79.0.0/24").build()
    ns = lan.exec_args(lan.service_ns)
    broker = LocalMosquitto(BROKER_PORT, prefix=ns)
    broker.start()
    config = tmp_path / "netmon.yaml"
    write_config(
        config,
        [lan.subnet],
        tmp_path / "netmon.db",
        broker_port=BROKER_PORT,
        embedded=False,
        consider_home=CONSIDER_HOME,
        mqtt_options={"birth_delay": 1},
    )
    service = RunningService(lan, config, tmp_path / "service.log")
    hass = HomeAssistant(lan, tmp_path / "ha", HASS_PORT, BROKER_PORT)
    sub = None
    try:
        service.start()
        sub = connect_subscriber(BROKER_PORT, ns)
        hass.prepare()
        hass.start()
        hass.onboard()
        hass.wait_running()
        hass.add_mqtt()

        # 1. Every host becomes a device with its entities, classes, units and MAC.
        def complete() -> dict[str, list[str]]:
            found = hass.netmon_entities()
            wanted = {h.device_id for h in lan.hosts}
            ok = wanted <= set(found) and all(
                len(_by_role(found[d])) == len(PER_DEVICE) for d in wanted
            )
            return found if ok else {}

        assert wait_for(complete, 60), hass.log()[-3000:]
        entities = complete()
        states = hass.states()

        def state(entity: str) -> dict[str, Any]:
            return hass.states()[entity]

        for host in lan.hosts:
            roles = _by_role(entities[host.device_id])
            tracker = roles["device_tracker"]
            assert wait_for(lambda t=tracker: state(t)["state"] == "home", 30), state(tracker)
            states = hass.states()
            assert states[tracker]["attributes"]["source_type"] == "router"
            connectivity = states[roles["binary_sensor"]]
            assert connectivity["attributes"]["device_class"] == "connectivity"
            latency = states[roles["sensor.latency"]]
            assert latency["attributes"]["unit_of_measurement"] == "ms"
            assert latency["attributes"]["device_class"] == "duration"
            assert states[roles["sensor.packet_loss"]]["attributes"]["unit_of_measurement"] == "%"
            assert states[roles["sensor.ip"]]["state"] == host.ip
            assert states[roles["sensor.vendor"]]["state"] == host.vendor
            assert f"('mac', '{host.mac}')" in hass.connections(tracker)
            # Entity names never repeat the device name: "<Device> Latency", not twice.
            name = states[roles["sensor.latency"]]["attributes"]["friendly_name"]
            device_name = states[tracker]["attributes"]["friendly_name"]
            assert name == f"{device_name} Latency"

        # 2. The netmon component: Home Assistant discovered the bridge (its retained
        # bridge/info) and offers it; the user confirms, over the REST API.
        def offered() -> list[dict[str, Any]]:
            flows = hass.websocket({"type": "config_entries/flow/progress"})
            return [f for f in flows if f["handler"] == "netmon"]

        assert wait_for(offered, 30), hass.log()[-3000:]
        (flow,) = offered()
        assert flow["context"]["source"] == "mqtt" and flow["step_id"] == "confirm"
        result = hass.post(f"/api/config/config_entries/flow/{flow['flow_id']}", {})
        assert result["type"] == "create_entry", result
        assert result["title"] == "netmon"
        entry_id = result["result"]["entry_id"]

        # The options flow edits the service's own settings; the service's refusal shows.
        form = hass.post("/api/config/config_entries/options/flow", {"handler": entry_id})
        assert form["type"] == "form", form
        fields = {f["name"]: f for f in form["data_schema"]}
        assert fields["networks"]["default"] == lan.subnet
        assert fields["consider_home"]["default"] == CONSIDER_HOME
        choice = {
            "networks": f"{lan.subnet}, nm-no-such-if",
            "discovery_interval": 3600,
            "monitor_interval": 1,
            "consider_home": 5,
            "metrics_interval": 2,
            "track_new_devices": True,
            "snmp_communities": "",
        }
        step = f"/api/config/config_entries/options/flow/{form['flow_id']}"
        refused = hass.post(step, choice)
        assert refused["errors"] == {"base": "refused"}, refused
        assert "nm-no-such-if" in refused["description_placeholders"]["error"]
        choice["networks"] = lan.subnet
        assert hass.post(step, choice)["type"] == "create_entry"
        options = request(sub, ns, BROKER_PORT, "options", {})
        assert options is not None and options["data"]["options"]["consider_home"] == 5
        assert options["data"]["options"]["discovery_interval"] == 3600

        scanned = hass.call("netmon", "scan", {}, response=True)["service_response"]
        assert {d["id"] for d in scanned["devices"]} >= {h.device_id for h in lan.hosts}
        assert scanned["found"] >= HOSTS
        pinged = hass.call(
            "netmon",
            "ping",
            {"device_id": _device_of(hass, _by_role(entities[lan.hosts[0].device_id])["button"])},
            response=True,
        )["service_response"]
        assert pinged["received"] >= 1
        _no_entity_twice(hass)

        # 3. A host taken down: tracker not_home, connectivity off (not unavailable).
        victim = lan.hosts[1]
        roles = _by_role(entities[victim.device_id])
        lan.take_down(victim)
        assert wait_for(lambda: state(roles["device_tracker"])["state"] == "not_home", 30)
        assert state(roles["binary_sensor"])["state"] == "off"
        lan.bring_up(victim)
        assert wait_for(lambda: state(roles["device_tracker"])["state"] == "home", 30)

        # 4. Renamed with new entity ids: new ids from the new name, no `_2` duplicates.
        renamed_host = lan.hosts[2]
        old = set(entities[renamed_host.device_id])
        hass.call(
            "netmon",
            "rename_device",
            {
                "device_id": _device_of(hass, _by_role(list(old))["device_tracker"]),
                "name": "Den speaker",
                "update_entity_ids": True,
            },
        )

        def renamed() -> bool:
            now = set(hass.netmon_entities().get(renamed_host.device_id, []))
            if "device_tracker.den_speaker" not in now or now & old:
                return False
            return state("device_tracker.den_speaker")["state"] == "home"

        assert wait_for(renamed, 30), hass.netmon_entities().get(renamed_host.device_id)
        _no_entity_twice(hass)

        # 5. Restarting Home Assistant leaves every entity available with its state.
        stable = (
            "device_tracker",
            "binary_sensor",
            "sensor.ip",
            "sensor.vendor",
            "sensor.hostname",
        )
        before_restart = hass.states()
        watched = {
            entity: before_restart[entity]["state"]
            for host in lan.hosts
            for role, entity in _by_role(hass.netmon_entities()[host.device_id]).items()
            if role in stable
        }
        assert len(watched) == HOSTS * len(stable)
        hass.stop()
        hass.start()
        hass.login()
        hass.wait_running()

        def all_available() -> bool:
            found = hass.netmon_entities()
            current = hass.states()
            ids = [e for d in lan.hosts for e in found.get(d.device_id, [])]
            return (
                len(ids) == HOSTS * len(PER_DEVICE)
                and all(current[e]["state"] != "unavailable" for e in ids)
                and all(current[e]["state"] == state for e, state in watched.items())
            )

        if not wait_for(all_available, 60):
            found, current = hass.netmon_entities(), hass.states()
            ids = [e for d in lan.hosts for e in found.get(d.device_id, [])]
            changed = {
                e: (s, current.get(e, {}).get("state"))
                for e, s in watched.items()
                if current.get(e, {}).get("state") != s
            }
            unavailable = [e for e in ids if current[e]["state"] == "unavailable"]
            pytest.fail(f"after a restart: {len(ids)} entities, {unavailable=}, {changed=}")

        # 6. device/remove: its entities disappear from Home Assistant.
        gone = lan.hosts[3]
        response = request(sub, ns, BROKER_PORT, "device/remove", {"id": gone.device_id})
        assert response is not None and response["status"] == "ok", response
        assert wait_for(lambda: gone.device_id not in hass.netmon_entities(), 30)
        assert all(e not in hass.states() for e in entities[gone.device_id])

        clean, excerpt = no_traceback(service.log())
        assert clean, excerpt
        assert "Traceback" not in _netmon_lines(hass.log()), hass.log()[-3000:]
    finally:
        if sub:
            sub.close()
        hass.close()
        service.kill()
        broker.stop()


def _device_of(hass: HomeAssistant, entity_id: str) -> str:
    return hass.template(f"{{{{ device_id('{entity_id}') }}}}").strip()


def _no_entity_twice(hass: HomeAssistant) -> None:
    """No `<entity>_2` next to `<entity>` (what a second copy of an entity gets)."""
    ids = set(hass.states())
    twice = [e for e in ids if (m := re.fullmatch(r"(.+)_\d+", e)) and m.group(1) in ids]
    assert not twice, sorted(ids)


def _netmon_lines(log: str) -> str:
    """The part of Home Assistant's log about netmon (its own harmless noise aside)."""
    return os.linesep.join(line for line in log.splitlines() if "netmon" in line)
