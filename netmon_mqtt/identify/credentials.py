"""An SNMP credential: the value the configuration file and the ``options`` request give,
scoped to networks or devices. Apart from the identifier so that validating a
configuration imports neither pysnmp nor the event bus."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import Device

# Names accepted in the configuration -> pysnmp constants (resolved by ``snmp_client`` when
# first used, so that validating a credential does not import pysnmp).
AUTH_PROTOCOLS: dict[str, str] = {
    "none": "USM_AUTH_NONE",
    "md5": "USM_AUTH_HMAC96_MD5",
    "sha": "USM_AUTH_HMAC96_SHA",
    "sha224": "USM_AUTH_HMAC128_SHA224",
    "sha256": "USM_AUTH_HMAC192_SHA256",
    "sha384": "USM_AUTH_HMAC256_SHA384",
    "sha512": "USM_AUTH_HMAC384_SHA512",
}
PRIV_PROTOCOLS: dict[str, str] = {
    "none": "USM_PRIV_NONE",
    "des": "USM_PRIV_CBC56_DES",
    "3des": "USM_PRIV_CBC168_3DES",
    "aes": "USM_PRIV_CFB128_AES",
    "aes192": "USM_PRIV_CFB192_AES",
    "aes256": "USM_PRIV_CFB256_AES",
}


# Communities that are no secret: what agents ship with, and what netmon tries by default.
WELL_KNOWN = frozenset({"public"})


@dataclass(frozen=True)
class SnmpCredential:
    """One way to talk to agents; ``networks`` / ``devices`` scope it (empty = anywhere)."""

    version: str = "2c"
    community: str | None = None
    username: str | None = None
    auth_protocol: str = "none"
    auth_key: str | None = None
    priv_protocol: str = "none"
    priv_key: str | None = None
    networks: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, value: Mapping[str, Any]) -> SnmpCredential:
        """A credential from its validated plain form (configuration file, saved options)."""
        return cls(
            version=str(value.get("version", "2c")),
            community=value.get("community"),
            username=value.get("username"),
            auth_protocol=value.get("auth_protocol", "none"),
            auth_key=value.get("auth_key"),
            priv_protocol=value.get("priv_protocol", "none"),
            priv_key=value.get("priv_key"),
            networks=tuple(value.get("networks", ())),
            devices=tuple(value.get("devices", ())),
        )

    @property
    def guarded(self) -> bool:
        """True for a secret credential valid anywhere (neither scoped nor the well-known
        community): tried only on agents that first answered a request carrying no secret
        (``snmp.py``), so a new device listening on UDP 161 does not collect it."""
        scoped = bool(self.networks or self.devices)
        return not scoped and not (self.version == "2c" and self.community in WELL_KNOWN)

    def __repr__(self) -> str:  # secrets never reach a log
        scope = ",".join(self.networks + self.devices) or "anywhere"
        return f"SnmpCredential(v{self.version}, {scope})"

    def applies_to(self, device: Device) -> bool:
        """True when the credential's scope covers ``device``."""
        if self.devices:
            return device.id in self.devices or (device.mac or "") in self.devices
        if self.networks and device.ip:
            address = ipaddress.ip_address(device.ip)
            return any(address in ipaddress.ip_network(n) for n in self.networks)
        return not self.networks
