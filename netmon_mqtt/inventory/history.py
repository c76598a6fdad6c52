"""History: each device's metrics windows and presence changes, kept ``history_days`` in
SQLite for the ``device/history`` request (and ``netmon-mqtt watch``).

A presence change is written when it happens (they are few); metrics windows, one per device
every ``metrics_interval``, wait for the periodic flush (``retention.py``) and go in one
transaction. ``history_days: 0`` keeps nothing, and the next flush drops what was kept.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..clock import SYSTEM, Clock
from ..config import RuntimeOptions
from ..events import EventBus, MetricsReady, OptionsChanged, PresenceChanged
from ..models import DeviceState
from .store import Store

PRUNE_INTERVAL = 3600.0  # seconds between prunes of old history


class History:
    """Writes the monitor's windows and verdicts; answers what a device's history holds."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        options: RuntimeOptions | None = None,
        *,
        clock: Clock = SYSTEM,
    ) -> None:
        self._store = store
        self._clock = clock
        self._days = options.history_days if options else 7.0
        self._pending: list[DeviceState] = []
        self._pruned_at = float("-inf")  # the first flush prunes
        bus.subscribe(MetricsReady, self._on_metrics)
        bus.subscribe(PresenceChanged, self._on_presence)
        bus.subscribe(OptionsChanged, self._on_options)

    def _on_options(self, event: OptionsChanged) -> None:
        if event.options.history_days != self._days:
            self._pruned_at = float("-inf")  # the next flush applies the new retention
        self._days = event.options.history_days

    def _on_metrics(self, event: MetricsReady) -> None:
        """Keep the window for the next flush."""
        if self._days > 0:
            self._pending.append(event.state)

    async def _on_presence(self, event: PresenceChanged) -> None:
        if self._days > 0:
            await self._store.add_presence_change(
                event.device_id, event.at, event.presence, event.reason
            )

    async def write(self) -> None:
        """Write the windows waiting."""
        samples, self._pending = self._pending, []
        await self._store.add_samples(samples, self._clock.now())

    async def flush(self, now: datetime) -> None:
        """Write the windows waiting; hourly (and after ``history_days`` changed), drop what
        is older than ``history_days``."""
        await self.write()
        if self._clock.monotonic() - self._pruned_at > PRUNE_INTERVAL:
            self._pruned_at = self._clock.monotonic()
            await self._store.prune_history(now - timedelta(days=self._days))

    async def history(
        self,
        device_id: str,
        limit: int,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
        """Metrics windows and presence changes of a device (``Store.history``), the
        windows not yet written included."""
        await self.write()
        return await self._store.history(device_id, limit, since, until)
