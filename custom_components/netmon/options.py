"""The service settings the options flow edits, and their translation to and from the
service's ``options`` request."""

from __future__ import annotations

from typing import Any

import voluptuous as vol
from homeassistant.helpers import selector

from .const import OPTION_LIMITS, OPTION_SWITCHES

NETWORKS = "networks"
SNMP_COMMUNITIES = "snmp_communities"
_SECONDS = OPTION_LIMITS
_BOOLEANS = OPTION_SWITCHES


def _seconds(low: float, high: float, step: float) -> selector.NumberSelector:
    return selector.NumberSelector(
        selector.NumberSelectorConfig(
            min=low,
            max=high,
            step=step,
            unit_of_measurement="s",
            mode=selector.NumberSelectorMode.BOX,
        )
    )


def form_schema(current: dict[str, Any], user_input: dict[str, Any] | None) -> vol.Schema:
    """The form, filled with what the user typed (after an error) or the settings in force."""
    shown = {**_to_form(current), **(user_input or {})}
    fields: dict[vol.Marker, Any] = {
        vol.Required(NETWORKS, default=shown.get(NETWORKS, "")): selector.TextSelector(),
    }
    for key, bounds in _SECONDS.items():
        if key in shown:
            fields[vol.Required(key, default=shown[key])] = _seconds(*bounds)
    for key in _BOOLEANS:
        if key in shown:
            fields[vol.Required(key, default=bool(shown[key]))] = selector.BooleanSelector()
    # Secrets are never read back from the service: an empty field keeps the stored ones.
    fields[vol.Optional(SNMP_COMMUNITIES, default="")] = selector.TextSelector(
        selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD)
    )
    return vol.Schema(fields)


def _to_form(options: dict[str, Any]) -> dict[str, Any]:
    form = {k: v for k, v in options.items() if k in _SECONDS or k in _BOOLEANS}
    if isinstance(options.get(NETWORKS), list):
        form[NETWORKS] = ", ".join(str(n) for n in options[NETWORKS])
    return form


def from_form(user_input: dict[str, Any]) -> dict[str, Any]:
    """The ``options`` request for what the form holds (validation is the service's)."""
    options: dict[str, Any] = {}
    for key in _SECONDS:
        if key in user_input:
            value = user_input[key]
            options[key] = int(value) if float(value).is_integer() else value
    for key in _BOOLEANS:
        if key in user_input:
            options[key] = bool(user_input[key])
    if NETWORKS in user_input:
        options[NETWORKS] = [n.strip() for n in str(user_input[NETWORKS]).split(",") if n.strip()]
    communities = [c.strip() for c in str(user_input.get(SNMP_COMMUNITIES, "")).split(",")]
    if any(communities):
        options["snmp_credentials"] = [{"version": "2c", "community": c} for c in communities if c]
    return options
