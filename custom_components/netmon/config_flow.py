"""Config flow: a discovered bridge (confirm) or a base topic typed in; options flow: the
service's own settings, changed through its ``options`` request."""

from __future__ import annotations

import json
from typing import Any

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo

from .bridge import BridgeRefusedError, BridgeTimeoutError, NetmonConfigEntry, requests_to
from .compat import ha_schema
from .const import CONF_BASE_TOPIC, CONF_INSTANCE_ID, DEFAULT_BASE_TOPIC, DOMAIN, TOPIC_INFO
from .options import form_schema, from_form
from .sealing import CannotSealError, sealed_options

INFO_TIMEOUT = 5.0
_INFO_SUFFIX = f"/{TOPIC_INFO}"


class NetmonConfigFlow(ConfigFlow, domain=DOMAIN):
    """One entry per netmon-mqtt instance (its ``instance_id``)."""

    VERSION = 1

    def __init__(self) -> None:
        """Nothing known yet."""
        self._base_topic = DEFAULT_BASE_TOPIC

    @staticmethod
    @callback
    def async_get_options_flow(_config_entry: NetmonConfigEntry) -> NetmonOptionsFlow:
        """The service's settings."""
        return NetmonOptionsFlow()

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """A retained ``<base>/bridge/info`` appeared."""
        try:
            info = json.loads(discovery_info.payload)
        except ValueError:
            return self.async_abort(reason="invalid_discovery_info")
        topic = discovery_info.topic
        if (
            not isinstance(info, dict)
            or not info.get("instance_id")
            or not topic.endswith(_INFO_SUFFIX)
        ):
            return self.async_abort(reason="invalid_discovery_info")
        self._base_topic = topic.removesuffix(_INFO_SUFFIX)
        await self.async_set_unique_id(str(info["instance_id"]))
        # The same instance under another base topic: follow it (the entry reloads).
        self._abort_if_unique_id_configured(updates={CONF_BASE_TOPIC: self._base_topic})
        self.context["title_placeholders"] = {"name": self._title(info)}
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm a discovered bridge; it must answer ``info``."""
        errors: dict[str, str] = {}
        if user_input is not None:
            info, errors = await self._ask_info(self._base_topic)
            if info is not None:
                return self.async_create_entry(title=self._title(info), data=self._data(info))
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={"base_topic": self._base_topic},
            errors=errors,
        )

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A base topic typed in by the user."""
        if not await mqtt.async_wait_for_mqtt_client(self.hass):
            return self.async_abort(reason="mqtt_not_connected")
        errors: dict[str, str] = {}
        if user_input is not None:
            self._base_topic = _clean(user_input[CONF_BASE_TOPIC])
            info, errors = await self._ask_info(self._base_topic)
            if info is not None:
                # A discovery flow for the same bridge may be waiting: this one wins.
                await self.async_set_unique_id(str(info["instance_id"]), raise_on_progress=False)
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=self._title(info), data=self._data(info))
        return self.async_show_form(
            step_id="user",
            data_schema=ha_schema(self._topic_schema(self._base_topic)),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point the entry at another base topic (the same instance, moved)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            base_topic = _clean(user_input[CONF_BASE_TOPIC])
            info, errors = await self._ask_info(base_topic)
            if info is not None:
                await self.async_set_unique_id(str(info["instance_id"]))
                self._abort_if_unique_id_mismatch(reason="wrong_bridge")
                return self.async_update_reload_and_abort(
                    entry, data_updates=self._data(info, base_topic)
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=ha_schema(self._topic_schema(entry.data[CONF_BASE_TOPIC])),
            errors=errors,
        )

    async def _ask_info(self, base_topic: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """The bridge's ``info`` answer, or the form errors to show."""
        if not base_topic:
            return None, {CONF_BASE_TOPIC: "invalid_topic"}
        try:
            async with requests_to(self.hass, base_topic) as requests:
                info = await requests.request("info", timeout=INFO_TIMEOUT, resend_every=1.0)
        except (BridgeTimeoutError, BridgeRefusedError):
            return None, {"base": "no_response"}
        if not info.get("instance_id"):
            return None, {"base": "not_netmon"}
        return info, {}

    def _data(self, info: dict[str, Any], base_topic: str | None = None) -> dict[str, Any]:
        return {
            CONF_BASE_TOPIC: base_topic or self._base_topic,
            CONF_INSTANCE_ID: str(info["instance_id"]),
        }

    @staticmethod
    def _title(info: dict[str, Any]) -> str:
        instance = str(info.get("instance_id") or "")
        return "netmon" if instance in {"", "main"} else f"netmon ({instance})"

    @staticmethod
    def _topic_schema(default: str) -> vol.Schema:
        return vol.Schema({vol.Required(CONF_BASE_TOPIC, default=default): str})


def _clean(topic: str) -> str:
    topic = topic.strip().strip("/")
    return "" if any(c in topic for c in "#+") else topic


class NetmonOptionsFlow(OptionsFlow):
    """The service's run-time settings; it validates them itself."""

    def __init__(self) -> None:
        """The settings in force are read once, when the flow opens."""
        self._current: dict[str, Any] | None = None

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the settings in force; send the changes."""
        if self.config_entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="not_loaded")
        bridge = self.config_entry.runtime_data
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            try:
                # Secrets go sealed to the service's key: no other broker client reads them.
                options = sealed_options(from_form(user_input), bridge.info)
                await bridge.request("options", {"options": options})
            except CannotSealError as err:
                errors["base"] = "refused"
                placeholders["error"] = str(err)
            except BridgeRefusedError as err:
                errors["base"] = "refused"
                placeholders["error"] = str((err.translation_placeholders or {}).get("error"))
            except BridgeTimeoutError:
                errors["base"] = "no_response"
            else:
                return self.async_create_entry(data={})
        if self._current is None:
            try:
                self._current = (await bridge.request("options")).get("options", {})
            except (BridgeTimeoutError, BridgeRefusedError):
                return self.async_abort(reason="no_response")
        return self.async_show_form(
            step_id="init",
            data_schema=ha_schema(form_schema(self._current, user_input)),
            errors=errors,
            description_placeholders=placeholders,
        )
