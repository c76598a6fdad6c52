"""Admission: a sighting becomes a device only when the device itself proves it is there.

Proof is an answer to a probe of ours (an ARP reply to a sweep or to the check below, an
ICMP echo reply, a neighbour entry the kernel confirmed) or an ARP frame the device sent
from its own MAC for an address in scope. Anything else about a MAC (or an address) nobody
knows yet (a DHCP request, an mDNS or SSDP answer) waits here as a *candidate*: in memory
only, a few sightings each, at most ``MAX_CANDIDATES`` of them. A candidate that names an
address is checked at once (``check``: one ARP request on a watched link, else one ICMP
echo; at most ``CHECKS_PER_SECOND``); when it answers (on a link: from its own MAC), the
device is admitted with what it said while waiting (its DHCP host name and fingerprint).

Anyone can send a frame from a made-up MAC; only a host that is there answers. A candidate
still unproven ``PROOF_WINDOW`` seconds after it was first heard (or pushed out by newer
ones) is a *stranger*; a device admitted by its own ARP after the first sweep (which finds
everything there at start) is *unsolicited*. More than ``flood_threshold`` of both in a
minute is a flood: one ``new_device_flood`` event, ``bridge/health`` says so until a minute
passes without either, unsolicited ARP proves nothing until then (a device must answer a
check), and a stranger that proves itself during the flood is held back (stored, but
neither tracked, published to Home Assistant, announced nor identified).
"""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..background import TaskSet
from ..clock import Clock, iso
from ..models import Flood, Observation

_LOGGER = logging.getLogger(__name__)
MAX_CANDIDATES = 1024  # unproven MACs (and addresses) remembered, newest kept
MAX_WAITING = 8  # sightings kept per candidate
PROOF_WINDOW = 20.0  # seconds a candidate has to prove itself before it counts as a stranger
FLOOD_WINDOW = 60.0  # strangers are counted over this many seconds
CHECKS_PER_SECOND = 4.0  # ARP checks of candidates: the rate ...
CHECK_BURST = 64  # ... and the burst (a DHCP server restart, many clients at once)
CHECK_AGAIN_AFTER = 30.0  # seconds before the same address is checked again
CHECK_TIMEOUT = 1.0

# Answers to probes of ours, and ARP a device sent from its own MAC: the sightings that
# make a device.
PROOF_SOURCES = frozenset({"arp", "icmp_sweep"})
UNSOLICITED = "arp_passive"

# An address -> the proof that it answered (an ARP reply with its MAC, an echo reply), or None.
Check = Callable[[str, float], Awaitable[Observation | None]]
Observe = Callable[[Observation], Awaitable[None]]
Announce = Callable[[Flood], Coroutine[Any, Any, None]]


def proves(obs: Observation, *, flood: bool = False) -> bool:
    """True when the sighting shows the device is there with this MAC (during a flood,
    only an answer to us does)."""
    if obs.source == "neighbours":
        return obs.confirmed and obs.mac is not None  # the kernel had its answer
    if obs.source == UNSOLICITED:
        return not flood and obs.mac is not None and obs.ip is not None
    return obs.source in PROOF_SOURCES


def candidate_key(mac: str | None, ip: str | None) -> str | None:
    """Candidates are kept by MAC, or by address for sightings without one."""
    return mac or (f"ip:{ip}" if ip else None)


@dataclass
class _Candidate:
    first: float
    waiting: list[Observation] = field(default_factory=list)
    stranger: bool = False


@dataclass(frozen=True)
class Admitted:
    """What a device admitted now brings along."""

    waiting: tuple[Observation, ...]  # its sightings while it was a candidate, oldest first
    held: bool  # a stranger of a flood going on: stored, not announced


