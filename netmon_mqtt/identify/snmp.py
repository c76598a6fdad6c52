"""SNMP v2c / v3 (pysnmp, asyncio): the system group (sysName, sysDescr, sysUpTime,
sysContact, sysLocation, sysObjectID) for identification, and the interface tables for
bandwidth, with short timeouts and credentials per network or device."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..clock import SYSTEM, Clock
from ..events import DeviceRemoved, EventBus, OptionsChanged
from ..models import Device, Observation
from .credentials import SnmpCredential
from .interfaces import IF_COLUMNS, IF_TABLE, IFX_COLUMNS, IFX_TABLE, Reading
from .interfaces import interface_from_columns as _interface
from .snmp_probe import agent_answers, probe_request

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
# Interface walks: rows per GETBULK (the first poll of an agent; later polls ask for as many
# rows as it has), and bounds on what one agent may make us read.
BULK_REPETITIONS = 24
MAX_REPETITIONS = 64
MAX_INTERFACES = 512
MAX_BULK_REQUESTS = 64
STATIC_EVERY = 10  # polls between reads of the names, types and speeds
ENGINE_AGENTS = 64  # agents one pysnmp engine is configured for before a new one is used
_STATIC = frozenset({"descr", "type", "speed", "name", "high_speed", "alias"})
_UPTIME_BEFORE = "1.3.6.1.2.1.1.3"  # GETNEXT of this is sysUpTime.0
_COLUMNS: dict[str, str] = {
    **{name: f"{IF_TABLE}.{n}" for name, n in IF_COLUMNS.items()},
    **{name: f"{IFX_TABLE}.{n}" for name, n in IFX_COLUMNS.items()},
}


def polled_agent(device: Device) -> bool:
    """True for a tracked device whose SNMP agent answered identification: the devices
    whose tables (interfaces, forwarding, LLDP) are read."""
    return device.tracked and bool(device.ip) and "snmp" in device.details


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


def _plain(value: Any) -> object:
    """A pysnmp value as int or bytes (None for the end-of-table markers and Null)."""
    kind = type(value).__name__
    if kind in ("NoSuchObject", "NoSuchInstance", "EndOfMibView", "Null"):
        return None
    if hasattr(value, "asOctets") and kind not in ("Counter32", "Counter64", "Gauge32"):
        return bytes(value.asOctets())
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _uptime(binding: Any) -> float | None:
    oid, value = binding
    ticks = _plain(value)
    if str(oid) != SYSTEM_OIDS["sysUpTime"] or not isinstance(ticks, int):
        return None
    return ticks / 100  # TimeTicks are hundredths of a second


@dataclass
class _Table:
    """What the last full walk of an agent's interfaces learned."""

    static: dict[int, dict[str, object]]
    hc: bool
    rows: int
    polls: int = 0

    @classmethod
    def learned(cls, rows: dict[int, dict[str, object]]) -> _Table:
        static = {i: {k: v for k, v in row.items() if k in _STATIC} for i, row in rows.items()}
        hc = any("hc_in_octets" in row for row in rows.values())
        return cls(static, hc, len(rows))

    def counter_columns(self) -> list[str]:
        """The columns that change: status and counters (64-bit octets when it has them)."""
        octets = ("hc_in_octets", "hc_out_octets") if self.hc else ("in_octets", "out_octets")
        changing = ("oper_status", "in_errors", "out_errors", "in_discards", "out_discards")
        return [*changing, *octets]


@dataclass(frozen=True)
class Walk:
    """Columns read side by side (name -> column OID) in GETBULK requests of
    ``repetitions`` rows, keeping at most ``max_rows`` rows per column."""

    columns: Mapping[str, str]
    max_rows: int
    repetitions: int = BULK_REPETITIONS


Found = dict[str, dict[str, object]]  # column name -> row index ("1", "0.2.0.0.0.1.1") -> value
_INDEX = re.compile(r"\d{1,10}(\.\d{1,10}){0,40}")


def _advance(
    walk: Walk,
    active: list[str],
    cursor: dict[str, str],
    bindings: Any,
    found: Found,
) -> list[str]:
    """Store one GETBULK's answers (column-major in each repetition); the columns that
    have more rows to read."""
    still: list[str] = []
    width = len(active)
    for position, name in enumerate(active):
        prefix = walk.columns[name] + "."
        more = True
        answered = list(bindings)[position::width]
        column = found.setdefault(name, {})
        for oid, value in answered:
            text, plain = str(oid), _plain(value)
            index = text[len(prefix) :] if text.startswith(prefix) else ""
            if not _INDEX.fullmatch(index) or text == cursor[name] or plain is None:
                more = False  # left the column, or went nowhere (a broken agent)
                break
            if index not in column and len(column) >= walk.max_rows:
                more = False
                break
            column[index] = plain
            cursor[name] = text
        if more and answered:
            still.append(name)
    return still


