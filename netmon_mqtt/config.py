"""Configuration: YAML validated with voluptuous into frozen dataclasses.

Unknown keys are errors. Every error names the key path, the bad value and what was
expected, e.g. ``mqtt.port: expected an integer from 1 to 65535, got 70000``.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import voluptuous as vol
import yaml

from .errors import ConfigError
from .identify.snmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpCredential
from .macs import normalise_mac

DEFAULT_PASSWORD_ENV = "NETMON_MQTT_PASSWORD"
_IFNAME = re.compile(r"^[A-Za-z0-9_.@-][A-Za-z0-9_.:@-]{0,14}$")
_TOPIC_SEGMENT = re.compile(r"^[^#+\s]+$")
_INSTANCE_ID = re.compile(r"^[a-z0-9_]{1,32}$")
# Refuse sweeping more than a /16 (65 536 addresses): almost always a typo.
MIN_IPV4_PREFIX = 16
MIN_IPV6_PREFIX = 64


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
    dns_timeout: float = 1.0


@dataclass(frozen=True)
class SnmpConfig:
    """SNMP identification: credentials tried per device, short timeouts."""

    credentials: tuple[SnmpCredential, ...] = ()
    timeout: float = 1.0
    retries: int = 0


@dataclass(frozen=True)
class Config:
    """The validated configuration of one netmon-mqtt instance."""

    networks: tuple[str, ...] = ()
    instance_id: str = "main"
    database: str = "netmon.db"
    log_level: str = "info"
    discovery_interval: float = 600.0
    monitor_interval: float = 5.0
    metrics_interval: float = 30.0
    consider_home: float = 180.0
    ping_timeout: float = 1.0
    wake_probe: bool = True
    arp_probe: bool = True
    history_days: float = 7.0
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


def _describe(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _check(expected: str, test: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A validator that returns ``test(value)`` or fails with 'expected ..., got ...'."""

    def validate(value: Any) -> Any:
        try:
            return test(value)
        except (ValueError, TypeError) as err:
            raise vol.Invalid(f"expected {expected}, got {_describe(value)}") from err

    return validate


