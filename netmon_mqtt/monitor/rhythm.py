"""A device's rhythm: how long it goes silent when it dozes, learned from its own gaps (pure).

Phones and battery devices in deep power save go quiet for minutes and then talk again. One
``consider_home`` for every device either declares dozers away again and again or is slow to
see anyone leave. So each device keeps its last ``MAX_GAPS`` silent gaps (a gap is the time
between two pieces of its own evidence, longer than ``MIN_GAP_PROBES`` probe intervals and
no longer than ``max_consider_home``: a longer silence is an absence, not a doze). Its
effective grace is the larger of ``consider_home`` and a high percentile of its gaps times a
margin, capped by ``max_consider_home``. A ``consider_home`` set for the device wins.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..models import Grace
from .settings import ProbeSettings

MAX_GAPS = 16
MIN_GAPS = 3  # gaps needed before the rhythm counts
PERCENTILE = 90
MARGIN = 1.5
MIN_GAP_PROBES = 2


def with_gap(gaps: Sequence[float], gap: float, settings: ProbeSettings) -> tuple[float, ...]:
    """``gaps`` with ``gap`` added when it is a doze (the oldest dropped past ``MAX_GAPS``)."""
    if gap < MIN_GAP_PROBES * settings.monitor_interval or gap > settings.max_consider_home:
        return tuple(gaps)
    return (*gaps, round(gap, 1))[-MAX_GAPS:]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0-100) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share / 100 * len(ordered)))
    return ordered[rank - 1]


def grace(settings: ProbeSettings, gaps: Sequence[float]) -> Grace:
    """The effective grace of a device, and why."""
    base = settings.consider_home
    if settings.consider_home_set:
        return Grace(base, "device", "consider_home set for this device")
    if settings.max_consider_home <= base:
        return Grace(base, "consider_home", "consider_home, learning off")
    if len(gaps) < MIN_GAPS:
        learning = f"{len(gaps)} of {MIN_GAPS} silent gaps learned" if gaps else "no doze seen"
        return Grace(base, "consider_home", f"consider_home, {learning}")
    typical = percentile(gaps, PERCENTILE)
    learned = typical * MARGIN
    rhythm = (
        f"{PERCENTILE}th percentile of its last {len(gaps)} silent gaps is {typical:.0f} s, "
        f"x {MARGIN:g}"
    )
    if learned <= base:
        return Grace(base, "consider_home", f"consider_home, longer than its rhythm ({rhythm})")
    if learned >= settings.max_consider_home:
        cap = settings.max_consider_home
        return Grace(cap, "max_consider_home", f"{rhythm}, capped by max_consider_home")
    return Grace(round(learned, 1), "learned", rhythm)
