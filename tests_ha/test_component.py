"""Setup, actions, events, device triggers, repairs and diagnostics, with MQTT mocked at the
client and a responder answering like the bridge."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_mqtt_message,
    async_fire_time_changed,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.typing import MqttMockPahoClient

from custom_components.netmon.devices import find_device
from custom_components.netmon.diagnostics import async_get_config_entry_diagnostics

from .conftest import INFO, FakeBridge, error, ok

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

DOMAIN = "netmon"
MAC = "a4:b1:c2:d3:e4:f5"
DEVICE = MAC.replace(":", "")
# A phone's new private (locally administered) MAC: a device of its own until merged.
PRIVATE_MAC = "da:11:22:33:44:55"
PRIVATE = PRIVATE_MAC.replace(":", "")


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("custom_components.netmon.bridge.REQUEST_TIMEOUT", 0.5)
    monkeypatch.setattr("custom_components.netmon.services.SCAN_TIMEOUT", 0.5)


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


FIXTURE = Path(__file__).parent / "fixtures" / "device_config.json"
SAMPLE_ID, SAMPLE_MAC = "a4b1c2d3e4f5", "a4:b1:c2:d3:e4:f5"


def _discovery_config(device_id: str = DEVICE, mac: str = MAC) -> str:
    """The device-based discovery config netmon-mqtt publishes (the service's tests check
    that the fixture is exactly what it publishes), for ``device_id``."""
    return FIXTURE.read_text().replace(SAMPLE_ID, device_id).replace(SAMPLE_MAC, mac)


async def _mqtt_device(
    hass: HomeAssistant, device_id: str = DEVICE, mac: str = MAC
) -> dr.DeviceEntry:
    """Publish a discovery config and return the device MQTT discovery created."""
    async_fire_mqtt_message(
        hass, f"homeassistant/device/netmon_{device_id}/config", _discovery_config(device_id, mac)
    )
    await hass.async_block_till_done()
    device = find_device(hass, device_id)
    assert device is not None
    return device


async def _announce(hass: HomeAssistant, *ids: str, base: str = "netmon") -> None:
    payload = [{"id": i, "name": i, "online": True, "tracked": True} for i in ids]
    async_fire_mqtt_message(hass, f"{base}/bridge/devices", json.dumps(payload), retain=True)
    await hass.async_block_till_done()


# -- setup ------------------------------------------------------------------------------
async def test_setup_asks_info_and_unloads(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.info == INFO
    assert bridge.commands("info") == [{}]
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_setup_retries_while_the_bridge_is_silent(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.silent = True
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason == "netmon-mqtt did not answer 'info' (base topic netmon)"  # translated
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert "not loaded (setup_retry)" in diagnostics["bridge"]["error"]


async def test_the_bridge_going_away_and_back_is_logged_once_each(
    hass: HomeAssistant,
    bridge: FakeBridge,
    entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _setup(hass, entry)
    for state in ("online", "offline", "offline", "online", "online"):
        async_fire_mqtt_message(hass, "netmon/bridge/state", state)
        await hass.async_block_till_done()
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("custom_components")]
    assert [line for line in lines if "unavailable" in line or "available again" in line] == [
        "netmon-mqtt on netmon is unavailable (its bridge state is offline)",
        "netmon-mqtt on netmon is available again",
    ]


# -- actions ----------------------------------------------------------------------------
async def test_scan_returns_the_devices_found(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    found = {"found": 1, "devices": [{"id": DEVICE, "ip": "192.0.2.7"}], "duration_s": 0.8}
    bridge.handlers["scan"] = lambda _p: ok(found)
    await _setup(hass, entry)
    response = await hass.services.async_call(
        DOMAIN,
        "scan",
        {"target": "192.0.2.0/25", "methods": ["arp", "icmp"]},
        blocking=True,
        return_response=True,
    )
    assert response == found
    assert bridge.commands("scan") == [{"target": "192.0.2.0/25", "methods": ["arp", "icmp"]}]


async def test_scan_errors_are_clear(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.handlers["scan"] = lambda _p: error(
        "target 10.9.0.0/24 is not inside the configured networks (192.0.2.0/24)"
    )
    await _setup(hass, entry)
    with pytest.raises(HomeAssistantError, match="not inside the configured networks"):
        await hass.services.async_call(
            DOMAIN, "scan", {"target": "10.9.0.0/24"}, blocking=True, return_response=True
        )
    bridge.silent = True
    with pytest.raises(HomeAssistantError, match="did not answer 'scan'") as raised:
        await hass.services.async_call(DOMAIN, "scan", {}, blocking=True, return_response=True)
    assert raised.value.translation_key == "no_response"
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "scan", {"methods": ["teleport"]}, blocking=True, return_response=True
        )
    with pytest.raises(ServiceValidationError) as unknown_entry:
        await hass.services.async_call(
            DOMAIN, "scan", {"config_entry_id": "nope"}, blocking=True, return_response=True
        )
    assert unknown_entry.value.translation_key == "no_bridge"


async def test_device_actions_map_devices_to_netmon_ids(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    pinged = {"id": DEVICE, "sent": 2, "received": 2, "latency_ms": 0.4, "packet_loss_pct": 0}
    bridge.handlers.update(
        {
            "device/ping": lambda _p: ok(pinged),
            "device/rename": lambda p: ok({"id": p["id"], "name": p["name"]}),
            "device/options": lambda p: ok({"id": p["id"], **p["options"]}),
            "device/remove": lambda p: ok({"id": p["id"], "blocked": p["block"]}),
            "discovery/republish": lambda _p: ok({"configs": 3}),
        }
    )
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    target = {"device_id": device.id}

    response = await hass.services.async_call(
        DOMAIN, "ping", {**target, "count": 2}, blocking=True, return_response=True
    )
    assert response == pinged
    await hass.services.async_call(
        DOMAIN,
        "rename_device",
        {**target, "name": "Den speaker", "update_entity_ids": True},
        blocking=True,
    )
    await hass.services.async_call(DOMAIN, "set_tracked", {**target, "tracked": False}, True)
    await hass.services.async_call(DOMAIN, "set_type", {**target, "device_type": "camera"}, True)
    await hass.services.async_call(DOMAIN, "set_type", {**target, "device_type": "guess"}, True)
    await hass.services.async_call(DOMAIN, "remove_device", {**target, "block": True}, True)
    republished = await hass.services.async_call(
        DOMAIN, "republish", {}, blocking=True, return_response=True
    )
    assert republished == {"configs": 3}
    assert bridge.commands("device/ping") == [{"id": DEVICE, "count": 2}]
    assert bridge.commands("device/rename") == [{"id": DEVICE, "name": "Den speaker"}]
    # The entity ids follow the new name (Home Assistant's registry, not a re-creation).
    ids = sorted(e.entity_id for e in er.async_entries_for_device(er.async_get(hass), device.id))
    assert "device_tracker.den_speaker" in ids and "sensor.den_speaker_latency" in ids
    assert not [i for i in ids if "kitchen" in i], ids
    assert bridge.commands("device/options") == [
        {"id": DEVICE, "options": {"tracked": False}},
        {"id": DEVICE, "options": {"device_type": "camera"}},
        {"id": DEVICE, "options": {"device_type": None}},  # "guess": the evidence decides
    ]
    assert bridge.commands("device/remove") == [{"id": DEVICE, "block": True, "confirm": True}]


async def test_acknowledge_one_device_or_all(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.handlers["acknowledge"] = lambda p: ok({"acknowledged": [p.get("id", DEVICE)]})
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    one = await hass.services.async_call(
        DOMAIN, "acknowledge", {"device_id": device.id}, blocking=True, return_response=True
    )
    assert one == {"acknowledged": [DEVICE]}
    await hass.services.async_call(DOMAIN, "acknowledge", {"all": True}, blocking=True)
    assert bridge.commands("acknowledge") == [{"id": DEVICE}, {"all": True}]
    for neither_or_both in ({}, {"device_id": device.id, "all": True}):
        with pytest.raises(ServiceValidationError) as raised:
            await hass.services.async_call(DOMAIN, "acknowledge", neither_or_both, blocking=True)
        assert raised.value.translation_key == "acknowledge_what"
    assert len(bridge.commands("acknowledge")) == 2


async def test_device_actions_refuse_other_devices(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.handlers["device/ping"] = lambda p: error(f"no device {p['id']!r}")
    await _setup(hass, entry)
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={("mqtt", "zigbee2mqtt_0x00158d")}
    )
    with pytest.raises(ServiceValidationError) as not_ours:
        await hass.services.async_call(DOMAIN, "ping", {"device_id": other.id}, blocking=True)
    assert not_ours.value.translation_key == "not_netmon_device"
    with pytest.raises(ServiceValidationError) as unknown:
        await hass.services.async_call(DOMAIN, "ping", {"device_id": "missing"}, blocking=True)
    assert unknown.value.translation_key == "unknown_device"
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(
            DOMAIN, "ping", {"device_id": "missing", "count": 0}, blocking=True
        )
    # A device netmon has forgotten: the service's own error comes back.
    device = await _mqtt_device(hass)
    with pytest.raises(HomeAssistantError, match="no device"):
        await hass.services.async_call(DOMAIN, "ping", {"device_id": device.id}, blocking=True)
    assert bridge.commands("device/ping") == [{"id": DEVICE, "count": 3}]


async def test_merge_devices_sends_both_netmon_ids_and_returns_the_device(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    merged = {"id": DEVICE, "name": "Phone", "linked_macs": {PRIVATE_MAC: "merged by request"}}
    bridge.handlers["device/merge"] = lambda _p: ok(merged)
    await _setup(hass, entry)
    known = await _mqtt_device(hass)
    new = await _mqtt_device(hass, PRIVATE, PRIVATE_MAC)
    await _announce(hass, DEVICE, PRIVATE)
    response = await hass.services.async_call(
        DOMAIN,
        "merge_devices",
        {"device_id": new.id, "into_device_id": known.id},
        blocking=True,
        return_response=True,
    )
    assert response == merged
    assert bridge.commands("device/merge") == [{"id": PRIVATE, "into": DEVICE}]
    # Without a response asked for, the request is the same.
    await hass.services.async_call(
        DOMAIN, "merge_devices", {"device_id": new.id, "into_device_id": known.id}, True
    )
    assert bridge.commands("device/merge") == [{"id": PRIVATE, "into": DEVICE}] * 2
    with pytest.raises(vol.Invalid):
        await hass.services.async_call(DOMAIN, "merge_devices", {"device_id": new.id}, True)


async def test_merge_devices_refuses_devices_of_two_instances(
    hass: HomeAssistant,
    bridge: FakeBridge,
    entry: MockConfigEntry,
    mqtt_client_mock: MqttMockPahoClient,
) -> None:
    other_bridge = FakeBridge(hass, mqtt_client_mock, base="netmon2")
    other_entry = MockConfigEntry(
        domain=DOMAIN,
        title="netmon2",
        unique_id="second",
        data={"base_topic": "netmon2", "instance_id": "second"},
    )
    other_entry.add_to_hass(hass)
    await _setup(hass, entry)  # sets up the integration, so both entries
    assert other_entry.state is ConfigEntryState.LOADED
    known = await _mqtt_device(hass)
    new = await _mqtt_device(hass, PRIVATE, PRIVATE_MAC)
    await _announce(hass, DEVICE)
    await _announce(hass, PRIVATE, base="netmon2")
    with pytest.raises(ServiceValidationError, match="different netmon-mqtt instances") as raised:
        await hass.services.async_call(
            DOMAIN,
            "merge_devices",
            {"device_id": new.id, "into_device_id": known.id},
            blocking=True,
            return_response=True,
        )
    assert raised.value.translation_key == "different_bridges"
    assert raised.value.translation_placeholders == {
        "base_topic": "netmon2",
        "into_base_topic": "netmon",
    }
    assert bridge.commands("device/merge") == other_bridge.commands("device/merge") == []


async def test_merge_devices_reports_the_services_refusal(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.handlers["device/merge"] = lambda _p: error("id and into name the same device")
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    with pytest.raises(HomeAssistantError, match="id and into name the same device") as raised:
        await hass.services.async_call(
            DOMAIN,
            "merge_devices",
            {"device_id": device.id, "into_device_id": device.id},
            blocking=True,
        )
    assert raised.value.translation_key == "refused"
    assert raised.value.translation_placeholders == {
        "command": "device/merge",
        "error": "id and into name the same device",
    }
    assert bridge.commands("device/merge") == [{"id": DEVICE, "into": DEVICE}]


async def test_unmerge_device_sends_the_mac_and_returns_the_device(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    unmerged = {"id": DEVICE, "name": "Phone", "linked_macs": {}}
    bridge.handlers["device/unmerge"] = lambda _p: ok(unmerged)
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    response = await hass.services.async_call(
        DOMAIN,
        "unmerge_device",
        {"device_id": device.id, "mac": PRIVATE_MAC},
        blocking=True,
        return_response=True,
    )
    assert response == unmerged
    assert bridge.commands("device/unmerge") == [{"id": DEVICE, "mac": PRIVATE_MAC}]
    bridge.handlers["device/unmerge"] = lambda p: error(
        f"{p['mac']} is not linked to {p['id']!r} (linked: none)"
    )
    with pytest.raises(HomeAssistantError, match="is not linked to") as raised:
        await hass.services.async_call(
            DOMAIN, "unmerge_device", {"device_id": device.id, "mac": PRIVATE_MAC}, True
        )
    assert raised.value.translation_key == "refused"
    assert raised.value.translation_placeholders == {
        "command": "device/unmerge",
        "error": f"{PRIVATE_MAC} is not linked to '{DEVICE}' (linked: none)",
    }


# -- events and device triggers ---------------------------------------------------------
async def test_bridge_events_become_home_assistant_events(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    joined = async_capture_events(hass, "netmon_device_joined")
    online = async_capture_events(hass, "netmon_device_online")
    offline = async_capture_events(hass, "netmon_device_offline")
    events = [
        {"type": "device_joined", "data": {"id": "001122334455", "ip": "192.0.2.9"}},
        {"type": "device_offline", "data": {"id": DEVICE, "reason": "no reply for 180 s"}},
        {"type": "device_online", "data": {"id": DEVICE, "reason": "icmp"}},
        {"type": "scan_finished", "data": {"devices": 2}},
        {"type": "device_offline"},
        ["not", "an", "event"],
    ]
    for event in events:
        async_fire_mqtt_message(hass, "netmon/bridge/event", json.dumps(event))
    async_fire_mqtt_message(hass, "netmon/bridge/event", "{broken")
    await hass.async_block_till_done()
    assert [e.data["netmon_id"] for e in joined] == ["001122334455"]
    assert joined[0].data["device_id"] is None  # not in Home Assistant yet
    assert joined[0].data["ip"] == "192.0.2.9"
    assert [e.data["device_id"] for e in offline] == [device.id]
    assert offline[0].data["reason"] == "no reply for 180 s"
    assert [e.data["device_id"] for e in online] == [device.id]


async def test_device_triggers_come_from_mqtt_discovery(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    """The triggers are the MQTT integration's (published by the service), so they work
    without netmon's entry owning the device, on every release."""
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    await _announce(hass, DEVICE)
    registry = dr.async_get(hass)
    assert dr.async_entries_for_config_entry(registry, entry.entry_id) == []  # no linking

    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    ours = sorted(t["type"] for t in triggers if t["domain"] == "mqtt")
    assert ours == ["came_online", "ip_changed", "joined", "went_offline"]

    calls = async_capture_events(hass, "netmon_test_fired")
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "trigger": {
                        "platform": "device",
                        "domain": "mqtt",
                        "device_id": device.id,
                        "discovery_id": f"netmon_{DEVICE} {kind}",
                        "type": kind,
                        "subtype": "device",
                    },
                    "action": {"event": "netmon_test_fired", "event_data": {"kind": kind}},
                }
                for kind in ("went_offline", "came_online")
            ]
        },
    )
    for kind in ("device_offline", "device_online", "ip_changed"):
        event = {"type": kind, "data": {"id": DEVICE, "reason": "test"}}
        async_fire_mqtt_message(hass, f"netmon/device/{DEVICE}/event", json.dumps(event))
        await hass.async_block_till_done()
    other = {"type": "device_offline", "data": {"id": "001122334455"}}
    async_fire_mqtt_message(hass, "netmon/device/001122334455/event", json.dumps(other))
    await hass.async_block_till_done()
    assert [c.data["kind"] for c in calls] == ["went_offline", "came_online"]