class Admission:
    """Candidates, their ARP checks, strangers and floods."""

    def __init__(
        self,
        clock: Clock,
        flood_threshold: int,
        max_devices: int,
        check: Check | None = None,
        reaches: Callable[[str], bool] | None = None,
    ) -> None:
        self._clock = clock
        self.flood_threshold = flood_threshold
        self._max_devices = max_devices
        self.full = False  # max_devices reached
        self._check = check
        self._reaches = reaches or (lambda _ip: False)
        self._settled = False  # the first sweep ended: unsolicited newcomers count
        self._observe: Observe | None = None
        self._announce: Announce | None = None
        self._candidates: OrderedDict[str, _Candidate] = OrderedDict()
        # (first heard, key) of candidates not judged yet; strangers of the last minute (the
        # newest kept: enough to tell a flood, and its end, whatever the rate).
        self._unripe: deque[tuple[float, str]] = deque()
        self._strangers: deque[float] = deque(maxlen=max(4 * flood_threshold, MAX_CANDIDATES))
        self._flood: Flood | None = None
        self._checked: dict[str, float] = {}  # address -> when it was last checked
        self._tokens = float(CHECK_BURST)
        self._refilled = clock.monotonic()
        self._tasks = TaskSet()  # checks, and the announcement of a flood
        self.strangers_total = 0

    def attach(self, observe: Observe, announce: Announce) -> None:
        """Where a proof found by a check goes (the inventory's ``observe``), and who says
        a flood began (whichever call noticed it: a sighting, a health report)."""
        self._observe = observe
        self._announce = announce

    async def stop(self) -> None:
        """Cancel the checks under way."""
        await self._tasks.cancel()

    @property
    def candidates(self) -> int:
        """How many unproven MACs and addresses wait now."""
        return len(self._candidates)

    def room(self, devices: int) -> bool:
        """False (logged once) while the inventory holds ``max_devices``."""
        full = devices >= self._max_devices
        if full and not self.full:
            _LOGGER.warning(
                "The inventory holds max_devices (%s): new devices are ignored until some "
                "are forgotten or removed",
                self._max_devices,
            )
        self.full = full
        return not full

    def health(self) -> dict[str, Any]:
        """What ``bridge/health`` says of new devices: a flood going on, the candidates
        waiting, the strangers so far and whether ``max_devices`` is reached."""
        flood = self.flood
        return {
            "new_device_flood": (
                {"since": iso(flood.since), "strangers": flood.strangers} if flood else None
            ),
            "candidates": len(self._candidates),
            "strangers": self.strangers_total,
            "device_cap_reached": self.full,
        }

    # -- candidates ------------------------------------------------------------------
    def wait(self, obs: Observation) -> None:
        """Keep an unproven sighting."""
        key = candidate_key(obs.mac, obs.ip)
        if key is None:
            return
        now = self._clock.monotonic()
        candidate = self._candidates.get(key)
        if candidate is None:
            candidate = self._candidates[key] = _Candidate(now)
            self._unripe.append((now, key))
            if len(self._unripe) > 2 * MAX_CANDIDATES:  # judged early when they come that fast
                self._judge_oldest(now)
            while len(self._candidates) > MAX_CANDIDATES:
                _, pushed_out = self._candidates.popitem(last=False)
                if not pushed_out.stranger:
                    self._count_stranger(now)
        candidate.waiting = [*candidate.waiting, obs][-MAX_WAITING:]
        if obs.ip and self._reaches(obs.ip):
            self._maybe_check(obs.ip, now)
        self.judge()

    def settle(self) -> None:
        """The first sweep ended: what was there at start is known."""
        self._settled = True

    def proves(self, obs: Observation) -> bool:
        """Whether ``obs`` admits a device now (``proves``, stricter during a flood)."""
        return proves(obs, flood=self.flood is not None)

    def admit(self, proof: Observation) -> Admitted:
        """A device proved itself: what waited for it (by MAC, and by address for sightings
        without a MAC), and whether it is held back."""
        if proof.source == UNSOLICITED and self._settled:
            self._count_stranger(self._clock.monotonic())  # unsolicited: counted the same
            self.judge()
        mac, ip = proof.mac, proof.ip
        held = False
        waiting: list[Observation] = []
        for key in (candidate_key(mac, None), candidate_key(None, ip)):
            candidate = self._candidates.pop(key, None) if key else None
            if candidate is not None:
                held |= candidate.stranger and self._flood is not None
                waiting += candidate.waiting
        waiting.sort(key=lambda o: o.seen_at)
        return Admitted(tuple(waiting), held)

    # -- strangers and floods ------------------------------------------------------------
    @property
    def flood(self) -> Flood | None:
        """The flood going on, or None."""
        self.judge()
        return self._flood

    def judge(self) -> None:
        """Count the candidates past their proof window as strangers and follow the flood
        (one that begins is announced, whoever asked)."""
        now = self._clock.monotonic()
        while self._unripe and now - self._unripe[0][0] >= PROOF_WINDOW:
            self._judge_oldest(now)
        while self._strangers and now - self._strangers[0] > FLOOD_WINDOW:
            self._strangers.popleft()
        if self._flood is None and len(self._strangers) > self.flood_threshold:
            self._flood = Flood(self._clock.now(), len(self._strangers))
            _LOGGER.warning(
                "New device flood: %s unknown MACs in a minute did not answer; "
                "devices already known are still watched",
                len(self._strangers),
            )
            if self._announce is not None:
                self._tasks.spawn(self._announce(self._flood))
        elif self._flood is not None and not self._strangers:
            _LOGGER.warning("New device flood over (%s strangers in all)", self.strangers_total)
            self._flood = None

    def _judge_oldest(self, now: float) -> None:
        _, key = self._unripe.popleft()
        candidate = self._candidates.get(key)
        if candidate is not None and not candidate.stranger:
            candidate.stranger = True
            self._count_stranger(now)

    def _count_stranger(self, now: float) -> None:
        self._strangers.append(now)
        self.strangers_total += 1

    # -- checks ------------------------------------------------------------------------
    def _maybe_check(self, ip: str, now: float) -> None:
        if self._check is None or self._observe is None:
            return
        if now - self._checked.get(ip, -1e9) < CHECK_AGAIN_AFTER:
            return
        self._tokens = min(CHECK_BURST, self._tokens + (now - self._refilled) * CHECKS_PER_SECOND)
        self._refilled = now
        if self._tokens < 1:
            return
        self._tokens -= 1
        self._checked[ip] = now
        if len(self._checked) > 4 * MAX_CANDIDATES:
            self._checked = {a: t for a, t in self._checked.items() if now - t < CHECK_AGAIN_AFTER}
        self._tasks.spawn(self._run_check(ip))

    async def _run_check(self, ip: str) -> None:
        assert self._check is not None and self._observe is not None
        try:
            proof = await self._check(ip, CHECK_TIMEOUT)
        except Exception as err:  # a check that fails proves nothing
            _LOGGER.debug("The check of %s failed: %s", ip, err)
            return
        if proof is not None:
            await self._observe(proof)