def _number(low: float, high: float, *, integer: bool = False) -> Callable[[Any], Any]:
    kind = "an integer" if integer else "a number"

    def test(value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError
        if integer and not isinstance(value, int):
            raise TypeError
        if not low <= value <= high:
            raise ValueError
        return value if integer else float(value)

    return _check(f"{kind} from {low:g} to {high:g}", test)


def _typed(kind: type, expected: str) -> Callable[[Any], Any]:
    def test(value: Any) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError
        return value

    return _check(expected, test)


def _matching(pattern: re.Pattern[str], expected: str) -> Callable[[Any], Any]:
    def test(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError
        return value

    return _check(expected, test)


def _choice(*options: str) -> Callable[[Any], Any]:
    def test(value: Any) -> str:
        if value not in options:
            raise ValueError
        return str(value)

    return _check("one of " + ", ".join(options), test)


def parse_network(value: Any) -> str:
    """Validate one ``networks`` entry: a CIDR, an interface name or ``auto``."""
    expected = "a CIDR such as 192.168.1.0/24, an interface name, or 'auto'"
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid(f"expected {expected}, got {_describe(value)}")
    text = value.strip()
    if text == "auto" or ("/" not in text and _IFNAME.match(text) and not _looks_like_ip(text)):
        return text
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise vol.Invalid(f"expected {expected}, got {_describe(value)}") from err
    smallest = MIN_IPV4_PREFIX if net.version == 4 else MIN_IPV6_PREFIX
    if net.prefixlen < smallest:
        raise vol.Invalid(f"expected a network no larger than /{smallest}, got {_describe(value)}")
    return str(net)


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(re.fullmatch(r"[\d.]+", text))
    return True


_STR = _typed(str, "a string")
_BOOL = _typed(bool, "true or false")
_OPT_STR = vol.Any(None, _STR)
_PORT = _number(1, 65535, integer=True)
_TOPIC = _matching(_TOPIC_SEGMENT, "an MQTT topic without wildcards or spaces")

_MQTT = vol.Schema(
    {
        vol.Optional("broker"): _OPT_STR,
        vol.Optional("host"): _OPT_STR,
        vol.Optional("port"): _PORT,
        vol.Optional("username"): _OPT_STR,
        vol.Optional("password"): _OPT_STR,
        vol.Optional("password_env"): _STR,
        vol.Optional("password_file"): _STR,
        vol.Optional("tls"): _BOOL,
        vol.Optional("ca_file"): _OPT_STR,
        vol.Optional("cert_file"): _OPT_STR,
        vol.Optional("key_file"): _OPT_STR,
        vol.Optional("base_topic"): _TOPIC,
        vol.Optional("discovery_prefix"): _TOPIC,
        vol.Optional("ha_status_topic"): _TOPIC,
        vol.Optional("keepalive"): _number(5, 60, integer=True),
        vol.Optional("birth_delay"): _number(0, 60),
        vol.Optional("retained_wait"): _number(0, 30),
    }
)

_DISCOVERY = vol.Schema(
    {
        vol.Optional("arp"): _BOOL,
        vol.Optional("neighbours"): _BOOL,
        vol.Optional("passive"): _BOOL,
        vol.Optional("icmp_sweep"): _BOOL,
        vol.Optional("ipv6"): _BOOL,
        vol.Optional("arp_timeout"): _number(0.1, 30),
        vol.Optional("arp_retries"): _number(0, 10, integer=True),
        vol.Optional("arp_rate"): _number(10, 100000, integer=True),
        vol.Optional("use_oui"): _BOOL,
        vol.Optional("use_dns"): _BOOL,
        vol.Optional("use_mdns"): _BOOL,
        vol.Optional("use_ssdp"): _BOOL,
        vol.Optional("use_snmp"): _BOOL,
        vol.Optional("dns_timeout"): _number(0.05, 30),
    }
)


def _mac_or_id(value: Any) -> str:
    if isinstance(value, str):
        try:
            return normalise_mac(value)
        except ValueError:
            if re.fullmatch(r"[0-9a-f]{12}|ip_[0-9a-f]{8,32}", value):
                return value
    raise vol.Invalid(f"expected a MAC address or a device id, got {_describe(value)}")


def _device_key(value: Any) -> str:
    """A ``devices`` key: a MAC (any notation) or a device id, as the device id."""
    return _mac_or_id(value).replace(":", "")


def _cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError as err:
        raise vol.Invalid(
            f"expected a CIDR such as 192.168.1.0/24, got {_describe(value)}"
        ) from err


def _credential(value: Any) -> SnmpCredential:
    version = str(value.get("version", "2c"))
    if version == "2c" and not value.get("community"):
        raise vol.Invalid("expected a community for SNMP v2c, got none")
    if version == "3" and not value.get("username"):
        raise vol.Invalid("expected a username for SNMP v3, got none")
    auth, priv = value.get("auth_protocol", "none"), value.get("priv_protocol", "none")
    for protocol, key in ((auth, "auth_key"), (priv, "priv_key")):
        secret = value.get(key)
        if protocol != "none" and (not secret or len(secret) < 8):
            raise vol.Invalid(f"expected {key} of at least 8 characters for {protocol}")
    if priv != "none" and auth == "none":
        raise vol.Invalid("expected an auth_protocol: SNMP v3 privacy needs authentication")
    return SnmpCredential(
        version=version,
        community=value.get("community"),
        username=value.get("username"),
        auth_protocol=auth,
        auth_key=value.get("auth_key"),
        priv_protocol=priv,
        priv_key=value.get("priv_key"),
        networks=tuple(value.get("networks", ())),
        devices=tuple(value.get("devices", ())),
    )


_SNMP_CREDENTIAL = vol.Schema(
    {
        vol.Optional("version"): _choice("2c", "3"),
        vol.Optional("community"): _STR,
        vol.Optional("username"): _STR,
        vol.Optional("auth_protocol"): _choice(*AUTH_PROTOCOLS),
        vol.Optional("auth_key"): _STR,
        vol.Optional("priv_protocol"): _choice(*PRIV_PROTOCOLS),
        vol.Optional("priv_key"): _STR,
        vol.Optional("networks"): [_cidr],
        vol.Optional("devices"): [_mac_or_id],
    }
)


def _credential_dict(value: Any) -> dict[str, Any]:
    """A credential checked like the configuration file's, kept as plain data (it is
    saved in the database with the other run-time options)."""
    _credential(value)
    return dict(value)


def credentials_from(values: list[dict[str, Any]]) -> tuple[SnmpCredential, ...]:
    """SNMP credentials from their saved form (``snmp_credentials`` option)."""
    return tuple(_credential(value) for value in values)


_SNMP = vol.Schema(
    {
        vol.Optional("timeout"): _number(0.05, 30),
        vol.Optional("retries"): _number(0, 5, integer=True),
        vol.Optional("credentials"): [vol.All(_SNMP_CREDENTIAL, _credential)],
    }
)

# Settings the ``options`` request may change at run time (persisted in the database).
RUNTIME_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "discovery_interval": _number(10, 86400),
    "monitor_interval": _number(0.2, 3600),
    "metrics_interval": _number(0, 3600),
    "consider_home": _number(0, 86400),
    "ping_timeout": _number(0.05, 30),
    "wake_probe": _BOOL,
    "history_days": _number(0, 3650),
    "track_new_devices": _BOOL,
    "networks": vol.All(_typed(list, "a list of networks"), vol.Length(min=1), [parse_network]),
    "snmp_credentials": vol.Schema([vol.All(_SNMP_CREDENTIAL, _credential_dict)]),
}

_ROOT = vol.Schema(
    {
        vol.Optional("networks"): vol.All(_typed(list, "a list of networks"), [parse_network]),
        vol.Optional("instance_id"): _matching(
            _INSTANCE_ID, "1-32 lower-case letters, digits or '_'"
        ),
        vol.Optional("database"): _STR,
        vol.Optional("log_level"): _choice("debug", "info", "warning", "error"),
        vol.Optional("discovery_interval"): _number(10, 86400),
        vol.Optional("monitor_interval"): _number(0.2, 3600),
        vol.Optional("metrics_interval"): _number(0, 3600),
        vol.Optional("consider_home"): _number(0, 86400),
        vol.Optional("ping_timeout"): _number(0.05, 30),
        vol.Optional("wake_probe"): _BOOL,
        vol.Optional("arp_probe"): _BOOL,
        vol.Optional("history_days"): _number(0, 3650),
        vol.Optional("track_new_devices"): _BOOL,
        vol.Optional("devices"): vol.Any(
            None,
            vol.All(
                _typed(dict, "a mapping of MAC address or device id to settings"),
                {
                    _device_key: vol.Schema(
                        {
                            vol.Optional("consider_home"): _number(0, 86400),
                            vol.Optional("monitor_interval"): _number(0.2, 3600),
                            vol.Optional("ping_timeout"): _number(0.05, 30),
                            vol.Optional("wake_probe"): _BOOL,
                        }
                    )
                },
            ),
        ),
        vol.Optional("discovery"): vol.Any(None, _DISCOVERY),
        vol.Optional("mqtt"): vol.Any(None, _MQTT),
        vol.Optional("snmp"): vol.Any(None, _SNMP),
        vol.Optional("embedded_broker"): vol.Any(
            None,
            vol.Schema({vol.Optional("host"): _STR, vol.Optional("port"): _PORT}),
        ),
    }
)


def _format_path(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _first_error(err: vol.Invalid) -> vol.Invalid:
    errors = getattr(err, "errors", None)
    if errors:
        # vol.Any reports the last alternative; prefer the deepest path.
        deepest: vol.Invalid = max(errors, key=lambda e: len(e.path))
        return deepest
    return err


def _value_at(data: Any, path: list[Any]) -> Any:
    for part in path:
        if (isinstance(data, Mapping) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        ):
            data = data[part]
        else:
            return None
    return data


def _translate(err: vol.Invalid, data: Any) -> ConfigError:
    error = _first_error(err)
    path = _format_path(list(error.path))
    if error.msg.startswith("extra keys not allowed"):
        return ConfigError(
            f"unknown key {_describe(error.path[-1])} (check the spelling; see "
            "config/netmon.example.yaml for every key)",
            path,
        )
    message = error.msg
    if not message.startswith("expected"):
        message = f"{message}, got {_describe(_value_at(data, list(error.path)))}"
    return ConfigError(message, path)


def validate(data: Any) -> Config:
    """Validate a parsed YAML document (``None`` means empty) into a ``Config``."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a mapping of settings, got {_describe(data)}", "(top)")
    try:
        raw = _ROOT(dict(data))
    except vol.Invalid as err:
        raise _translate(err, data) from None
    return _build(raw)


def _build(raw: dict[str, Any]) -> Config:
    mqtt_raw = dict(raw.pop("mqtt", None) or {})
    discovery = DiscoveryConfig(**(raw.pop("discovery", None) or {}))
    embedded = EmbeddedBrokerConfig(**(raw.pop("embedded_broker", None) or {}))
    networks = tuple(raw.pop("networks", ()) or ())
    raw["devices"] = dict(raw.get("devices") or {})
    snmp_raw = dict(raw.pop("snmp", None) or {})
    snmp = SnmpConfig(credentials=tuple(snmp_raw.pop("credentials", ())), **snmp_raw)
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
            f"{_describe(mqtt.base_topic)}",
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
                f"expected a readable file, got {_describe(password_file)} ({err.strerror})",
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
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigError(f"expected {expected}, got {_describe(url)}", path) from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ConfigError(f"expected {expected}, got {_describe(url)}", path)
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
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    return validate(data)


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
