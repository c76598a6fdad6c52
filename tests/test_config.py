"""Configuration: validation, error messages naming the key, and the CLI's exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import voluptuous as vol

from netmon_mqtt.commands import OPTIONS
from netmon_mqtt.config import (
    ConfigError,
    MqttConfig,
    apply_broker_url,
    load,
    validate,
    with_overrides,
)
from netmon_mqtt.validators import translate

EXAMPLE = Path(__file__).parent.parent / "config" / "netmon.example.yaml"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netmon_mqtt", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_example_config_is_valid_and_documents_every_key() -> None:
    config = load(EXAMPLE)
    assert config.networks == ("192.168.1.0/24",)
    text = EXAMPLE.read_text()
    for key in (
        "instance_id",
        "database",
        "log_level",
        "discovery_interval",
        "monitor_interval",
        "metrics_interval",
        "consider_home",
        "ping_timeout",
        "arp_timeout",
        "arp_retries",
        "arp_rate",
        "use_oui",
        "use_dns",
        "dns_timeout",
        "broker",
        "host",
        "port",
        "username",
        "password",
        "password_file",
        "password_env",
        "tls",
        "ca_file",
        "cert_file",
        "key_file",
        "base_topic",
        "discovery_prefix",
        "ha_status_topic",
        "keepalive",
        "birth_delay",
        "retained_wait",
        "probes_topic",
        "bridge_topic",
        "topology_interval",
        "uplink_macs",
        "embedded_broker",
        "neighbours",
    ):
        assert f"{key}:" in text, key


def test_defaults() -> None:
    config = validate({"networks": ["10.1.0.0/24"]})
    assert config.discovery_interval == 600
    assert config.monitor_interval == 5
    assert config.consider_home == 180
    assert config.uses_embedded_broker
    assert config.embedded_broker.host == "127.0.0.1"
    assert config.embedded_broker.port == 1883


BAD_CASES = [
    ("unknown key", "networks: [10.0.0.0/24]\nnetwork_scan: true\n", "network_scan", "unknown key"),
    (
        "nested unknown key",
        "networks: [10.0.0.0/24]\nmqtt:\n  hots: x\n",
        "mqtt.hots",
        "unknown key",
    ),
    ("bad CIDR", "networks: [10.0.0.0/33]\n", "networks[0]", "'10.0.0.0/33'"),
    ("bad address", "networks: [10.0.300.0/24]\n", "networks[0]", "'10.0.300.0/24'"),
    ("network too large", "networks: [10.0.0.0/8]\n", "networks[0]", "no larger than /16"),
    ("no networks", "instance_id: main\n", "networks", "expected at least one network"),
    ("empty networks", "networks: []\n", "networks", "expected at least one network"),
    ("bad port", "networks: [10.0.0.0/24]\nmqtt:\n  port: 70000\n", "mqtt.port", "70000"),
    (
        "alert target of an unknown scheme (the URL, a secret, never shown)",
        "networks: [10.0.0.0/24]\nalerts:\n  targets: [{name: a, url: 'bogus://user:s3cret@h'}]\n",
        "alerts.targets[0].url",
        "a 'bogus://' URL it does not accept",
    ),
    (
        "alert rule of no known event",
        "networks: [10.0.0.0/24]\nalerts:\n  rules: [{event: toaster}]\n",
        "alerts.rules[0].event",
        "toaster",
    ),
    (
        "alert target whose secret is missing",
        "networks: [10.0.0.0/24]\nalerts:\n  targets: [{name: a, url_env: NETMON_TEST_UNSET}]\n",
        "alerts.targets[0].url_env",
        "is not set",
    ),
    (
        "alert rule naming no target",
        "networks: [10.0.0.0/24]\nalerts:\n  targets: [{name: a, url: 'json://h/x'}]\n"
        "  rules: [{event: unhealthy, targets: [b]}]\n",
        "alerts.rules",
        "no target named b",
    ),
    (
        "bridge topic with a wildcard",
        "networks: [10.0.0.0/24]\nmqtt:\n  bridge_topic: netmon/+/bridge/connection\n",
        "mqtt.bridge_topic",
        "without wildcards",
    ),
    ("port wrong type", "networks: [10.0.0.0/24]\nmqtt:\n  port: abc\n", "mqtt.port", "'abc'"),
    (
        "interval wrong type",
        "networks: [10.0.0.0/24]\nmonitor_interval: fast\n",
        "monitor_interval",
        "expected a number",
    ),
    (
        "bool wrong type",
        "networks: [10.0.0.0/24]\ndiscovery:\n  arp: maybe\n",
        "discovery.arp",
        "expected true or false",
    ),
    ("networks not a list", "networks: 10.0.0.0/24\n", "networks", "expected a list"),
    (
        "embedded port",
        "networks: [eth0]\nembedded_broker:\n  port: 0\n",
        "embedded_broker.port",
        "expected an integer from 1 to 65535",
    ),
    ("bad instance id", "networks: [eth0]\ninstance_id: My Home\n", "instance_id", "'My Home'"),
    (
        "prefix equals base",
        "networks: [eth0]\nmqtt:\n  base_topic: homeassistant\n",
        "mqtt.base_topic",
        "different from the discovery prefix",
    ),
    (
        "bad broker URL",
        "networks: [eth0]\nmqtt:\n  broker: http://x\n",
        "mqtt.broker",
        "expected a URL",
    ),
    ("top level not a mapping", "- 10.0.0.0/24\n", "(top)", "expected a mapping"),
    ("invalid YAML", "networks: [10.0.0.0/24\n", "not valid YAML", "not valid YAML"),
]


@pytest.mark.parametrize(
    ("text", "key", "detail"), [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES]
)
def test_check_config_rejects_bad_input(tmp_path: Path, text: str, key: str, detail: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = _cli("check-config", str(path))
    assert result.returncode == 2
    assert key in result.stderr
    assert detail in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout  # a secret is never shown


def test_run_rejects_bad_config_before_doing_anything(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("networks: [10.0.0.0/24]\nmqtt:\n  port: -1\n")
    database = tmp_path / "never.db"
    result = _cli("run", "--config", str(path), "--database", str(database))
    assert result.returncode == 2
    assert "mqtt.port" in result.stderr and "-1" in result.stderr
    assert not database.exists()


def test_run_without_networks_lists_detected_networks_and_exits(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    result = _cli("run", "--database", str(database))
    assert result.returncode == 2
    assert "networks: no networks configured" in result.stderr
    assert "--network CIDR" in result.stderr
    assert not database.exists()


def test_run_rejects_a_bad_network_flag(tmp_path: Path) -> None:
    result = _cli("run", "--network", "10.0.0.0/99", "--database", str(tmp_path / "x.db"))
    assert result.returncode == 2
    assert "--network[0]" in result.stderr


def test_check_config_accepts_the_example() -> None:
    result = _cli("check-config", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_password_from_default_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETMON_MQTT_PASSWORD", "s3cret")
    config = validate({"networks": ["eth0"], "mqtt": {"host": "broker", "username": "u"}})
    assert config.mqtt.password == "s3cret"
    assert "s3cret" not in repr(config)


def test_password_env_names_a_required_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_MQTT_PW", raising=False)
    with pytest.raises(ConfigError, match=r"mqtt.password_env: .*MY_MQTT_PW"):
        validate({"networks": ["eth0"], "mqtt": {"password_env": "MY_MQTT_PW"}})
    monkeypatch.setenv("MY_MQTT_PW", "pw")
    assert (
        validate({"networks": ["eth0"], "mqtt": {"password_env": "MY_MQTT_PW"}}).mqtt.password
        == "pw"
    )


def test_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    config = validate({"networks": ["eth0"], "mqtt": {"password_file": str(secret)}})
    assert config.mqtt.password == "from-file"
    with pytest.raises(ConfigError, match=r"mqtt\.password_file"):
        validate({"networks": ["eth0"], "mqtt": {"password_file": str(tmp_path / "missing")}})


def test_broker_url() -> None:
    mqtt = apply_broker_url(MqttConfig(), "mqtts://user:p%40ss@broker.lan")
    assert (mqtt.host, mqtt.port, mqtt.tls, mqtt.username, mqtt.password) == (
        "broker.lan",
        8883,
        True,
        "user",
        "p@ss",
    )
    mqtt = apply_broker_url(MqttConfig(), "mqtt://netmon@10.0.0.2:1884")
    assert (mqtt.host, mqtt.port, mqtt.tls, mqtt.username) == ("10.0.0.2", 1884, False, "netmon")
    for bad in ("broker.lan", "mqtt://", "mqtt://host:99999", "tcp://host"):
        with pytest.raises(ConfigError, match="--broker"):
            apply_broker_url(MqttConfig(), bad)


def test_flags_override_the_file() -> None:
    config = validate({"networks": ["eth0"], "database": "a.db", "mqtt": {"host": "file-broker"}})
    config = with_overrides(
        config, networks=["10.9.0.0/24", "auto"], broker="mqtt://cli-broker:1999", database="b.db"
    )
    assert config.networks == ("10.9.0.0/24", "auto")
    assert config.database == "b.db"
    assert (config.mqtt.host, config.mqtt.port) == ("cli-broker", 1999)
    assert not config.uses_embedded_broker


def test_networks_are_normalised() -> None:
    config = validate({"networks": ["10.1.2.3/24", "eth0.10", "auto", "br-lan"]})
    assert config.networks == ("10.1.2.0/24", "eth0.10", "auto", "br-lan")


def test_snmp_tries_public_unless_credentials_are_listed() -> None:
    default = validate({"networks": ["eth0"]}).snmp.credentials
    assert [(c.version, c.community) for c in default] == [("2c", "public")]
    assert validate({"networks": ["eth0"], "snmp": {"credentials": []}}).snmp.credentials == ()
    own = validate({"networks": ["eth0"], "snmp": {"credentials": [{"community": "x"}]}})
    assert [c.community for c in own.snmp.credentials] == ["x"]


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("monitor_interval", 0.1, "expected a number from 0.2 to 3600, got 0.1"),
        ("consider_home", -1, "expected a number from 0 to 86400, got -1"),
        ("ping_timeout", 31, "expected a number from 0.05 to 30, got 31"),
        ("wake_probe", "yes", "expected true or false, got 'yes'"),
    ],
)
def test_a_setting_has_one_limit_wherever_it_is_checked(
    key: str, bad: object, message: str
) -> None:
    """The file's top level, a device's override and the ``options`` request agree."""
    with pytest.raises(ConfigError, match=f"^{key}: {message}$"):
        validate({"networks": ["eth0"], key: bad})
    device = "aa:bb:cc:dd:ee:ff"
    with pytest.raises(ConfigError, match=f"^devices.{device}.{key}: {message}$"):
        validate({"networks": ["eth0"], "devices": {device: {key: bad}}})
    with pytest.raises(vol.Invalid) as caught:
        OPTIONS({"options": {key: bad}})
    assert str(translate(caught.value, {})) == f"options.{key}: {message}"
