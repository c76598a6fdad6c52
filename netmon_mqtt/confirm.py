"""Requests that destroy what cannot come back say so first and wait for ``"confirm": true``.

An ``options`` request that would forget devices now or delete history, and ``device/remove``
with ``block`` (the device never comes back by itself), are refused without it, with what
they would remove: a client that publishes by mistake (or a stranger on the broker, who
would have to ask twice in the open) removes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .config import RuntimeOptions
from .inventory.retention import overdue
from .models import Device

MAX_NAMED = 5  # devices named in the message; the count says the rest


def options_damage(
    current: RuntimeOptions, changes: Mapping[str, Any], devices: Iterable[Device], now: datetime
) -> str | None:
    """What applying ``changes`` would remove at once, or None when nothing."""
    said: list[str] = []
    days = (current.forget_after_days, current.forget_random_after_days)
    new_days = (
        changes.get("forget_after_days", days[0]),
        changes.get("forget_random_after_days", days[1]),
    )
    known = list(devices)
    kept = {d.id for d, _ in overdue(known, days, now)}
    doomed = [d for d, _ in overdue(known, new_days, now) if d.id not in kept]
    if doomed:
        names = ", ".join(d.display_name for d in doomed[:MAX_NAMED])
        more = f" and {len(doomed) - MAX_NAMED} more" if len(doomed) > MAX_NAMED else ""
        said.append(f"forget {len(doomed)} devices now ({names}{more})")
    history = changes.get("history_days", current.history_days)
    if history < current.history_days:
        said.append(f"delete the history older than {history:g} days")
    if not said:
        return None
    return f"this would {' and '.join(said)}"


def refused(what: str) -> str:
    """The message of a refused request."""
    return f'{what}; send the request again with "confirm": true to go ahead'
