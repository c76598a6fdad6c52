"""Configuration: every setting declared once (name, type, validator, default) in the
frozen dataclasses below; YAML is validated against the schema derived from them.

Unknown keys are errors. Every error names the key path, the bad value and what was
expected, e.g. ``mqtt.port: expected an integer from 1 to 65535, got 70000``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import voluptuous as vol
import yaml

from .alerts.config import AlertsConfig
from .errors import ConfigError
from .identify.credentials import SnmpCredential
from .schema import (
    CIDRS,
    DEVICE_TYPE,
    INSTANCE_ID,
    LOG_LEVEL,
    NETWORKS,
    OPT_TOPIC,
    PORT,
    SNMP_CREDENTIAL_DATA,
    SNMP_CREDENTIALS,
    SOME_NETWORKS,
    TOPIC,
    device_overrides,
    parse_network,
)
from .settings import build, device_schema, file_schema, section, setting
from .validators import BOOL, OPT_STR, STR, Number, describe, translate

DEFAULT_PASSWORD_ENV = "NETMON_MQTT_PASSWORD"
# Home Assistant's SNMP integration tries this community by default; so does netmon.
DEFAULT_SNMP_CREDENTIALS = (SnmpCredential(version="2c", community="public"),)
MAX_DEVICES = 5000  # the default of ``max_devices``
FLOOD_THRESHOLD = 30  # the default of ``flood_threshold``: strangers a minute
_PASSWORD_IN_URL = re.compile(r"//([^:@/]*):[^@/]*@")
_UNKNOWN_HINT = " (check the spelling; see config/netmon.example.yaml for every key)"


@dataclass(frozen=True)
class MqttConfig:
    """Connection to an external broker; ``host`` None means the embedded broker."""

    host: str | None = setting(OPT_STR, None)
    port: int = setting(PORT, 1883)
    username: str | None = setting(OPT_STR, None)
    password: str | None = setting(OPT_STR, None, secret=True)
    tls: bool = setting(BOOL, False)
    ca_file: str | None = setting(OPT_STR, None)
    cert_file: str | None = setting(OPT_STR, None)
    key_file: str | None = setting(OPT_STR, None)
    base_topic: str = setting(TOPIC, "netmon")
    discovery_prefix: str = setting(TOPIC, "homeassistant")
    ha_status_topic: str = setting(TOPIC, "homeassistant/status")
    keepalive: int = setting(Number(5, 60, integer=True), 60)
    birth_delay: float = setting(Number(0, 60), 3.0)
    retained_wait: float = setting(Number(0, 30), 2.0)
    probes_topic: str = setting(TOPIC, "netmon/probes")
    # Where this probe's local broker publishes its bridge's state on the central broker
    # (mosquitto's ``notification_topic``): "1" connected, "0" dropped (its Last Will there).
    bridge_topic: str | None = setting(OPT_TOPIC, None)


@dataclass(frozen=True)
class EmbeddedBrokerConfig:
    """The amqtt broker started when no external broker is configured. With a ``password``
    clients log in: as ``username`` (everything: the service itself, Home Assistant) or as
    ``viewer`` with ``viewer_password`` (reads states and events, never requests, publishes
    nothing); it must have one to listen beyond loopback (``broker.py``)."""

    host: str = setting(STR, "127.0.0.1")
    port: int = setting(PORT, 1883)
    username: str = setting(STR, "netmon")
    password: str | None = setting(OPT_STR, None, secret=True)
    viewer_password: str | None = setting(OPT_STR, None, secret=True)

    @property
    def loopback_only(self) -> bool:
        """True when only this machine can connect."""
        return self.host == "localhost" or _is_loopback(self.host)


@dataclass(frozen=True)
class DiscoveryConfig:
    """Which discovery and identification methods run, and how hard they push."""

    arp: bool = setting(BOOL, True)
    neighbours: bool = setting(BOOL, True)
    passive: bool = setting(BOOL, True)
    icmp_sweep: bool = setting(BOOL, True)
    ipv6: bool = setting(BOOL, True)
    arp_timeout: float = setting(Number(0.1, 30), 0.5)
    arp_retries: int = setting(Number(0, 10, integer=True), 2)
    arp_rate: int = setting(Number(10, 100000, integer=True), 500)
    use_oui: bool = setting(BOOL, True)
    use_dns: bool = setting(BOOL, True)
    use_mdns: bool = setting(BOOL, True)
    use_ssdp: bool = setting(BOOL, True)
    use_snmp: bool = setting(BOOL, True)
    use_netbios: bool = setting(BOOL, True)
    dns_timeout: float = setting(Number(0.05, 30), 1.0)


@dataclass(frozen=True)
class SnmpConfig:
    """SNMP identification: credentials tried per device, short timeouts."""

    credentials: tuple[SnmpCredential, ...] = setting(SNMP_CREDENTIALS, DEFAULT_SNMP_CREDENTIALS)
    timeout: float = setting(Number(0.05, 30), 1.0)
    retries: int = setting(Number(0, 5, integer=True), 0)
    interfaces_interval: float = setting(Number(0, 3600), 60.0)
    topology_interval: float = setting(Number(0, 86400), 300.0)
    uplink_macs: int = setting(Number(2, 4096, integer=True), 10)


@dataclass(frozen=True)
class RuntimeOptions:
    """The settings the ``options`` request may change at run time (saved in the database,
    applied by ``options.Options``); the file sets them at its top level, except
    ``snmp_credentials``: extra credentials, as plain data, tried before the file's.
    A new run-time option is one line here (and the component that applies it)."""

    networks: tuple[str, ...] = setting(NETWORKS, (), request=SOME_NETWORKS)
    discovery_interval: float = setting(Number(10, 86400), 600.0)
    monitor_interval: float = setting(Number(0.2, 3600), 5.0, device=True)
    metrics_interval: float = setting(Number(0, 3600), 30.0)
    consider_home: float = setting(Number(0, 86400), 180.0, device=True)
    ping_timeout: float = setting(Number(0.05, 30), 1.0, device=True)
    wake_probe: bool = setting(BOOL, True, device=True)
    # Over MQTT, retention has floors: a stranger on the broker cannot empty the history
    # or forget every device (``docs/mqtt.md``); the file (its owner) may set any value.
    history_days: float = setting(Number(0, 3650), 7.0, request=Number(1, 3650))
    track_new_devices: bool = setting(BOOL, True)
    max_consider_home: float = setting(Number(0, 86400), 1800.0)
    forget_after_days: float = setting(Number(0, 3650), 30.0, request=Number(1, 3650, or_zero=True))
    forget_random_after_days: float = setting(
        Number(0, 3650), 7.0, request=Number(1, 3650, or_zero=True)
    )
    snmp_credentials: tuple[Mapping[str, Any], ...] = setting(
        SNMP_CREDENTIAL_DATA, (), in_file=False, secret=True
    )


@dataclass(frozen=True)
class Config(RuntimeOptions):
    """The validated configuration of one netmon-mqtt instance: the run-time options as
    the file sets them, and the settings only the file sets."""

    allowed_networks: tuple[str, ...] = setting(CIDRS, ())
    instance_id: str = setting(INSTANCE_ID, "main")
    database: str = setting(STR, "netmon.db")
    log_level: str = setting(LOG_LEVEL, "info")
    arp_probe: bool = setting(BOOL, True)
    max_devices: int = setting(Number(10, 100000, integer=True), MAX_DEVICES)
    flood_threshold: int = setting(Number(5, 100000, integer=True), FLOOD_THRESHOLD)
    # Device id -> its own values of the settings declared with ``device=True``, and its
    # type (``device_type``: the owner's, never overwritten by a guess).
    devices: Mapping[str, Mapping[str, Any]] = setting(
        device_overrides(
            device_schema(RuntimeOptions).extend({vol.Optional("device_type"): DEVICE_TYPE})
        ),
        factory=dict,
    )

    @property
    def device_types(self) -> dict[str, str]:
        """The types the file sets: device id -> type."""
        return {d: str(o["device_type"]) for d, o in self.devices.items() if "device_type" in o}

    discovery: DiscoveryConfig = section(DiscoveryConfig)
    # broker, password_env, password_file: read once while loading (``_finish_mqtt``).
    mqtt: MqttConfig = section(MqttConfig, broker=OPT_STR, password_env=STR, password_file=STR)
    embedded_broker: EmbeddedBrokerConfig = section(EmbeddedBrokerConfig)
    snmp: SnmpConfig = section(SnmpConfig)
    alerts: AlertsConfig = section(AlertsConfig)

    @property
    def uses_embedded_broker(self) -> bool:
        """True when no external broker is configured."""
        return self.mqtt.host is None

    @property
    def client_mqtt(self) -> MqttConfig:
        """How a client reaches the broker: the configured one, or the embedded one (as its
        ``username`` when it has a password)."""
        if self.mqtt.host is not None:
            return self.mqtt
        embedded = self.embedded_broker
        reached = replace(self.mqtt, host=embedded.host, port=embedded.port)
        if not embedded.password:
            return reached
        return replace(reached, username=embedded.username, password=embedded.password)


ROOT: Final = file_schema(Config)


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
    config = build(Config, raw)
    embedded = config.embedded_broker
    if config.uses_embedded_broker and not embedded.loopback_only and not embedded.password:
        raise ConfigError(
            f"listening on {embedded.host} lets anyone on the network command netmon: set "
            "embedded_broker.password (clients then log in as embedded_broker.username), or "
            "listen on 127.0.0.1",
            "embedded_broker.host",
        )
    wrong = config.alerts.check()
    if wrong:
        raise ConfigError(wrong, "alerts.rules")
    return replace(config, mqtt=_finish_mqtt(config.mqtt, raw.get("mqtt") or {}))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _finish_mqtt(mqtt: MqttConfig, inputs: Mapping[str, Any]) -> MqttConfig:
    """The broker URL and the password's source applied; the topics checked together."""
    broker = inputs.get("broker")
    password_env = inputs.get("password_env")
    password_file = inputs.get("password_file")
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
