"""The SNMP client: the one module that talks to pysnmp (v2c / v3, asyncio).

pysnmp is heavy (about 10 MB with its own OpenSSL): it is imported at the first query, and
``answers`` asks the plain probe of ``snmp_probe`` first, so addresses without an agent never
load it. Its engines are pooled (``_acquire``): an engine remembers every agent it queried,
so after ``ENGINE_AGENTS`` agents a new one takes the new queries and the old one is closed
once idle. pysnmp's errors, and the error answers of agents, become ``SnmpError`` here:
nothing of pysnmp's escapes this module but the values it read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from ..errors import SnmpAgentError, SnmpError
from .snmp_credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpCredential
from .snmp_probe import SNMP_PORT, agent_answers, probe_request
from .snmp_walk import Binding, Walk, Walked, walk_columns

ENGINE_AGENTS = 64  # agents one pysnmp engine is configured for before a new one is used


def _hlapi() -> Any:
    from pysnmp.hlapi.v3arch import asyncio as hlapi  # heavy: imported when used

    return hlapi


def _auth_data(hlapi: Any, credential: SnmpCredential) -> Any:
    """pysnmp's authentication object for ``credential``."""
    if credential.version == "2c":
        return hlapi.CommunityData(credential.community or "public", mpModel=1)
    return hlapi.UsmUserData(
        credential.username or "",
        authKey=credential.auth_key,
        privKey=credential.priv_key,
        authProtocol=getattr(hlapi.auth, AUTH_PROTOCOLS[credential.auth_protocol]),
        privProtocol=getattr(hlapi.auth, PRIV_PROTOCOLS[credential.priv_protocol]),
    )


def _failed(err: Exception) -> SnmpError:
    """pysnmp raises many types on garbage; they all become one."""
    return SnmpError(str(err) or type(err).__name__)


def _check(error: Any, status: Any) -> None:
    """An agent's error answer (or none: a timeout is an error indication) as an exception."""
    if error or status:
        raise SnmpAgentError(str(error) if error else status.prettyPrint())


@dataclass(eq=False)
class _Engine:
    """A pysnmp engine, the agents it was configured for, and the queries using it."""

    engine: Any
    agents: set[str] = field(default_factory=set)
    users: int = 0
    retired: bool = False


@dataclass(frozen=True)
class _Session:
    """Requests to one agent with one credential through one engine."""

    hlapi: Any
    engine: Any
    auth: Any
    target: Any

    async def get(self, oids: Sequence[str]) -> dict[str, Any]:
        """One GET: OID -> value."""
        h = self.hlapi
        objects = (h.ObjectType(h.ObjectIdentity(o)) for o in oids)
        answer = await h.get_cmd(self.engine, self.auth, self.target, h.ContextData(), *objects)
        error, status, _index, bindings = answer
        _check(error, status)
        return {str(oid): value for oid, value in bindings}

    async def bulk(
        self, first: Sequence[str], oids: Sequence[str], repetitions: int
    ) -> Sequence[Binding]:
        """One GETBULK (``snmp_walk.Bulk``)."""
        h = self.hlapi
        error, status, _index, bindings = await h.bulk_cmd(
            self.engine,
            self.auth,
            self.target,
            h.ContextData(),
            len(first),
            repetitions,
            *(h.ObjectType(h.ObjectIdentity(o)) for o in first),
            *(h.ObjectType(h.ObjectIdentity(o)) for o in oids),
            lookupMib=False,
        )
        _check(error, status)
        return list(bindings)


class SnmpClient:
    """Queries agents with short timeouts through a small pool of pysnmp engines."""

    def __init__(self, timeout: float = 1.0, retries: int = 0, port: int = SNMP_PORT) -> None:
        self._timeout = timeout
        self._retries = retries
        self._port = port
        self._engine: _Engine | None = None  # the one new queries use
        self._engines: list[_Engine] = []  # every engine not closed yet

    async def answers(self, ip: str, credential: SnmpCredential) -> bool:
        """True when an agent answers ``credential``'s plain probe (no pysnmp)."""
        request = probe_request(credential.version, credential.community)
        return await agent_answers(ip, request, self._timeout, self._retries, self._port)

    async def agent_there(self, ip: str) -> bool:
        """True when an agent answers a request that carries no secret: SNMPv3's engine
        discovery, or a GET with the well-known community."""
        for request in (probe_request("3", None), probe_request("2c", "public")):
            if await agent_answers(ip, request, self._timeout, self._retries, self._port):
                return True
        return False

    async def get(self, ip: str, credential: SnmpCredential, oids: Sequence[str]) -> dict[str, Any]:
        """One GET of ``oids`` (OID -> value as pysnmp gives it); raises ``SnmpError``."""
        async with self._session(ip, credential) as session:
            return await session.get(oids)

    async def walk(self, ip: str, credential: SnmpCredential, walk: Walk) -> Walked | None:
        """The columns of ``walk`` (``snmp_walk.walk_columns``); None when the agent's first
        answer was an error. Raises ``SnmpError`` when pysnmp fails."""
        async with self._session(ip, credential) as session:
            return await walk_columns(session.bulk, walk)

    @asynccontextmanager
    async def _session(self, ip: str, credential: SnmpCredential) -> AsyncIterator[_Session]:
        """A session with ``ip``'s agent on a pooled engine; pysnmp's failures inside it
        come out as ``SnmpError``."""
        hlapi = _hlapi()
        engine = self._acquire(hlapi, ip)
        try:
            target = await hlapi.UdpTransportTarget.create(
                (ip, self._port), timeout=self._timeout, retries=self._retries
            )
            yield _Session(hlapi, engine.engine, _auth_data(hlapi, credential), target)
        except SnmpError:
            raise
        except Exception as err:
            raise _failed(err) from err
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

    async def start(self) -> None:
        """The engine is created at the first query."""

    async def stop(self) -> None:
        """Release the engines' sockets."""
        self.close()

    def close(self) -> None:
        """Release the engines' sockets."""
        for engine in self._engines:
            engine.engine.close_dispatcher()
        self._engines.clear()
        self._engine = None