async def test_devices_linked_by_earlier_releases_are_let_go_at_setup(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    registry = dr.async_get(hass)
    stale = registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "linked-before")}
    )
    shared = None
    if not hasattr(dr.DeviceEntry, "config_entry_id"):  # before 2026.8: several owners
        await async_setup_component(hass, "mqtt", {})
        mqtt_device = await _mqtt_device(hass)
        shared = registry.async_update_device(mqtt_device.id, add_config_entry_id=entry.entry_id)
        assert shared is not None and entry.entry_id in shared.config_entries
    await _setup(hass, entry)
    assert dr.async_entries_for_config_entry(registry, entry.entry_id) == []
    assert registry.async_get(stale.id) is None  # it had no other owner
    if shared is not None:
        kept = registry.async_get(shared.id)  # MQTT's device stays, without netmon's entry
        assert kept is not None and entry.entry_id not in kept.config_entries


async def test_untracked_devices_are_unavailable(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    tracker = next(
        e.entity_id
        for e in er.async_entries_for_device(er.async_get(hass), device.id)
        if e.domain == "device_tracker"
    )
    async_fire_mqtt_message(hass, "netmon/bridge/state", "online", retain=True)
    async_fire_mqtt_message(hass, f"netmon/device/{DEVICE}", json.dumps({"presence": "home"}))
    for availability, shown in (("online", "home"), ("offline", "unavailable")):
        topic = f"netmon/device/{DEVICE}/availability"
        async_fire_mqtt_message(hass, topic, availability)  # live, as a subscriber gets it
        await hass.async_block_till_done()
        state = hass.states.get(tracker)
        assert state is not None and state.state == shown, availability


# -- repairs ----------------------------------------------------------------------------
async def test_offline_bridge_raises_a_repair_that_clears(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    issues = ir.async_get(hass)
    async_fire_mqtt_message(hass, "netmon/bridge/state", "offline")
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, "bridge_offline_netmon") is None  # not yet
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=301))
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, "bridge_offline_netmon")
    assert issue is not None and issue.translation_placeholders == {
        "base_topic": "netmon",
        "minutes": "5",
    }
    async_fire_mqtt_message(hass, "netmon/bridge/state", "online")
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, "bridge_offline_netmon") is None

    # Back before the threshold: no repair at all.
    async_fire_mqtt_message(hass, "netmon/bridge/state", "offline")
    async_fire_mqtt_message(hass, "netmon/bridge/state", "online")
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=700))
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, "bridge_offline_netmon") is None


