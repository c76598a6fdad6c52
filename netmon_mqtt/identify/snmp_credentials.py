"""SNMP credentials: their plain form (configuration file, saved options), their scope, the
order they are tried in, and which one each device's agent answered last.

Nothing here imports pysnmp: the configuration and the options validate credentials without
loading it (``snmp_client`` turns a credential into pysnmp's objects when one is used).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..events import DeviceRemoved, EventBus, OptionsChanged
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


def ordered_credentials(
    credentials: tuple[SnmpCredential, ...], device: Device
) -> list[SnmpCredential]:
    """Applicable credentials, per-device ones first, then per-network, then global."""

    def rank(c: SnmpCredential) -> int:
        return 0 if c.devices else 1 if c.networks else 2

    return sorted((c for c in credentials if c.applies_to(device)), key=rank)


class Keyring:
    """The credentials tried on a device's agent, and the one that answered it last (the
    one its tables are then read with).

    The credentials saved by an ``options`` request (``snmp_credentials``) come before the
    configuration file's.
    """

    def __init__(self, configured: tuple[SnmpCredential, ...], bus: EventBus | None = None) -> None:
        self._configured = configured
        self._credentials = configured
        self._working: dict[str, SnmpCredential] = {}  # device id -> what answered last
        if bus is not None:
            bus.subscribe(OptionsChanged, self._on_options)
            bus.subscribe(DeviceRemoved, self._forget)

    def _on_options(self, event: OptionsChanged) -> None:
        saved = tuple(SnmpCredential.from_data(c) for c in event.options.snmp_credentials)
        self._credentials = saved + self._configured

    def _forget(self, event: DeviceRemoved) -> None:
        self._working.pop(event.device.id, None)

    def candidates(self, device: Device) -> list[SnmpCredential]:
        """The credentials to try on ``device``, in order."""
        return ordered_credentials(self._credentials, device)

    def answered(self, device: Device, credential: SnmpCredential) -> None:
        """Remember that ``credential`` read ``device``'s agent."""
        self._working[device.id] = credential

    def working(self, device: Device) -> SnmpCredential | None:
        """The credential that answered ``device``'s identification last, or None."""
        return self._working.get(device.id)
