"""The GETBULK walker (``identify/snmp_walk.py``) against simulated agents, well-behaved and
broken: what it asks for, what it keeps, and the bounds no agent can push it past. No pysnmp:
the values are stand-ins recognised by their type's name, as the walker recognises pysnmp's."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from netmon_mqtt.errors import SnmpAgentError, SnmpError
from netmon_mqtt.identify.snmp_walk import (
    BULK_REPETITIONS,
    MAX_BULK_REQUESTS,
    UPTIME_OID,
    Walk,
    walk_columns,
)

PORT = "1.3.6.1.2.1.17.7.1.2.2.1.2"  # a forwarding table's port column
NAME = "1.3.6.1.2.1.31.1.1.1.1"  # ifName
UPTIME_BEFORE = "1.3.6.1.2.1.1.3"


class Counter64(int):
    """Stands for pysnmp's type of the same name."""


class TimeTicks(int):
    pass


class OctetString(bytes):
    def asOctets(self) -> bytes:
        return bytes(self)


class EndOfMibView:
    pass


class Opaque:
    """A value that is neither a number nor octets (a wrong type for a table column)."""


Binding = tuple[str, object]
Next = Callable[[str], Binding]


def _key(oid: str) -> tuple[int, ...]:
    return tuple(int(arc) for arc in oid.split("."))


class Agent:
    """Answers GETBULK like an agent whose MIB is ``mib`` (each repetition a GETNEXT of
    every column's last answer, column-major); ``next_of`` replaces its GETNEXT to play a
    broken agent; ``fail_at`` makes that request fail like a timeout."""

    def __init__(
        self,
        mib: dict[str, object] | None = None,
        next_of: Next | None = None,
        fail_at: int | None = None,
    ) -> None:
        self.mib = sorted((mib or {}).items(), key=lambda item: _key(item[0]))
        self.next_of = next_of or self._next
        self.fail_at = fail_at
        self.requests: list[tuple[list[str], list[str], int]] = []

    def _next(self, oid: str) -> Binding:
        after = next((item for item in self.mib if _key(item[0]) > _key(oid)), None)
        return after or (oid, EndOfMibView())

    async def __call__(
        self, first: Sequence[str], oids: Sequence[str], repetitions: int
    ) -> list[Binding]:
        self.requests.append((list(first), list(oids), repetitions))
        if len(self.requests) - 1 == self.fail_at:
            raise SnmpAgentError("No SNMP response received before timeout")
        answer = [self._next(oid) for oid in first]
        cursors = list(oids)
        for _ in range(repetitions):
            for position, cursor in enumerate(cursors):
                cursors[position], value = self.next_of(cursor)
                answer.append((cursors[position], value))
        return answer


def _mib(rows: int) -> dict[str, object]:
    mib: dict[str, object] = {UPTIME_OID: TimeTicks(123_456)}
    for i in range(1, rows + 1):
        mib[f"{NAME}.{i}"] = OctetString(f"port{i}".encode())
        mib[f"{PORT}.1.{i}"] = Counter64(i)
    mib["1.3.6.1.6.3.1.1.4.1.0"] = Counter64(0)  # something after both tables
    return mib


async def test_a_well_behaved_agent_is_read_to_the_end_of_every_column() -> None:
    agent = Agent(_mib(30))
    walked = await walk_columns(agent, Walk({"port": PORT, "name": NAME}, 100, 8))
    assert walked is not None
    assert walked.uptime == 1234.56
    assert walked.found["port"] == {f"1.{i}": i for i in range(1, 31)}
    assert walked.found["name"]["30"] == b"port30"
    first, later = agent.requests[0], agent.requests[1]
    assert first == ([UPTIME_BEFORE], [PORT, NAME], 8)  # sysUpTime only in the first
    assert later == ([], [f"{PORT}.1.8", f"{NAME}.8"], 8)  # each column from where it was
    assert len(agent.requests) == 4  # 30 rows, 8 per request: the 4th reaches the ends


async def test_a_column_that_ends_early_is_not_asked_for_again() -> None:
    mib = {k: v for k, v in _mib(20).items() if not k.startswith(f"{NAME}.") or _key(k)[-1] < 3}
    agent = Agent(mib)
    walked = await walk_columns(agent, Walk({"port": PORT, "name": NAME}, 100, 5))
    assert walked is not None
    assert set(walked.found["name"]) == {"1", "2"}
    assert len(walked.found["port"]) == 20
    # Only the port column after the first request; 20 rows at 5 a request, then its end.
    assert [len(oids) for _, oids, _ in agent.requests] == [2, 1, 1, 1, 1]


