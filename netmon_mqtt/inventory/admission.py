"""Admission: a sighting becomes a device only when the device itself proves it is there.

Proof is an answer to a probe of ours: an ARP reply (a sweep, or the check below), an ICMP
echo reply, or a neighbour entry the kernel confirmed. Anything else about a MAC (or an
address) nobody knows yet (a DHCP request, an unsolicited ARP, an mDNS or SSDP answer) waits
here as a *candidate*: in memory only, a few sightings each, at most ``MAX_CANDIDATES`` of
them. A candidate that names an address of a watched link is checked at once with one ARP
request (``check``, at most ``CHECKS_PER_SECOND``); when its own MAC answers, the device is
admitted and what it said while waiting (its DHCP host name and fingerprint) is merged.

Anyone can send a frame from a made-up MAC; only a host that is there answers. A candidate
still unproven ``PROOF_WINDOW`` seconds after it was first heard (or pushed out by newer
ones) is a *stranger*. More than ``flood_threshold`` strangers in a minute is a flood: one
``new_device_flood`` event, ``bridge/health`` says so until a minute passes without a
stranger, and a stranger that proves itself later during the flood is held back (stored,
but neither tracked, published to Home Assistant, announced nor identified).
"""

from __future__ import annotations

import ipaddress
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
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

# Answers to probes of ours: the only sightings that make a device.
PROOF_SOURCES = frozenset({"arp", "icmp_sweep"})

Check = Callable[[str, float], Awaitable[str | None]]  # address -> the MAC that answered
Observe = Callable[[Observation], Awaitable[None]]


def proves(obs: Observation) -> bool:
    """True when the sighting is the device answering us (it is there, with this MAC)."""
    if obs.source == "neighbours":
        return obs.confirmed and obs.mac is not None  # the kernel had its answer
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
        on_link: Callable[[str], bool] | None = None,
    ) -> None:
        self._clock = clock
        self.flood_threshold = flood_threshold
        self._max_devices = max_devices
        self.full = False  # max_devices reached
        self._check = check
        self._on_link = on_link or (lambda _ip: False)
        self._observe: Observe | None = None
        self._candidates: OrderedDict[str, _Candidate] = OrderedDict()
        self._unripe: deque[tuple[float, str]] = deque()  # (first heard, key): not judged yet
        self._strangers: deque[float] = deque()
        self._flood: Flood | None = None
        self._checked: dict[str, float] = {}  # address -> when it was last checked
        self._tokens = float(CHECK_BURST)
        self._refilled = clock.monotonic()
        self._checks = TaskSet()
        self.strangers_total = 0

    def attach(self, observe: Observe) -> None:
        """Where a proof found by a check goes (the inventory's ``observe``)."""
        self._observe = observe

    async def stop(self) -> None:
        """Cancel the checks under way."""
        await self._checks.cancel()

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
    def wait(self, obs: Observation) -> bool:
        """Keep an unproven sighting; True when a flood began with it."""
        key = candidate_key(obs.mac, obs.ip)
        if key is None:
            return False
        now = self._clock.monotonic()
        candidate = self._candidates.get(key)
        if candidate is None:
            candidate = self._candidates[key] = _Candidate(now)
            self._unripe.append((now, key))
            while len(self._candidates) > MAX_CANDIDATES:
                _, pushed_out = self._candidates.popitem(last=False)
                if not pushed_out.stranger:
                    self._count_stranger(now)
        candidate.waiting = [*candidate.waiting, obs][-MAX_WAITING:]
        if obs.ip and self._on_link(obs.ip):
            self._maybe_check(obs.ip, now)
        return self.judge()

    def admit(self, mac: str | None, ip: str | None) -> Admitted:
        """A device proved itself: what waited for it (by MAC, and by address for sightings
        without a MAC), and whether it is held back."""
        held = False
        waiting: list[Observation] = []
        for key in (candidate_key(mac, None), candidate_key(None, ip)):
            candidate = self._candidates.pop(key, None) if key else None
            if candidate is not None:
                held |= candidate.stranger and self._flood is not None
                waiting += candidate.waiting
        waiting.sort(key=lambda o: o.seen_at)
        return Admitted(tuple(waiting), held)

    def forget(self, mac: str | None) -> None:
        """Drop a candidate (its MAC is a known device's now)."""
        if mac:
            self._candidates.pop(mac, None)

    # -- strangers and floods ------------------------------------------------------------
    @property
    def flood(self) -> Flood | None:
        """The flood going on, or None."""
        self.judge()
        return self._flood

    def judge(self) -> bool:
        """Count the candidates past their proof window as strangers and follow the flood;
        True when a flood began now."""
        now = self._clock.monotonic()
        while self._unripe and now - self._unripe[0][0] >= PROOF_WINDOW:
            _, key = self._unripe.popleft()
            candidate = self._candidates.get(key)
            if candidate is not None and not candidate.stranger:
                candidate.stranger = True
                self._count_stranger(now)
        while self._strangers and now - self._strangers[0] > FLOOD_WINDOW:
            self._strangers.popleft()
        if self._flood is None and len(self._strangers) > self.flood_threshold:
            self._flood = Flood(self._clock.now(), len(self._strangers))
            _LOGGER.warning(
                "New device flood: %s unknown MACs in a minute did not answer; "
                "devices already known are still watched",
                len(self._strangers),
            )
            return True
        if self._flood is not None and not self._strangers:
            _LOGGER.warning("New device flood over (%s strangers in all)", self.strangers_total)
            self._flood = None
        return False

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
        self._checks.spawn(self._run_check(ip))

    async def _run_check(self, ip: str) -> None:
        assert self._check is not None and self._observe is not None
        try:
            mac = await self._check(ip, CHECK_TIMEOUT)
        except Exception as err:  # a check that fails proves nothing
            _LOGGER.debug("ARP check of %s failed: %s", ip, err)
            return
        if mac is not None and ipaddress.ip_address(ip).version == 4:
            proof = Observation(ip=ip, mac=mac, source="arp", seen_at=self._clock.now())
            await self._observe(proof)
