"""SNMP identification: the system group of a device's agent (sysName, sysDescr,
sysUpTime, sysContact, sysLocation, sysObjectID, sysServices), the maker its sysObjectID
names (``enterprises.py``), which MIBs it implements (``mibs.py``) and what its ENTITY-MIB
says of the device (model, versions, serial number: ``entity.py``) as an ``snmp``
observation.

Each credential that applies to the device is tried in turn (``snmp_credentials``), first
with the plain probe, then, where an agent answered it, with one GET through the client
(``snmp_client``); the credential that answered is remembered for the tables the pollers
read (``snmp_reader``). A secret credential valid anywhere (``SnmpCredential.guarded``) is
sent only to an agent that first answered a request carrying no secret: any device that
appears could be listening on UDP 161 to collect communities (scope them to the networks or
devices they belong to, and they go only there).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from ..clock import SYSTEM, Clock
from ..errors import SnmpError
from ..models import Device, Observation
from ..text import plain
from . import enterprises, mibs
from .entity import ENTITY_WALK, entity_facts
from .snmp_client import SnmpClient
from .snmp_credentials import Keyring, SnmpCredential
from .snmp_walk import Found, Walk

_LOGGER = logging.getLogger(__name__)

SYSTEM_OIDS: dict[str, str] = {
    "sysDescr": "1.3.6.1.2.1.1.1.0",
    "sysObjectID": "1.3.6.1.2.1.1.2.0",
    "sysUpTime": "1.3.6.1.2.1.1.3.0",
    "sysContact": "1.3.6.1.2.1.1.4.0",
    "sysName": "1.3.6.1.2.1.1.5.0",
    "sysLocation": "1.3.6.1.2.1.1.6.0",
    "sysServices": "1.3.6.1.2.1.1.7.0",
}
_INTEGERS = {"sysUpTime": 100, "sysServices": 1}  # TimeTicks are hundredths of a second
_MAX_SERVICES = 127  # seven layer bits
_OID = re.compile(r"\d{1,10}(\.\d{1,10}){1,63}")
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
    if name in _INTEGERS:
        try:
            number = int(value) // _INTEGERS[name]
        except (TypeError, ValueError):
            return None
        return str(number) if name != "sysServices" or 0 <= number <= _MAX_SERVICES else None
    if name == "sysObjectID":
        oid = str(value)
        return oid if _OID.fullmatch(oid) else None
    if not hasattr(value, "asOctets"):
        return None  # a number or an OID where text belongs
    return plain(bytes(value.asOctets()), _MAX_TEXT)


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
        if not found:
            return None
        maker = await asyncio.to_thread(enterprises.manufacturer, found.get("sysObjectID"))
        if maker:
            found["manufacturer"] = maker
        answered = mibs.answered(await self._walk(ip, credential, mibs.MIB_WALK))
        if answered:
            found["mibs"] = ",".join(answered)
        found.update(entity_facts(await self._walk(ip, credential, ENTITY_WALK)))
        return found

    async def _walk(self, ip: str, credential: SnmpCredential, walk: Walk) -> Found:
        """What a walk of ``ip``'s agent found ({} when it found nothing or failed)."""
        try:
            walked = await self._client.walk(ip, credential, walk)
        except SnmpError as err:
            _LOGGER.debug("SNMP walk of %s: %s", ip, err)
            return {}
        return walked.found if walked else {}
