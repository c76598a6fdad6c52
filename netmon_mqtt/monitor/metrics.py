"""Aggregation of probe round-trip times over a window."""

from __future__ import annotations

from itertools import pairwise

from ..models import Metrics


def summarise(samples: list[float | None]) -> Metrics:
    """min / avg / max latency, jitter and loss of a window; ``None`` marks a lost probe."""
    answered = [s for s in samples if s is not None]
    if not samples:
        return Metrics(None, None, None, None, None, 0)
    loss = round(100.0 * (len(samples) - len(answered)) / len(samples), 1)
    if not answered:
        return Metrics(None, None, None, None, loss, len(samples))
    diffs = [abs(b - a) for a, b in pairwise(answered)]
    return Metrics(
        latency_ms=round(sum(answered) / len(answered), 3),
        latency_min_ms=round(min(answered), 3),
        latency_max_ms=round(max(answered), 3),
        jitter_ms=round(sum(diffs) / len(diffs), 3) if diffs else None,
        packet_loss_pct=loss,
        probes=len(samples),
    )
