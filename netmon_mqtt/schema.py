"""The configuration schema: every setting's one name and one declared limit.

``SETTINGS`` holds the settings that exist in more than one place (the configuration file,
the run-time ``options`` request, per-device overrides); each is validated by the same
validator wherever it is checked. The Home Assistant component's copies are checked against
these by the tests.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, Final

import voluptuous as vol

from .identify.snmp_credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpCredential
from .macs import normalise_mac
from .validators import (
    BOOL,
    OPT_STR,
    STR,
    Number,
    Validator,
    choice,
    describe,
    matching,
    typed,
)

_IFNAME = re.compile(r"^[A-Za-z0-9_.@-][A-Za-z0-9_.:@-]{0,14}$")
_TOPIC_SEGMENT = re.compile(r"^[^#+\s]+$")
_INSTANCE_ID = re.compile(r"^[a-z0-9_]{1,32}$")
# Refuse sweeping more than a /16 (65 536 addresses): almost always a typo.
MIN_IPV4_PREFIX = 16
MIN_IPV6_PREFIX = 64
# What networks set over MQTT (the ``options`` request) may lie in, unless the file's
# ``allowed_networks`` says otherwise: private (RFC 1918, IPv6 unique local) and link-local.
PRIVATE_NETWORKS: Final = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
)


def parse_network(value: Any) -> str:
    """Validate one ``networks`` entry: a CIDR, an interface name or ``auto``."""
    expected = "a CIDR such as 192.168.1.0/24, an interface name, or 'auto'"
    if not isinstance(value, str) or not value.strip():
        raise vol.Invalid(f"expected {expected}, got {describe(value)}")
    text = value.strip()
    if text == "auto" or ("/" not in text and _IFNAME.match(text) and not _looks_like_ip(text)):
        return text
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise vol.Invalid(f"expected {expected}, got {describe(value)}") from err
    smallest = MIN_IPV4_PREFIX if net.version == 4 else MIN_IPV6_PREFIX
    if net.prefixlen < smallest:
        raise vol.Invalid(f"expected a network no larger than /{smallest}, got {describe(value)}")
    return str(net)


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(re.fullmatch(r"[\d.]+", text))
    return True


def _mac_or_id(value: Any) -> str:
    if isinstance(value, str):
        try:
            return normalise_mac(value)
        except ValueError:
            if re.fullmatch(r"[0-9a-f]{12}|ip_[0-9a-f]{8,32}", value):
                return value
    raise vol.Invalid(f"expected a MAC address or a device id, got {describe(value)}")


def mac_address(value: Any) -> str:
    """A MAC address in any common notation, normalised."""
    try:
        return normalise_mac(value if isinstance(value, str) else "")
    except ValueError:
        raise vol.Invalid(f"expected a MAC address, got {describe(value)}") from None


def instant(value: Any) -> datetime:
    """An ISO 8601 time with its timezone (``2026-11-30T08:00:00+01:00``, or ``Z``)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise vol.Invalid(
            f"expected an ISO 8601 time with a timezone, e.g. 2026-11-30T08:00:00Z, "
            f"got {describe(value)}"
        )
    return parsed


def _device_key(value: Any) -> str:
    """A ``devices`` key: a MAC (any notation) or a device id, as the device id."""
    return _mac_or_id(value).replace(":", "")


def _cidr(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value), strict=False))
    except ValueError as err:
        raise vol.Invalid(f"expected a CIDR such as 192.168.1.0/24, got {describe(value)}") from err


def credential(value: Any) -> SnmpCredential:
    """One checked SNMP credential (the file's ``snmp.credentials`` and the option's)."""
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
    return SnmpCredential.from_data(value)


SNMP_CREDENTIAL = vol.Schema(
    {
        vol.Optional("version"): choice("2c", "3"),
        vol.Optional("community"): STR,
        vol.Optional("username"): STR,
        vol.Optional("auth_protocol"): choice(*AUTH_PROTOCOLS),
        vol.Optional("auth_key"): STR,
        vol.Optional("priv_protocol"): choice(*PRIV_PROTOCOLS),
        vol.Optional("priv_key"): STR,
        vol.Optional("networks"): [_cidr],
        vol.Optional("devices"): [_mac_or_id],
    }
)


def _credential_data(value: Any) -> dict[str, Any]:
    """A credential checked like the file's, kept as plain data (it is saved in the
    database with the other run-time options)."""
    credential(value)
    return dict(value)


_NETWORKS = typed(list, "a list of networks")

