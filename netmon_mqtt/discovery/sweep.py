"""One discovery pass over a set of targets, merging every source's observations."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..config import DiscoveryConfig
from ..errors import DiscoveryError
from ..models import Observation
from .arp import ArpSettings, arp_sweep
from .neighbours import read_neighbours
from .networks import Target

_LOGGER = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


class Sweeper:
    """Runs the enabled sources over targets; logs a lost capability once."""

    def __init__(self, settings: DiscoveryConfig) -> None:
        self._settings = settings
        self._arp = ArpSettings(settings.arp_timeout, settings.arp_retries, settings.arp_rate)
        self._arp_refused = False

    async def sweep(
        self, targets: list[Target], progress: Progress | None = None
    ) -> list[Observation]:
        """Observations from every source, at most one per (ip, mac)."""
        found: dict[tuple[str, str | None], Observation] = {}
        for index, target in enumerate(targets):
            if progress:
                progress(index, len(targets), str(target.network))
            for obs in await self._sweep_target(target):
                found.setdefault((obs.ip, obs.mac), obs)
        if self._settings.neighbours:
            for obs in read_neighbours(t.network for t in targets):
                found.setdefault((obs.ip, obs.mac), obs)
        if progress:
            progress(len(targets), len(targets), "done")
        return list(found.values())

    async def _sweep_target(self, target: Target) -> list[Observation]:
        if not self._settings.arp or self._arp_refused:
            return []
        if not target.on_link:
            _LOGGER.info(
                "%s is not on-link: its hosts are known only from the neighbour table",
                target.network,
            )
            return []
        try:
            observations = await arp_sweep(target, self._arp)
        except DiscoveryError as err:
            if "raw sockets" in str(err):
                self._arp_refused = True
                _LOGGER.warning("%s; continuing with the neighbour table only", err)
            else:
                _LOGGER.warning("%s", err)
            return []
        _LOGGER.debug("ARP sweep of %s found %s hosts", target.network, len(observations))
        return observations
