"""SNMP v2c / v3 system group (pysnmp, asyncio): sysName, sysDescr, sysUpTime, sysContact,
sysLocation and sysObjectID, with short timeouts and credentials per network or device."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..clock import utcnow
from ..events import EventBus, OptionsChanged
from ..models import Device, Observation

_LOGGER = logging.getLogger(__name__)

SYSTEM_OIDS: dict[str, str] = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysContact": "1.3.6.1.2.1.1.4.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
}
# Names accepted in the configuration -> pysnmp constants (resolved when first used, so
# that importing this module does not import pysnmp).
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
_MAX_TEXT = 255


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

    def auth_data(self) -> Any:
        """pysnmp's authentication object."""
        from pysnmp.hlapi.v3arch import asyncio as hlapi  # heavy: imported when used

        if self.version == "2c":
            return hlapi.CommunityData(self.community or "public", mpModel=1)
        return hlapi.UsmUserData(
            self.username or "",
            authKey=self.auth_key,
            privKey=self.priv_key,
            authProtocol=getattr(hlapi.auth, AUTH_PROTOCOLS[self.auth_protocol]),
            privProtocol=getattr(hlapi.auth, PRIV_PROTOCOLS[self.priv_protocol]),
        )


def ordered_credentials(
    credentials: tuple[SnmpCredential, ...], device: Device
) -> list[SnmpCredential]:
    """Applicable credentials, per-device ones first, then per-network, then global."""

    def rank(c: SnmpCredential) -> int:
        return 0 if c.devices else 1 if c.networks else 2

    return sorted((c for c in credentials if c.applies_to(device)), key=rank)


def _render(name: str, value: Any) -> str | None:
    if value is None or type(value).__name__ in (
        "NoSuchObject",
        "NoSuchInstance",
        "EndOfMibView",
        "Null",
    ):
        return None
    if name == "sysUpTime":
        try:
            return str(int(value) // 100)  # TimeTicks are hundredths of a second
        except (TypeError, ValueError):
            return None
    if name == "sysObjectID":
        return str(value)
    raw = value.asOctets() if hasattr(value, "asOctets") else str(value).encode()
    text = raw.decode("utf-8", errors="replace")
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()[:_MAX_TEXT] or None


class SnmpIdentifier:
    """Reads the system group of a device's agent.

    The credentials tried are those saved by an ``options`` request (``snmp_credentials``)
    before the configuration file's.
    """

    def __init__(
        self,
        credentials: tuple[SnmpCredential, ...],
        timeout: float = 1.0,
        retries: int = 0,
        bus: EventBus | None = None,
    ) -> None:
        self._configured = credentials
        self._credentials = credentials
        self._timeout = timeout
        self._retries = retries
        self._engine: Any = None
        if bus is not None:
            bus.subscribe(OptionsChanged, self._on_options)

    def _on_options(self, event: OptionsChanged) -> None:
        saved = tuple(SnmpCredential.from_data(c) for c in event.options.snmp_credentials)
        self._credentials = saved + self._configured

    async def identify(self, device: Device) -> Observation | None:
        """An ``snmp`` observation of the device, or None (no agent, no answer, garbage)."""
        if not device.ip or ":" in device.ip:
            return None
        for credential in ordered_credentials(self._credentials, device):
            fields = await self._query(device.ip, credential)
            if fields:
                return Observation(
                    ip=device.ip,
                    mac=device.mac,
                    source="snmp",
                    seen_at=utcnow(),
                    hostname=fields.get("sysName"),
                    attributes=tuple(sorted(fields.items())),
                )
        return None

    async def _query(self, ip: str, credential: SnmpCredential) -> dict[str, str] | None:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        if self._engine is None:
            self._engine = hlapi.SnmpEngine()
        try:
            target = await hlapi.UdpTransportTarget.create(
                (ip, 161), timeout=self._timeout, retries=self._retries
            )
            error, status, _index, bindings = await hlapi.get_cmd(
                self._engine,
                credential.auth_data(),
                target,
                hlapi.ContextData(),
                *(hlapi.ObjectType(hlapi.ObjectIdentity(o)) for o in SYSTEM_OIDS.values()),
            )
        except Exception as err:  # pysnmp raises many types on garbage; none may escape
            _LOGGER.debug("SNMP query of %s failed: %s", ip, err)
            return None
        if error or status:
            _LOGGER.debug("SNMP %s of %s: %s", credential, ip, error or status.prettyPrint())
            return None
        by_oid = {str(oid): value for oid, value in bindings}
        fields = {name: _render(name, by_oid.get(oid)) for name, oid in SYSTEM_OIDS.items()}
        return {k: v for k, v in fields.items() if v is not None} or None

    async def start(self) -> None:
        """The engine is created at the first query."""

    async def stop(self) -> None:
        """Release the engine's sockets."""
        self.close()

    def close(self) -> None:
        """Release the engine's sockets."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
