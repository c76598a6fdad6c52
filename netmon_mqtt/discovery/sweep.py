"""One discovery pass over a set of targets, merging every source's observations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..clock import SYSTEM, Clock
from ..config import DiscoveryConfig
from ..errors import DiscoveryError, NetmonError
from ..models import Observation
from ..monitor.icmp import Pinger
from .arp import ArpSettings, arp_sweep
from .ipv6 import discover6
from .link import NEED_RAW, Link
from .neighbours import neighbours
from .networks import Target
from .packets import SSDP_PORT
from .senders import Senders
from .ssdp import ssdp_search

_LOGGER = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
METHODS = frozenset({"arp", "icmp", "neighbours", "ipv6", "ssdp"})
Sink = Callable[[list[Observation]], Awaitable[None]]


class Sweeper:
    """Runs the enabled sources over targets; logs a lost capability once."""

    def __init__(
        self,
        settings: DiscoveryConfig,
        link: Link,
        pinger: Pinger | None,
        ping_timeout: float = 1.0,
        *,
        raw: bool = True,
        clock: Clock = SYSTEM,
    ) -> None:
        self._clock = clock
        self._settings = settings
        self._link = link
        self._pinger = pinger
        self._ping_timeout = ping_timeout
        self._arp = ArpSettings(settings.arp_timeout, settings.arp_retries, settings.arp_rate)
        self._raw_refused = not raw
        # Who sent each SSDP reply, read from its frame (without raw sockets: its address).
        self._ssdp_senders = Senders(clock, SSDP_PORT) if raw else None

    async def _ssdp(self, targets: list[Target]) -> list[Observation]:
        """An SSDP search on the on-link targets; replies count only from addresses in them
        (and, with raw sockets, only as sent by the replying host itself)."""
        on_link = [t for t in targets if t.interface and t.source_ip]
        if self._ssdp_senders is not None:  # where it cannot listen, no reply is vouched for
            self._ssdp_senders.listen(self._link, (str(t.interface) for t in on_link))
        return await ssdp_search(
            sorted({str(t.source_ip) for t in on_link}),
            clock=self._clock,
            senders=self._ssdp_senders,
            in_scope=lambda ip: any(t.contains(ip) for t in targets),
        )

    def enabled(self, methods: frozenset[str] | None = None) -> frozenset[str]:
        """The sweep methods that will run: those asked for and switched on."""
        s = self._settings
        switched_on = {
            "arp": s.arp,
            "icmp": s.icmp_sweep,
            "neighbours": s.neighbours,
            "ipv6": s.ipv6,
            "ssdp": s.use_ssdp,
        }
        wanted = METHODS if methods is None else methods
        return frozenset(m for m in wanted if switched_on[m])

    async def sweep(
        self,
        targets: list[Target],
        progress: Progress | None = None,
        sink: Sink | None = None,
        methods: frozenset[str] | None = None,
    ) -> list[Observation]:
        """Observations from every enabled source, at most one per (ip, mac, source).

        ``sink`` receives each source's new observations as soon as that source finishes,
        so hosts appear while slower sources still run.
        """
        run = self.enabled(methods)
        found: dict[tuple[str | None, str | None, str], Observation] = {}

        async def keep(observations: list[Observation]) -> None:
            fresh = []
            for obs in observations:
                key = (obs.ip, obs.mac, obs.source)
                if key not in found:
                    found[key] = obs
                    fresh.append(obs)
            if sink and fresh:
                await sink(fresh)

        for index, target in enumerate(targets):
            if progress:
                progress(index, len(targets), str(target.network))
            await keep(await self._sweep_target(target, run))
        if "neighbours" in run:
            await keep(await neighbours((t.network for t in targets), self._clock))
        if "ssdp" in run:
            await keep(await self._ssdp(targets))
        if "ipv6" in run:
            for interface in sorted({t.interface for t in targets if t.interface}):
                await keep(await discover6(interface, clock=self._clock))
        if progress:
            progress(len(targets), len(targets), "done")
        return list(found.values())

    async def _sweep_target(self, target: Target, run: frozenset[str]) -> list[Observation]:
        if not target.on_link:
            return await self._icmp_sweep(target) if "icmp" in run else []
        if "arp" not in run or self._raw_refused:
            return []
        try:
            observations = await arp_sweep(self._link, target, self._arp, clock=self._clock)
        except DiscoveryError as err:
            if str(err) == NEED_RAW:
                self._raw_refused = True
                _LOGGER.warning(
                    "ARP sweeps disabled: %s. Hosts are found from the neighbour "
                    "table, mDNS and ICMP only",
                    err,
                )
            else:
                _LOGGER.warning("%s", err)
            return []
        _LOGGER.debug("ARP sweep of %s found %s hosts", target.network, len(observations))
        return observations

    async def _icmp_sweep(self, target: Target) -> list[Observation]:
        """Ping every address of a routed network (paced); hosts are known by address only."""
        if self._pinger is None:
            return []
        pinger = self._pinger
        opened_here = not pinger.is_open
        if opened_here:
            try:
                pinger.open()
            except NetmonError as err:
                _LOGGER.warning("No ICMP sweep of %s: %s", target.network, err)
                return []
        try:
            return await self._ping_all(pinger, target)
        finally:
            if opened_here:
                pinger.close()

    async def _ping_all(self, pinger: Pinger, target: Target) -> list[Observation]:
        addresses = [str(ip) for ip in target.network.hosts()]
        clock = self._clock
        started = clock.monotonic()
        spacing = 1.0 / self._settings.arp_rate
        tasks: list[asyncio.Task[float | None]] = []
        for index, ip in enumerate(addresses):
            tasks.append(asyncio.create_task(pinger.ping(ip, self._ping_timeout)))
            await clock.sleep(started + (index + 1) * spacing - clock.monotonic())
        results = await asyncio.gather(*tasks)
        now = clock.now()
        alive = [ip for ip, rtt in zip(addresses, results, strict=True) if rtt is not None]
        _LOGGER.debug("ICMP sweep of %s found %s hosts", target.network, len(alive))
        return [Observation(ip=ip, source="icmp_sweep", seen_at=now) for ip in alive]
