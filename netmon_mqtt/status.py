"""What the bridge says about itself: ``bridge/info`` and ``bridge/health``, read from the
components when asked (never stored), and a periodic health report on the bus."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from .background import Supervisor, TaskSet
from .bridge import RequestLimit
from .clock import iso
from .discovery.service import Discovery
from .events import EventBus, HealthReported
from .models import DeviceSource, Presence
from .options import Options
from .publish.topics import Topics
from .sealing import SEALING, Sealing

_LOGGER = logging.getLogger(__name__)
REPORT_EVERY = 30.0


class DatabaseHealth(Protocol):
    """Whether the last periodic write to the database worked (``inventory/retention.py``)."""

    @property
    def db_ok(self) -> bool:
        """False from a failed flush until one works again."""


class Status:
    """The bridge's info and health."""

    def __init__(
        self,
        version: str,
        topics: Topics,
        inventory: DeviceSource,
        discovery: Discovery,
        options: Options,
        *,
        database: DatabaseHealth,
        loops: Supervisor | None = None,
        limit: RequestLimit | None = None,
        crowding: Callable[[], dict[str, Any]] | None = None,
        sealing: Sealing | None = None,
        probes_gone: Callable[[], list[str]] | None = None,
    ) -> None:
        self._sealing = sealing
        self._probes_gone = probes_gone or list
        self._crowding = crowding or dict
        self._loops = loops = loops or Supervisor()
        clock = loops.clock
        self._version = version
        self._limit = limit
        self._topics = topics
        self._inventory = inventory
        self._database = database
        self._discovery = discovery
        self._options = options
        self._clock = clock
        self._started = clock.monotonic()
        self._started_at = iso(clock.now())

    def info(self) -> dict[str, Any]:
        """The ``bridge/info`` payload (also the ``info`` request's answer)."""
        devices = self._inventory.devices()
        options = self._options.current
        return {
            "version": self._version,
            "instance_id": self._topics.instance_id,
            "base_topic": self._topics.base,
            "discovery_prefix": self._topics.prefix,
            "networks": [str(t.network) for t in self._options.targets],
            "discovery_interval": options.discovery_interval,
            "monitor_interval": options.monitor_interval,
            "metrics_interval": options.metrics_interval,
            "started_at": self._started_at,
            "devices": {
                "total": len(devices),
                "online": sum(d.status is Presence.HOME for d in devices),
            },
            "last_scan_duration_s": _rounded(self._discovery.last_duration, 2),
            # Seal secrets to this key before sending them (``sealing.py``).
            "public_key": self._sealing.public_key if self._sealing else None,
            "sealing": SEALING,
        }

    def health(self) -> dict[str, Any]:
        """``healthy`` is false when the database failed its last write, sweeps are late
        (judged by the discovery interval in force now), a background loop is down
        (``failed_loops``: its name and the error that stopped it) or a flood of new MACs
        goes on (``new_device_flood``). ``probes_gone`` lists the other probes on the broker
        that are not there now (stopped, or their site's bridge dropped)."""
        now = self._clock.monotonic()
        interval = self._options.current.discovery_interval
        finished = self._discovery.last_finished
        since = now - (finished if finished is not None else self._started)
        # How late the next sweep is: zero while on schedule (a first sweep gets one interval).
        lag = max(0.0, since - interval - (self._discovery.last_duration or 0.0))
        db_ok = self._database.db_ok
        failed = self._loops.failed()
        crowding = self._crowding()
        flood = crowding.get("new_device_flood")
        return {
            "healthy": db_ok and lag < interval and not failed and not flood,
            "uptime_s": round(now - self._started, 1),
            "scan_lag_s": round(lag, 1),
            "db_ok": db_ok,
            "devices": len(self._inventory.devices()),
            "last_scan_duration_s": _rounded(self._discovery.last_duration, 2),
            "requests_refused": self._limit.refused if self._limit else 0,
            "failed_loops": failed,
            "probes_gone": self._probes_gone(),
            **crowding,
        }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class HealthReporter:
    """Reports the health on the bus now and every ``REPORT_EVERY`` seconds."""

    def __init__(self, status: Status, bus: EventBus, loops: Supervisor | None = None) -> None:
        self._status = status
        self._bus = bus
        loops = loops or Supervisor()
        self._loop = loops.loop("health", self._report, every=REPORT_EVERY)
        self._now = TaskSet()
        # A loop going down (or coming back) is reported at once, not at the next report.
        loops.on_change(lambda: self._now.spawn(self._report_change()))

    async def start(self) -> None:
        """Start reporting."""
        await self._loop.start()

    async def stop(self) -> None:
        """Stop reporting."""
        await self._loop.stop()
        await self._now.cancel()

    async def _report_change(self) -> None:
        try:
            await self._report()
        except Exception as err:  # the health loop's own failure is what reports this
            _LOGGER.debug("Could not report a loop's change at once: %s", err)

    async def _report(self) -> None:
        await self._bus.emit(HealthReported(self._status.health()))
