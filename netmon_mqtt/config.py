"""Configuration: YAML validated with voluptuous into frozen dataclasses.

Unknown keys are errors. Every error names the key path, the bad value and what was
expected, e.g. ``mqtt.port: expected an integer from 1 to 65535, got 70000``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import voluptuous as vol
import yaml

from .errors import ConfigError
from .identify.snmp_credentials import SnmpCredential
from .schema import PRIVATE_NETWORKS, ROOT, parse_network
from .validators import describe, translate

DEFAULT_PASSWORD_ENV = "NETMON_MQTT_PASSWORD"
# Home Assistant's SNMP integration tries this community by default; so does netmon.
DEFAULT_SNMP_CREDENTIALS = (SnmpCredential(version="2c", community="public"),)
_PASSWORD_IN_URL = re.compile(r"//([^:@/]*):[^@/]*@")
_UNKNOWN_HINT = " (check the spelling; see config/netmon.example.yaml for every key)"


@dataclass(frozen=True)
class MqttConfig:
    """Connection to an external broker; ``host`` None means the embedded broker."""

    host: str | None = None
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    base_topic: str = "netmon"
    discovery_prefix: str = "homeassistant"
    ha_status_topic: str = "homeassistant/status"
    keepalive: int = 60
    birth_delay: float = 3.0
    retained_wait: float = 2.0
    probes_topic: str = "netmon/probes"


@dataclass(frozen=True)
class EmbeddedBrokerConfig:
    """The amqtt broker started when no external broker is configured."""

    host: str = "127.0.0.1"
    port: int = 1883


@dataclass(frozen=True)
class DiscoveryConfig:
    """Which discovery and identification methods run, and how hard they push."""

    arp: bool = True
    neighbours: bool = True
    passive: bool = True
    icmp_sweep: bool = True
    ipv6: bool = True
    arp_timeout: float = 0.5
    arp_retries: int = 2
    arp_rate: int = 500
    use_oui: bool = True
    use_dns: bool = True
    use_mdns: bool = True
    use_ssdp: bool = True
    use_snmp: bool = True
    use_netbios: bool = True
    dns_timeout: float = 1.0


@dataclass(frozen=True)
class SnmpConfig:
    """SNMP identification: credentials tried per device, short timeouts."""

    credentials: tuple[SnmpCredential, ...] = DEFAULT_SNMP_CREDENTIALS
    timeout: float = 1.0
    retries: int = 0
    interfaces_interval: float = 60.0
    topology_interval: float = 300.0
    uplink_macs: int = 10


@dataclass(frozen=True)
class Config:
    """The validated configuration of one netmon-mqtt instance."""

    networks: tuple[str, ...] = ()
    allowed_networks: tuple[str, ...] = PRIVATE_NETWORKS
    instance_id: str = "main"
    database: str = "netmon.db"
    log_level: str = "info"
    discovery_interval: float = 600.0
    monitor_interval: float = 5.0
    metrics_interval: float = 30.0
    consider_home: float = 180.0
    max_consider_home: float = 1800.0
    ping_timeout: float = 1.0
    wake_probe: bool = True
    arp_probe: bool = True
    history_days: float = 7.0
    forget_after_days: float = 30.0
    forget_random_after_days: float = 7.0
    track_new_devices: bool = True
    devices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    discovery: DiscoveryConfig = DiscoveryConfig()
    mqtt: MqttConfig = MqttConfig()
    embedded_broker: EmbeddedBrokerConfig = EmbeddedBrokerConfig()
    snmp: SnmpConfig = SnmpConfig()

    @property
    def uses_embedded_broker(self) -> bool:
        """True when no external broker is configured."""
        return self.mqtt.host is None

    @property
    def client_mqtt(self) -> MqttConfig:
        """How a client reaches the broker: the configured one, or the embedded one."""
        if self.mqtt.host is not None:
            return self.mqtt
        embedded = self.embedded_broker
        return replace(self.mqtt, host=embedded.host, port=embedded.port)


def validate(data: Any) -> Config:
    """Validate a parsed YAML document (``None`` means empty) into a ``Config``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping of settings, got {describe(data)}", "(top)")
    try:
        raw = ROOT(dict(data))
    except vol.Invalid as err:
        raise translate(err, data, _UNKNOWN_HINT) from None
    return _build(raw)


