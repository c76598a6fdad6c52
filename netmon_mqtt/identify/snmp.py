"""SNMP identification: the system group of a device's agent (sysName, sysDescr,
sysUpTime, sysContact, sysLocation, sysObjectID) and what its ENTITY-MIB says of the device
(model, versions, serial number: ``entity.py``) as an ``snmp`` observation.

Each credential that applies to the device is tried in turn (``snmp_credentials``), first
with the plain probe, then, where an agent answered it, with one GET through the client
(``snmp_client``); the credential that answered is remembered for the tables the pollers
read (``snmp_reader``). A secret credential valid anywhere (``SnmpCredential.guarded``) is
sent only to an agent that first answered a request carrying no secret: any device that
appears could be listening on UDP 161 to collect communities (scope them to the networks or
devices they belong to, and they go only there).
"""

from __future__ import annotations

import logging
from typing import Any

from ..clock import SYSTEM, Clock
from ..errors import SnmpError
from ..models import Device, Observation
from ..text import plain
from .entity import ENTITY_WALK, entity_facts
from .snmp_client import SnmpClient
from .snmp_credentials import Keyring, SnmpCredential

_LOGGER = logging.getLogger(__name__)

SYSTEM_OIDS: dict[str, str] = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysContact": "1.3.6.1.2.1.1.4.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
}
_MAX_TEXT = 255


def render(name: str, value: Any) -> str | None:
    """A system group value as shown (printable text, at most ``_MAX_TEXT`` characters);
    None for the end-of-table markers, Null and garbage."""
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
    return plain(bytes(raw), _MAX_TEXT)


class SnmpIdentifier:
    """Reads the system group of a device's agent (asked through pysnmp only when a plain
    probe found one, see ``snmp_probe``)."""

    def __init__(self, client: SnmpClient, keyring: Keyring, clock: Clock = SYSTEM) -> None:
        self._client = client
        self._keyring = keyring
        self._clock = clock

    async def identify(self, device: Device) -> Observation | None:
        """An ``snmp`` observation of the device, or None (no agent, no answer, garbage)."""
        if not device.ip or ":" in device.ip:
            return None
        agent_there: bool | None = None  # asked without a secret, once, when needed
        for credential in self._keyring.candidates(device):
            if credential.guarded:
                if agent_there is None:
                    agent_there = await self._client.agent_there(device.ip)
                if not agent_there:
                    continue
            if not await self._client.answers(device.ip, credential):
                continue  # no agent for this credential: pysnmp is not even loaded
            fields = await self._query(device.ip, credential)
            if fields:
                self._keyring.answered(device, credential)
                return Observation(
                    ip=device.ip,
                    mac=device.mac,
                    source="snmp",
                    seen_at=self._clock.now(),
                    hostname=fields.get("sysName"),
                    attributes=tuple(sorted(fields.items())),
                )
        return None

    async def _query(self, ip: str, credential: SnmpCredential) -> dict[str, str] | None:
        """The rendered system group of ``ip``'s agent (without the plain probe), or None."""
        try:
            by_oid = await self._client.get(ip, credential, list(SYSTEM_OIDS.values()))
        except SnmpError as err:
            _LOGGER.debug("SNMP %s of %s: %s", credential, ip, err)
            return None
        fields = {name: render(name, by_oid.get(oid)) for name, oid in SYSTEM_OIDS.items()}
        found = {k: v for k, v in fields.items() if v is not None}
        if found:
            found.update(await self._entity(ip, credential))
        return found or None

    async def _entity(self, ip: str, credential: SnmpCredential) -> dict[str, str]:
        """Model, versions and serial number from ENTITY-MIB ({} when it has none)."""
        try:
            walked = await self._client.walk(ip, credential, ENTITY_WALK)
        except SnmpError as err:
            _LOGGER.debug("No ENTITY-MIB from %s: %s", ip, err)
            return {}
        return entity_facts(walked.found) if walked else {}