def _by_interface(found: Found) -> dict[int, dict[str, object]]:
    """Interface columns turned into rows keyed by ifIndex."""
    rows: dict[int, dict[str, object]] = {}
    for name, column in found.items():
        for index, value in column.items():
            if index.isdigit():
                rows.setdefault(int(index), {})[name] = value
    return rows


@dataclass(eq=False)
class _Engine:
    """A pysnmp engine, the agents it was configured for, and the queries using it."""

    engine: Any
    agents: set[str] = field(default_factory=set)
    users: int = 0
    retired: bool = False


class SnmpIdentifier:
    """Reads the system group of a device's agent (asked through pysnmp only when a plain
    probe found one, see ``snmp_probe``).

    The credentials tried are those saved by an ``options`` request (``snmp_credentials``)
    before the configuration file's.
    """

    def __init__(
        self,
        credentials: tuple[SnmpCredential, ...],
        timeout: float = 1.0,
        retries: int = 0,
        bus: EventBus | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._configured = credentials
        self._credentials = credentials
        self._timeout = timeout
        self._retries = retries
        self._engine: _Engine | None = None  # the one new queries use
        self._engines: list[_Engine] = []  # every engine not closed yet
        self._working: dict[str, SnmpCredential] = {}  # device id -> what answered last
        self._tables: dict[str, _Table] = {}  # device id -> its interfaces' fixed facts
        if bus is not None:
            bus.subscribe(OptionsChanged, self._on_options)
            bus.subscribe(DeviceRemoved, self._forget)

    def _forget(self, event: DeviceRemoved) -> None:
        self._working.pop(event.device.id, None)
        self._tables.pop(event.device.id, None)

    def _on_options(self, event: OptionsChanged) -> None:
        saved = tuple(SnmpCredential.from_data(c) for c in event.options.snmp_credentials)
        self._credentials = saved + self._configured

    async def identify(self, device: Device) -> Observation | None:
        """An ``snmp`` observation of the device, or None (no agent, no answer, garbage)."""
        if not device.ip or ":" in device.ip:
            return None
        for credential in ordered_credentials(self._credentials, device):
            request = probe_request(credential.version, credential.community)
            if not await agent_answers(device.ip, request, self._timeout, self._retries):
                continue  # no agent for this credential: pysnmp is not even loaded
            fields = await self._query(device.ip, credential)
            if fields:
                self._working[device.id] = credential
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
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        engine = self._acquire(hlapi, ip)
        try:
            target = await hlapi.UdpTransportTarget.create(
                (ip, 161), timeout=self._timeout, retries=self._retries
            )
            error, status, _index, bindings = await hlapi.get_cmd(
                engine.engine,
                credential.auth_data(),
                target,
                hlapi.ContextData(),
                *(hlapi.ObjectType(hlapi.ObjectIdentity(o)) for o in SYSTEM_OIDS.values()),
            )
        except Exception as err:  # pysnmp raises many types on garbage; none may escape
            _LOGGER.debug("SNMP query of %s failed: %s", ip, err)
            return None
        finally:
            self._release(engine)
        if error or status:
            _LOGGER.debug("SNMP %s of %s: %s", credential, ip, error or status.prettyPrint())
            return None
        by_oid = {str(oid): value for oid, value in bindings}
        fields = {name: _render(name, by_oid.get(oid)) for name, oid in SYSTEM_OIDS.items()}
        return {k: v for k, v in fields.items() if v is not None} or None

    async def read_interfaces(self, device: Device) -> Reading | None:
        """The device's interface table now (with its sysUpTime), using the credential that
        answered identification; None when it does not answer or answers garbage.

        The names, types and speeds of the interfaces change rarely: they are read with the
        counters at the first poll and every ``STATIC_EVERY`` polls after; in between only
        the counters and the status are read, in as many rows as the agent has interfaces.
        """
        credential = self._working.get(device.id)
        if credential is None or not device.ip:
            return None
        known = self._tables.get(device.id)
        full = known is None or known.polls % STATIC_EVERY == 0
        columns = list(_COLUMNS) if full or known is None else known.counter_columns()
        repetitions = BULK_REPETITIONS if known is None else min(MAX_REPETITIONS, known.rows + 1)
        walk = Walk({name: _COLUMNS[name] for name in columns}, MAX_INTERFACES, repetitions)
        walked = await self._read(device, credential, walk, "Interface table")
        if walked is None:
            return None
        uptime, found = walked
        rows = _by_interface(found)
        table = _Table.learned(rows) if full or known is None else known
        table.polls += 1
        self._tables[device.id] = table
        interfaces = tuple(
            _interface(index, {**table.static.get(index, {}), **row})
            for index, row in sorted(rows.items())
        )
        return Reading(self._clock.monotonic(), uptime, interfaces)

    async def read_tables(self, device: Device, walk: Walk) -> Found | None:
        """The columns of ``walk`` read from the device's agent (the credential that answered
        identification); None when it does not answer."""
        credential = self._working.get(device.id)
        if credential is None or not device.ip:
            return None
        walked = await self._read(device, credential, walk, "SNMP tables")
        return walked[1] if walked else None

    async def _read(
        self, device: Device, credential: SnmpCredential, walk: Walk, what: str
    ) -> tuple[float | None, Found] | None:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        engine = self._acquire(hlapi, device.ip or "")
        try:
            target = await hlapi.UdpTransportTarget.create(
                (device.ip, 161), timeout=self._timeout, retries=self._retries
            )
            return await self._walk(hlapi, engine.engine, credential, target, walk)
        except Exception as err:  # pysnmp raises many types on garbage; none may escape
            _LOGGER.info("%s of %s unreadable: %s", what, device.id, err)
            return None
        finally:
            self._release(engine)

    def _acquire(self, hlapi: Any, ip: str) -> _Engine:
        """The engine for a query of ``ip``. An engine keeps the configuration of every
        agent it queried (pysnmp's tables, about 17 kB each), so after ``ENGINE_AGENTS``
        agents a new one takes the new queries and the old one is closed once idle."""
        engine = self._engine
        if engine is None or (len(engine.agents) >= ENGINE_AGENTS and ip not in engine.agents):
            if engine is not None:
                engine.retired = True
                self._close_if_idle(engine)
            engine = self._engine = _Engine(hlapi.SnmpEngine())
            self._engines.append(engine)
        engine.agents.add(ip)
        engine.users += 1
        return engine

    def _release(self, engine: _Engine) -> None:
        engine.users -= 1
        self._close_if_idle(engine)

    def _close_if_idle(self, engine: _Engine) -> None:
        if engine.retired and engine.users == 0 and engine in self._engines:
            self._engines.remove(engine)
            engine.engine.close_dispatcher()

    async def _walk(
        self, hlapi: Any, engine: Any, credential: SnmpCredential, target: Any, walk: Walk
    ) -> tuple[float | None, Found] | None:
        """Every column of ``walk`` at once in each GETBULK, bounded in rows and requests;
        the first request also reads sysUpTime (a non-repeater)."""
        found: Found = {}
        cursor = dict(walk.columns)
        active, uptime = list(walk.columns), None
        for request in range(MAX_BULK_REQUESTS):
            if not active:
                return uptime, found
            first = [_UPTIME_BEFORE] if request == 0 else []
            error, status, _index, bindings = await hlapi.bulk_cmd(
                engine,
                credential.auth_data(),
                target,
                hlapi.ContextData(),
                len(first),
                walk.repetitions,
                *(hlapi.ObjectType(hlapi.ObjectIdentity(o)) for o in first),
                *(hlapi.ObjectType(hlapi.ObjectIdentity(cursor[name])) for name in active),
                lookupMib=False,
            )
            if error or status:
                _LOGGER.info("SNMP walk stopped: %s", error or status.prettyPrint())
                return (uptime, found) if any(found.values()) else None
            bindings = list(bindings)
            if first and bindings:
                uptime = _uptime(bindings.pop(0))
            active = _advance(walk, active, cursor, bindings, found)
        rows = sum(len(column) for column in found.values())
        _LOGGER.info("SNMP walk cut at %s requests (%s values)", MAX_BULK_REQUESTS, rows)
        return uptime, found

    async def start(self) -> None:
        """The engine is created at the first query."""

    async def stop(self) -> None:
        """Release the engine's sockets."""
        self.close()

    def close(self) -> None:
        """Release the engines' sockets."""
        for engine in self._engines:
            engine.engine.close_dispatcher()
        self._engines.clear()
        self._engine = None
