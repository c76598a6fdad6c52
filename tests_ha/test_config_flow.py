"""Config flow (user, MQTT discovery, reconfigure) and options flow, against a responder
that answers like the bridge."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import INFO, FakeBridge, ok, unsealed

pytestmark = pytest.mark.parametrize("expected_lingering_timers", [True])

DOMAIN = "netmon"


@pytest.fixture(autouse=True)
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("custom_components.netmon.config_flow.INFO_TIMEOUT", 0.5)
    monkeypatch.setattr("custom_components.netmon.bridge.REQUEST_TIMEOUT", 0.5)


def _discovery(payload: str, topic: str = "netmon/bridge/info") -> MqttServiceInfo:
    return MqttServiceInfo(
        topic=topic,
        payload=payload,
        qos=1,
        retain=True,
        subscribed_topic="netmon/bridge/info",
        timestamp=0,
    )


async def test_user_step_error_then_recovery(hass: HomeAssistant, bridge: FakeBridge) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"

    bridge.silent = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "netmon"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_response"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "  #/bad "}
    )
    assert result["errors"] == {"base_topic": "invalid_topic"}

    bridge.silent = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "/netmon/"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "netmon"
    assert result["data"] == {"base_topic": "netmon", "instance_id": "main"}
    assert result["result"].unique_id == "main"


async def test_user_step_refuses_what_is_not_netmon(
    hass: HomeAssistant, bridge: FakeBridge
) -> None:
    bridge.handlers["info"] = lambda _p: ok({"version": "1.0"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}, data={"base_topic": "netmon"}
    )
    assert result["errors"] == {"base": "not_netmon"}


async def test_user_step_duplicate_aborts(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}, data={"base_topic": "netmon"}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_user_step_needs_mqtt(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "mqtt_not_connected"


async def test_discovered_bridge_is_confirmed_after_it_answers(
    hass: HomeAssistant, bridge: FakeBridge
) -> None:
    info = {**INFO, "instance_id": "garage"}
    bridge.handlers["info"] = lambda _p: ok(info)
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=_discovery(json.dumps(info), "home/netmon/bridge/info"),
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"base_topic": "home/netmon"}
    assert result["flow_id"] in {
        f["flow_id"] for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    }

    bridge.base = "home/netmon"
    bridge.silent = True
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.FORM and result["errors"] == {"base": "no_response"}

    bridge.silent = False
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "netmon (garage)"
    assert result["data"] == {"base_topic": "home/netmon", "instance_id": "garage"}


@pytest.mark.parametrize(
    ("payload", "topic"),
    [
        ("not json", "netmon/bridge/info"),
        (json.dumps({"version": "0.1.0"}), "netmon/bridge/info"),
        (json.dumps(["main"]), "netmon/bridge/info"),
        (json.dumps(INFO), "netmon/bridge/health"),
    ],
)
async def test_bad_discovery_payloads_abort(
    hass: HomeAssistant, bridge: FakeBridge, payload: str, topic: str
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=_discovery(payload, topic)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


async def test_discovery_of_a_configured_bridge_aborts(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_MQTT}, data=_discovery(json.dumps(INFO))
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"


async def test_discovery_under_a_new_base_topic_updates_the_entry(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    moved = json.dumps({**INFO, "base_topic": "lan/netmon"})
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_MQTT},
        data=_discovery(moved, topic="lan/netmon/bridge/info"),
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    assert entry.data["base_topic"] == "lan/netmon"


async def test_options_of_an_entry_that_is_not_loaded_abort_clearly(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    bridge.silent = True
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_loaded"


async def test_reconfigure_moves_the_base_topic(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "lan/netmon"}
    )
    assert result["errors"] == {"base": "no_response"}  # nothing answers there yet

    bridge.base = "lan/netmon"
    bridge.handlers["info"] = lambda _p: ok({**INFO, "instance_id": "other"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "lan/netmon"}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "wrong_bridge"

    bridge.handlers["info"] = lambda _p: ok(INFO)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"base_topic": "lan/netmon"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data["base_topic"] == "lan/netmon"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_options_round_trip_with_a_refused_value(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "init"
    defaults = {
        str(key): key.default() for key in result["data_schema"].schema if callable(key.default)
    }
    assert defaults["networks"] == "192.0.2.0/24"
    assert defaults["consider_home"] == 180
    assert defaults["track_new_devices"] is True
    assert defaults["snmp_communities"] == ""  # secrets are never read back

    form: dict[str, Any] = {
        "networks": "192.0.2.0/24, 198.51.100.0/33",
        "discovery_interval": 900,
        "monitor_interval": 5,
        "consider_home": 300,
        "metrics_interval": 60,
        "track_new_devices": False,
        "snmp_communities": "",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "refused"}
    assert "networks[1]" in result["description_placeholders"]["error"]
    assert bridge.options["consider_home"] == 180  # the service kept its values

    form["networks"] = "192.0.2.0/24, 198.51.100.0/25"
    form["snmp_communities"] = "public, lab-secret"
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    sent = bridge.commands("options")[-1]["options"]
    # The secrets went sealed to the service's key: nobody else on the broker reads them.
    assert all("sealed" in c["community"] for c in sent["snmp_credentials"])
    assert "lab-secret" not in json.dumps(bridge.commands("options"))
    assert unsealed(sent) == {
        "networks": ["192.0.2.0/24", "198.51.100.0/25"],
        "discovery_interval": 900,
        "monitor_interval": 5,
        "consider_home": 300,
        "metrics_interval": 60,
        "track_new_devices": False,
        "snmp_credentials": [
            {"version": "2c", "community": "public"},
            {"version": "2c", "community": "lab-secret"},
        ],
    }
    assert entry.options == {}  # the settings live in the service, not in Home Assistant


async def test_options_when_the_bridge_does_not_answer(
    hass: HomeAssistant, bridge: FakeBridge, entry: MockConfigEntry
) -> None:
    await _setup(hass, entry)
    bridge.silent = True
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_response"

    bridge.silent = False
    result = await hass.config_entries.options.async_init(entry.entry_id)
    bridge.silent = True
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"networks": "192.0.2.0/24", "consider_home": 200}
    )
    assert result["errors"] == {"base": "no_response"}