async def test_a_table_that_never_ends_stops_at_the_request_bound() -> None:
    def endless(oid: str) -> Binding:
        arcs = _key(oid)
        row = arcs[-1] + 1 if len(arcs) > len(_key(PORT)) else 1
        return f"{PORT}.{row}", Counter64(row)

    agent = Agent(next_of=endless)
    walked = await walk_columns(agent, Walk({"port": PORT}, 10**9))
    assert len(agent.requests) == MAX_BULK_REQUESTS
    assert walked is not None
    assert len(walked.found["port"]) == MAX_BULK_REQUESTS * BULK_REPETITIONS


async def test_a_table_that_never_ends_stops_at_its_row_bound_first() -> None:
    def endless(oid: str) -> Binding:
        arcs = _key(oid)
        row = arcs[-1] + 1 if len(arcs) > len(_key(PORT)) else 1
        return f"{PORT}.{row}", Counter64(row)

    agent = Agent(next_of=endless)
    walked = await walk_columns(agent, Walk({"port": PORT}, 100, 24))
    assert walked is not None
    assert len(walked.found["port"]) == 100
    assert len(agent.requests) == 5  # 100 rows at 24 a request


async def test_an_agent_that_returns_the_same_oid_again_ends_that_column() -> None:
    def stuck(oid: str) -> Binding:
        if oid == PORT:
            return f"{PORT}.1", Counter64(1)
        return oid, Counter64(7)  # no progress

    agent = Agent(next_of=stuck)
    walked = await walk_columns(agent, Walk({"port": PORT}, 1000))
    assert walked is not None
    assert walked.found["port"] == {"1": 1}
    assert len(agent.requests) == 1


async def test_an_agent_whose_oids_go_back_ends_its_column_there() -> None:
    def cycling(oid: str) -> Binding:
        row = _key(oid)[-1] % 3 + 1 if oid != PORT else 1  # .1 .2 .3 .1 .2 ...
        return f"{PORT}.{row}", Counter64(row)

    agent = Agent(next_of=cycling)
    walked = await walk_columns(agent, Walk({"port": PORT}, 1000, 2))
    # .1 .2 .3, then .1 again: the column ends at the OID that went back (as net-snmp's
    # walk does), not at the request bound.
    assert walked is not None
    assert walked.found["port"] == {"1": 1, "2": 2, "3": 3}
    assert len(agent.requests) == 2


async def test_a_value_of_the_wrong_type_ends_its_column_only() -> None:
    mib = _mib(6)
    mib[f"{PORT}.1.4"] = Opaque()
    walked = await walk_columns(Agent(mib), Walk({"port": PORT, "name": NAME}, 100, 2))
    assert walked is not None
    assert walked.found["port"] == {"1.1": 1, "1.2": 2, "1.3": 3}
    assert len(walked.found["name"]) == 6


async def test_a_wrong_uptime_is_no_uptime() -> None:
    mib = _mib(2)
    mib[UPTIME_OID] = OctetString(b"yesterday")
    walked = await walk_columns(Agent(mib), Walk({"port": PORT}, 100))
    assert walked is not None
    assert walked.uptime is None
    assert len(walked.found["port"]) == 2


async def test_an_agent_error_keeps_what_was_read_before_it() -> None:
    assert await walk_columns(Agent(_mib(30), fail_at=0), Walk({"port": PORT}, 100, 8)) is None
    walked = await walk_columns(Agent(_mib(30), fail_at=2), Walk({"port": PORT}, 100, 8))
    assert walked is not None
    assert len(walked.found["port"]) == 16  # two requests of 8 rows


async def test_other_failures_are_not_swallowed_by_the_walker() -> None:
    class Broken(Agent):
        async def __call__(
            self, first: Sequence[str], oids: Sequence[str], repetitions: int
        ) -> list[Binding]:
            raise SnmpError("garbage")

    with pytest.raises(SnmpError, match="garbage"):
        await walk_columns(Broken(), Walk({"port": PORT}, 100))