def _build(raw: dict[str, Any]) -> Config:
    mqtt_raw = dict(raw.pop("mqtt", None) or {})
    discovery = DiscoveryConfig(**(raw.pop("discovery", None) or {}))
    embedded = EmbeddedBrokerConfig(**(raw.pop("embedded_broker", None) or {}))
    networks = tuple(raw.pop("networks", ()) or ())
    if "allowed_networks" in raw:
        raw["allowed_networks"] = tuple(raw["allowed_networks"])
    raw["devices"] = dict(raw.get("devices") or {})
    snmp_raw = dict(raw.pop("snmp", None) or {})
    credentials = snmp_raw.pop("credentials", DEFAULT_SNMP_CREDENTIALS)
    snmp = SnmpConfig(credentials=tuple(credentials), **snmp_raw)
    mqtt = _build_mqtt(mqtt_raw)
    return Config(
        networks=networks,
        discovery=discovery,
        embedded_broker=embedded,
        mqtt=mqtt,
        snmp=snmp,
        **raw,
    )


def _build_mqtt(raw: dict[str, Any]) -> MqttConfig:
    broker = raw.pop("broker", None)
    password_env = raw.pop("password_env", None)
    password_file = raw.pop("password_file", None)
    mqtt = MqttConfig(**raw)
    if broker:
        mqtt = apply_broker_url(mqtt, broker, "mqtt.broker")
    mqtt = _resolve_password(mqtt, password_env, password_file)
    if mqtt.base_topic.split("/")[0] == mqtt.discovery_prefix.split("/")[0]:
        raise ConfigError(
            f"expected a base topic different from the discovery prefix, got "
            f"{describe(mqtt.base_topic)}",
            "mqtt.base_topic",
        )
    return mqtt


def _resolve_password(
    mqtt: MqttConfig, env_name: str | None, password_file: str | None
) -> MqttConfig:
    if mqtt.password is not None:
        return mqtt
    if password_file is not None:
        try:
            secret = Path(password_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(
                f"expected a readable file, got {describe(password_file)} ({err.strerror})",
                "mqtt.password_file",
            ) from None
        return replace(mqtt, password=secret)
    name = env_name or DEFAULT_PASSWORD_ENV
    if env_name and name not in os.environ:
        raise ConfigError(
            f"expected environment variable {name} to be set, got nothing", "mqtt.password_env"
        )
    return replace(mqtt, password=os.environ.get(name, mqtt.password))


def apply_broker_url(mqtt: MqttConfig, url: str, path: str = "--broker") -> MqttConfig:
    """Apply ``mqtt[s]://[user[:password]@]host[:port]`` to an MQTT config."""
    expected = "a URL such as mqtt://user@host:1883 or mqtts://host"
    shown = describe(_PASSWORD_IN_URL.sub(r"//\1:***@", url))  # the password never shows
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"expected {expected}, got {shown}", path) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(f"expected {expected}, got {shown}", path)
    tls = parts.scheme == "mqtts"
    return replace(
        mqtt,
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls or mqtt.tls,
        username=unquote(parts.username) if parts.username else mqtt.username,
        password=unquote(parts.password) if parts.password else mqtt.password,
    )


def load(path: str | Path | None) -> Config:
    """Read and validate a YAML file; ``None`` gives the embedded defaults."""
    if path is None:
        return validate({})
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ConfigError(
            f"cannot read {path}: {reason}; check the path, or start from "
            "config/netmon.example.yaml"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(err)}") from None
    return validate(data)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error on one line: what is wrong and where (PyYAML's text spans lines)."""
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}; fix it there"


def with_overrides(
    config: Config,
    *,
    networks: list[str] | None = None,
    broker: str | None = None,
    database: str | None = None,
) -> Config:
    """Apply command-line flags, which win over the file."""
    if networks:
        checked: list[str] = []
        for index, item in enumerate(networks):
            try:
                checked.append(parse_network(item))
            except vol.Invalid as err:
                raise ConfigError(err.msg, f"--network[{index}]") from None
        config = replace(config, networks=tuple(checked))
    if broker:
        config = replace(config, mqtt=apply_broker_url(config.mqtt, broker))
    if database:
        config = replace(config, database=database)
    return config
