"""The Home Assistant add-on's options turned into a netmon configuration (pure).

The add-on's ``config.yaml`` declares the options and their ranges; each option maps to one
configuration key here, and the result is validated like any configuration file. The
add-on's run script calls ``netmon-mqtt addon-config``; the tests check that every option
maps to a real key with the same limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .config import Config, validate
from .errors import ConfigError

# Add-on option -> configuration key path.
OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "networks": ("networks",),
    "instance_id": ("instance_id",),
    "log_level": ("log_level",),
    "discovery_interval": ("discovery_interval",),
    "monitor_interval": ("monitor_interval",),
    "metrics_interval": ("metrics_interval",),
    "consider_home": ("consider_home",),
    "history_days": ("history_days",),
    "track_new_devices": ("track_new_devices",),
    "base_topic": ("mqtt", "base_topic"),
    "mqtt_host": ("mqtt", "host"),
    "mqtt_port": ("mqtt", "port"),
    "mqtt_username": ("mqtt", "username"),
    "mqtt_password": ("mqtt", "password"),
}
DATABASE: Final = "/data/netmon.db"  # the add-on's persistent folder
_SERVICE_KEYS: Final = ("host", "port", "username", "password")  # Supervisor's MQTT service


def config_from_options(
    options: Mapping[str, Any], mqtt_service: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The configuration for ``options`` (unset and empty options left out); the broker
    the Supervisor provides is used unless ``mqtt_host`` is set."""
    raw: dict[str, Any] = {"database": DATABASE}
    for option, value in options.items():
        if option not in OPTIONS:
            raise ConfigError(f"unknown add-on option (known: {', '.join(OPTIONS)})", option)
        if value is None or value == "":
            continue
        *parents, key = OPTIONS[option]
        section = raw
        for parent in parents:
            section = section.setdefault(parent, {})
        section[key] = value
    mqtt = raw.setdefault("mqtt", {})
    if "host" not in mqtt and mqtt_service:
        for key in _SERVICE_KEYS:
            if mqtt_service.get(key) not in (None, ""):
                mqtt[key] = mqtt_service[key]
    return raw


def validated(options: Mapping[str, Any], mqtt_service: Mapping[str, Any] | None) -> Config:
    """The configuration, checked like a configuration file (``ConfigError`` names the key)."""
    return validate(config_from_options(options, mqtt_service))
