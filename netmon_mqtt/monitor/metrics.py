"""Aggregation of probe round-trip times over a window."""

from __future__ import annotations

from itertools import pairwise

from ..models import Metrics


def resolution(ms: float) -> float:
    """What a network can measure of a round trip this long: 0.1 ms below 10 ms, 1 ms above.

    Finer digits are noise (scheduling, Wi-Fi power save); publishing them would make every
    window a new value, and a new row in Home Assistant's recorder.
    """
    return 0.1 if ms < 10 else 1.0


def measured(ms: float) -> float:
    """A round trip kept to its ``resolution``."""
    return round(ms, 1) if ms < 10 else float(round(ms))


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
        latency_ms=measured(sum(answered) / len(answered)),
        latency_min_ms=measured(min(answered)),
        latency_max_ms=measured(max(answered)),
        jitter_ms=measured(sum(diffs) / len(diffs)) if diffs else None,
        packet_loss_pct=loss,
        probes=len(samples),
    )
