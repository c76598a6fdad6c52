"""The Home Assistant add-on and the compose file: every add-on option maps to a real
configuration key with the same limits and default, the options turn into a valid
configuration (the add-on's ``netmon-mqtt addon-config``), translations name every option,
and compose runs the service as the Dockerfile's header says (host network, NET_RAW only).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon_mqtt.addon import DATABASE, OPTIONS, validated
from netmon_mqtt.config import Config, validate
from netmon_mqtt.errors import ConfigError
from netmon_mqtt.settings import setting_at
from netmon_mqtt.validators import Number

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon" / "netmon"
RANGE = re.compile(r"(int|float)\(([-\d.]+),([-\d.]+)\)\??")
SAMPLE = {  # a valid value for every option
    "networks": ["192.168.1.0/24"],
    "instance_id": "attic",
    "log_level": "debug",
    "discovery_interval": 900,
    "monitor_interval": 2.5,
    "metrics_interval": 60,
    "consider_home": 300,
    "history_days": 30,
    "track_new_devices": False,
    "base_topic": "netmon/attic",
    "mqtt_host": "broker.lan",
    "mqtt_port": 1884,
    "mqtt_username": "netmon",
    "mqtt_password": "secret",
}


def _addon() -> dict[str, Any]:
    return yaml.safe_load((ADDON / "config.yaml").read_text())


def _value_at(config: Config, path: tuple[str, ...]) -> Any:
    value: Any = config
    for key in path:
        value = getattr(value, key)
    return value


def test_every_option_has_a_schema_and_maps_to_a_configuration_key() -> None:
    addon = _addon()
    assert set(addon["options"]) <= set(addon["schema"])
    assert set(addon["schema"]) == set(OPTIONS) == set(SAMPLE)
    for required in ("name", "version", "slug", "description", "arch", "startup", "boot"):
        assert required in addon, required
    assert addon["host_network"] is True and addon["privileged"] == ["NET_RAW"]
    assert "mqtt:need" in addon["services"]


def test_ranges_and_defaults_are_netmons_own() -> None:
    addon, defaults = _addon(), Config()
    for option, kind in addon["schema"].items():
        match = RANGE.fullmatch(kind) if isinstance(kind, str) else None
        if match:
            number = setting_at(Config, OPTIONS[option]).check
            assert isinstance(number, Number), option
            low, high = float(match.group(2)), float(match.group(3))
            assert (low, high) == (number.low, number.high), option
        if option in addon["options"] and option != "networks":
            assert addon["options"][option] == _value_at(defaults, OPTIONS[option]), option


def test_options_become_a_valid_configuration_with_each_option_at_its_key() -> None:
    config = validated(SAMPLE, None)
    assert config.database == DATABASE
    for option, value in SAMPLE.items():
        found = _value_at(config, OPTIONS[option])
        expected = tuple(value) if isinstance(value, list) else value
        assert found == expected, option


def test_the_supervisors_broker_is_used_unless_another_is_set() -> None:
    service = {"host": "core-mosquitto", "port": 1883, "username": "addons", "password": "pw"}
    options = {"networks": ["192.168.1.0/24"], "mqtt_host": ""}
    mqtt = validated(options, service).mqtt
    assert (mqtt.host, mqtt.port, mqtt.username, mqtt.password) == (
        "core-mosquitto",
        1883,
        "addons",
        "pw",
    )
    own = validated({**options, "mqtt_host": "broker.lan"}, service).mqtt
    assert own.host == "broker.lan" and own.username is None


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"networks": ["192.168.1.0/24"], "monitor_interval": 0.1}, "monitor_interval"),
        ({"networks": ["not a network"]}, "networks"),
        ({"networks": ["192.168.1.0/24"], "colour": "blue"}, "colour"),
    ],
)
def test_a_bad_option_is_a_clear_error_naming_it(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validated(options, None)
    assert key in str(caught.value)


def test_the_run_scripts_command_prints_the_configuration(tmp_path: Path) -> None:
    options, service = tmp_path / "options.json", tmp_path / "mqtt.json"
    options.write_text(json.dumps({"networks": ["10.0.0.0/24"], "log_level": "info"}))
    service.write_text(json.dumps({"host": "core-mosquitto", "port": 1883}))
    command = [sys.executable, "-m", "netmon_mqtt", "addon-config", str(options)]
    done = subprocess.run(
        [*command, "--mqtt-service", str(service)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    printed = yaml.safe_load(done.stdout)
    assert validate(printed).mqtt.host == "core-mosquitto"
    options.write_text(json.dumps({"networks": ["10.0.0.0/24"], "monitor_interval": 0}))
    bad = subprocess.run(command, capture_output=True, text=True, check=False)
    assert bad.returncode != 0 and "monitor_interval" in bad.stderr and not bad.stdout
    assert "Traceback" not in bad.stderr
    # The run script calls exactly this command.
    assert "netmon-mqtt addon-config /data/options.json" in (ADDON / "run.sh").read_text()


def test_translations_name_and_describe_every_option() -> None:
    translations = yaml.safe_load((ADDON / "translations" / "en.yaml").read_text())
    configuration = translations["configuration"]
    assert set(configuration) == set(_addon()["schema"])
    for option, text in configuration.items():
        assert text["name"] and text["description"], option


def test_compose_runs_the_service_on_the_host_network_with_net_raw_only() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    netmon = compose["services"]["netmon"]
    assert netmon["network_mode"] == "host"
    assert netmon["cap_drop"] == ["ALL"] and netmon["cap_add"] == ["NET_RAW"]
    assert any(v.endswith(":/data") for v in netmon["volumes"])
    assert compose["services"]["mosquitto"]["profiles"] == ["broker"]
    local = compose["services"]["mosquitto"]["volumes"][0].split(":")[0]
    assert (ROOT / local).is_file()
