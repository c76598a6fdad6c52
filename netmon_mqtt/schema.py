"""The validators of the configuration's values (networks, credentials, topics, MAC
addresses), used by the declarations in ``config.py`` and by the requests' schemas.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, Final

import voluptuous as vol

from .identify.credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpCredential
from .identify.taxonomy import TYPES
from .macs import normalise_mac
from .validators import (
    STR,
    Number,
    Validator,
    choice,
    describe,
    matching,
    optional,
    typed,
)

_IFNAME = re.compile(r"^[A-Za-z0-9_.@-][A-Za-z0-9_.:@-]{0,14}$")
_TOPIC_SEGMENT = re.compile(r"^[^#+\s]+$")
_INSTANCE_ID = re.compile(r"^[a-z0-9_]{1,32}$")
# Refuse sweeping more than a /16 (65 536 addresses): almost always a typo.
MIN_IPV4_PREFIX = 16
# And more than two /16 in all networks together (a request listing a thousand of them would
# otherwise have every address of 10/8 pinged through the gateway).
MAX_SWEEP_ADDRESSES = 2 * 2**16
MIN_IPV6_PREFIX = 64


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
# The file may leave ``networks`` empty (the command line or auto-detection fills it);
# a request must name at least one.
NETWORKS: Final = vol.All(_NETWORKS, [parse_network])
SOME_NETWORKS: Final = vol.All(_NETWORKS, vol.Length(min=1), [parse_network])
CIDRS: Final = vol.All(_NETWORKS, [_cidr])
# The file's credentials become ``SnmpCredential``s; the request's stay plain data.
SNMP_CREDENTIALS: Final = vol.Schema([vol.All(SNMP_CREDENTIAL, credential)])
SNMP_CREDENTIAL_DATA: Final = vol.Schema([vol.All(SNMP_CREDENTIAL, _credential_data)])
PORT: Final = Number(1, 65535, integer=True)
TOPIC: Final = matching(_TOPIC_SEGMENT, "an MQTT topic without wildcards or spaces")
OPT_TOPIC: Final = optional(TOPIC)
INSTANCE_ID: Final = matching(_INSTANCE_ID, "1-32 lower-case letters, digits or '_'")
LOG_LEVEL: Final = choice("debug", "info", "warning", "error")


DEVICE_TYPE: Final = choice(*TYPES)  # a type of the taxonomy (``identify/taxonomy.py``)


def device_overrides(settings: vol.Schema) -> Validator:
    """The file's ``devices`` section: device (MAC or id) -> ``settings``; null is none."""
    devices = vol.All(
        typed(dict, "a mapping of MAC address or device id to settings"),
        {_device_key: settings},
    )
    return vol.All(vol.Any(None, devices), lambda value: dict(value or {}))