# The settings that live in several places, each declared once.
SETTINGS: Final[dict[str, Validator]] = {
    "networks": vol.All(_NETWORKS, vol.Length(min=1), [parse_network]),
    "discovery_interval": Number(10, 86400),
    "monitor_interval": Number(0.2, 3600),
    "metrics_interval": Number(0, 3600),
    "consider_home": Number(0, 86400),
    "max_consider_home": Number(0, 86400),
    "ping_timeout": Number(0.05, 30),
    "wake_probe": BOOL,
    "history_days": Number(0, 3650),
    "forget_after_days": Number(0, 3650),
    "forget_random_after_days": Number(0, 3650),
    "track_new_devices": BOOL,
    "snmp_credentials": vol.Schema([vol.All(SNMP_CREDENTIAL, _credential_data)]),
}
# What the ``options`` request may change at run time (saved in the database).
RUNTIME_OPTIONS: Final = (
    "networks",
    "discovery_interval",
    "monitor_interval",
    "metrics_interval",
    "consider_home",
    "ping_timeout",
    "wake_probe",
    "history_days",
    "track_new_devices",
    "max_consider_home",
    "forget_after_days",
    "forget_random_after_days",
    "snmp_credentials",
)
# What a device may override (the file's ``devices`` section).
DEVICE_OPTIONS: Final = ("consider_home", "monitor_interval", "ping_timeout", "wake_probe")

OPTIONS_SCHEMA = vol.Schema({vol.Optional(key): SETTINGS[key] for key in RUNTIME_OPTIONS})

PORT = Number(1, 65535, integer=True)
_TOPIC = matching(_TOPIC_SEGMENT, "an MQTT topic without wildcards or spaces")

_MQTT = vol.Schema(
    {
        vol.Optional("broker"): OPT_STR,
        vol.Optional("host"): OPT_STR,
        vol.Optional("port"): PORT,
        vol.Optional("username"): OPT_STR,
        vol.Optional("password"): OPT_STR,
        vol.Optional("password_env"): STR,
        vol.Optional("password_file"): STR,
        vol.Optional("tls"): BOOL,
        vol.Optional("ca_file"): OPT_STR,
        vol.Optional("cert_file"): OPT_STR,
        vol.Optional("key_file"): OPT_STR,
        vol.Optional("base_topic"): _TOPIC,
        vol.Optional("probes_topic"): _TOPIC,
        vol.Optional("discovery_prefix"): _TOPIC,
        vol.Optional("ha_status_topic"): _TOPIC,
        vol.Optional("keepalive"): Number(5, 60, integer=True),
        vol.Optional("birth_delay"): Number(0, 60),
        vol.Optional("retained_wait"): Number(0, 30),
    }
)

_DISCOVERY = vol.Schema(
    {
        vol.Optional("arp"): BOOL,
        vol.Optional("neighbours"): BOOL,
        vol.Optional("passive"): BOOL,
        vol.Optional("icmp_sweep"): BOOL,
        vol.Optional("ipv6"): BOOL,
        vol.Optional("arp_timeout"): Number(0.1, 30),
        vol.Optional("arp_retries"): Number(0, 10, integer=True),
        vol.Optional("arp_rate"): Number(10, 100000, integer=True),
        vol.Optional("use_oui"): BOOL,
        vol.Optional("use_dns"): BOOL,
        vol.Optional("use_mdns"): BOOL,
        vol.Optional("use_ssdp"): BOOL,
        vol.Optional("use_snmp"): BOOL,
        vol.Optional("use_netbios"): BOOL,
        vol.Optional("dns_timeout"): Number(0.05, 30),
    }
)

_SNMP = vol.Schema(
    {
        vol.Optional("timeout"): Number(0.05, 30),
        vol.Optional("retries"): Number(0, 5, integer=True),
        vol.Optional("interfaces_interval"): Number(0, 3600),
        vol.Optional("topology_interval"): Number(0, 86400),
        vol.Optional("uplink_macs"): Number(2, 4096, integer=True),
        vol.Optional("credentials"): [vol.All(SNMP_CREDENTIAL, credential)],
    }
)

_DEVICES = vol.Any(
    None,
    vol.All(
        typed(dict, "a mapping of MAC address or device id to settings"),
        {_device_key: vol.Schema({vol.Optional(key): SETTINGS[key] for key in DEVICE_OPTIONS})},
    ),
)

ROOT = vol.Schema(
    {
        vol.Optional("networks"): vol.All(_NETWORKS, [parse_network]),
        vol.Optional("instance_id"): matching(
            _INSTANCE_ID, "1-32 lower-case letters, digits or '_'"
        ),
        vol.Optional("database"): STR,
        vol.Optional("allowed_networks"): vol.All(_NETWORKS, [_cidr]),
        vol.Optional("log_level"): choice("debug", "info", "warning", "error"),
        **{
            vol.Optional(key): SETTINGS[key]
            for key in RUNTIME_OPTIONS
            if key not in ("networks", "snmp_credentials")
        },
        vol.Optional("arp_probe"): BOOL,
        vol.Optional("devices"): _DEVICES,
        vol.Optional("discovery"): vol.Any(None, _DISCOVERY),
        vol.Optional("mqtt"): vol.Any(None, _MQTT),
        vol.Optional("snmp"): vol.Any(None, _SNMP),
        vol.Optional("embedded_broker"): vol.Any(
            None, vol.Schema({vol.Optional("host"): STR, vol.Optional("port"): PORT})
        ),
    }
)