async def test_incompatible_version_raises_a_repair_that_clears(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    issues = ir.async_get(hass)
    for version, expected in (("2.0.0", True), ("garbage", True), ("0.1.3", False)):
        info = {**INFO, "version": version}
        async_fire_mqtt_message(hass, "netmon/bridge/info", json.dumps(info))
        await hass.async_block_till_done()
        issue = issues.async_get_issue(DOMAIN, "incompatible_version_netmon")
        assert (issue is not None) is expected, version
    async_fire_mqtt_message(hass, "netmon/bridge/info", "not json")
    await hass.async_block_till_done()
    assert entry.runtime_data.info["version"] == "0.1.3"  # garbage ignored


async def test_unload_drops_the_repairs(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    info = {**INFO, "version": "9.0.0"}
    async_fire_mqtt_message(hass, "netmon/bridge/info", json.dumps(info))
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "incompatible_version_netmon")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, "incompatible_version_netmon") is None


# -- diagnostics ------------------------------------------------------------------------
async def test_diagnostics_redact_secrets_and_addresses(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    async_fire_mqtt_message(hass, "netmon/bridge/state", "online", retain=True)
    summary = {"id": DEVICE, "name": "Kitchen speaker", "mac": MAC, "ip": "192.0.2.7"}
    async_fire_mqtt_message(hass, "netmon/bridge/devices", json.dumps([summary]), retain=True)
    bridge.options["snmp_credentials"] = [{"version": "2c", "community": "hunter2hunter2"}]
    await hass.async_block_till_done()
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics == {
        "entry": {"data": {"base_topic": "netmon", "instance_id": "main"}, "options": {}},
        "bridge": {
            "online": True,
            "offline_since": None,
            "info": INFO,
            "options": {
                "options": {
                    **bridge.options,
                    "snmp_credentials": [{"version": "2c", "community": "**REDACTED**"}],
                }
            },
            "health": {"healthy": True, "uptime_s": 12},
            "devices": [
                {
                    "id": "**REDACTED**",
                    "name": "**REDACTED**",
                    "mac": "**REDACTED**",
                    "ip": "**REDACTED**",
                }
            ],
        },
    }
    assert "hunter2" not in json.dumps(diagnostics)
    bridge.silent = True
    unanswered = await async_get_config_entry_diagnostics(hass, entry)
    assert "did not answer" in unanswered["bridge"]["options"]["error"]


def test_helpers_are_total() -> None:
    from custom_components.netmon.bridge import version_supported

    assert version_supported("0.1.0") and version_supported("0.9")
    assert not version_supported("0.0.9") and not version_supported("1.0.0")
    assert not version_supported(None) and not version_supported("x.y")


@pytest.mark.parametrize(
    "case",
    [
        ("rename_device", "device/rename", {"name": "x" * 10}),
        ("set_tracked", "device/options", {"tracked": True}),
        ("set_type", "device/options", {"device_type": "printer"}),
        ("acknowledge", "acknowledge", {}),
        ("remove_device", "device/remove", {}),
        ("ping", "device/ping", {}),
        ("unmerge_device", "device/unmerge", {"mac": PRIVATE_MAC}),
    ],
)
async def test_device_actions_report_the_services_refusal(
    hass: HomeAssistant,
    bridge: FakeBridge,
    entry: MockConfigEntry,
    case: tuple[str, str, dict[str, Any]],
) -> None:
    service, command, data = case
    bridge.handlers[command] = lambda p: error(f"no device {p['id']!r}")
    await _setup(hass, entry)
    device = await _mqtt_device(hass)
    with pytest.raises(HomeAssistantError, match="no device") as raised:
        await hass.services.async_call(
            DOMAIN, service, {"device_id": device.id, **data}, blocking=True
        )
    assert raised.value.translation_key == "refused"
    bridge.silent = True
    with pytest.raises(HomeAssistantError) as silent:
        await hass.services.async_call(
            DOMAIN, service, {"device_id": device.id, **data}, blocking=True
        )
    assert silent.value.translation_key == "no_response"


async def test_republish_when_the_bridge_does_not_answer(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    bridge.silent = True
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(DOMAIN, "republish", {}, blocking=True)
    assert raised.value.translation_key == "no_response"


@pytest.mark.parametrize(
    "case",
    [
        (
            "switch_config.json",
            "001b2b3c4d5e",
            {
                "manufacturer": "Cisco",
                "model": "WS-C3560G-48TS-E",
                "sw_version": "12.2(55)SE3",
                "serial_number": "FOC1234X0AB",
                "hw_version": "V05",
            },
            "mdi:switch",
        ),
        (
            "phone_config.json",
            "f0d1a2b3c4d5",
            {"manufacturer": "Apple", "model": "iPhone 13 Pro", "model_id": "iPhone14,2"},
            "mdi:cellphone",
        ),
    ],
)
async def test_the_device_page_shows_model_versions_serial_and_the_type_icon(
    hass: HomeAssistant,
    bridge: FakeBridge,
    caplog: pytest.LogCaptureFixture,
    case: tuple[str, str, dict[str, str], str],
) -> None:
    """What SNMP (ENTITY-MIB) and mDNS (an Apple model identifier) told, as the service
    publishes it (``tests/test_component_copies.py`` checks the files), on the device page."""
    fixture, device_id, shown, icon = case
    config = (FIXTURE.parent / fixture).read_text()
    async_fire_mqtt_message(hass, f"homeassistant/device/netmon_{device_id}/config", config)
    await hass.async_block_till_done()
    device = find_device(hass, device_id)
    assert device is not None
    assert {key: getattr(device, key) for key in shown} == shown
    tracker = er.async_get(hass).async_get_entity_id(
        "device_tracker", "mqtt", f"netmon_{device_id}_presence"
    )
    assert tracker is not None
    state = hass.states.get(tracker)
    assert state is not None and state.attributes["icon"] == icon
    warnings = [r for r in caplog.records if r.levelno >= 30 and "netmon" in r.getMessage()]
    assert warnings == []
