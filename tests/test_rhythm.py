"""A device's learned rhythm: which gaps count, the percentile, and which grace applies."""

from __future__ import annotations

import pytest

from netmon_mqtt.monitor import rhythm
from netmon_mqtt.monitor.settings import ProbeSettings

DEFAULTS = ProbeSettings(
    monitor_interval=5.0, ping_timeout=1.0, consider_home=45.0, max_consider_home=1800.0
)


def test_only_dozes_are_gaps() -> None:
    gaps: tuple[float, ...] = ()
    gaps = rhythm.with_gap(gaps, 9.9, DEFAULTS)  # under two probe intervals: a lost probe
    assert gaps == ()
    gaps = rhythm.with_gap(gaps, 104.26, DEFAULTS)
    assert gaps == (104.3,)
    gaps = rhythm.with_gap(gaps, 1800.1, DEFAULTS)  # longer than the cap: an absence
    assert gaps == (104.3,)


def test_the_summary_is_bounded_and_keeps_the_newest() -> None:
    gaps: tuple[float, ...] = ()
    for n in range(rhythm.MAX_GAPS + 5):
        gaps = rhythm.with_gap(gaps, 20.0 + n, DEFAULTS)
    assert len(gaps) == rhythm.MAX_GAPS
    assert gaps[-1] == 20.0 + rhythm.MAX_GAPS + 4
    assert gaps[0] == 25.0


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [([5.0], 90, 5.0), ([1.0, 2.0, 3.0], 90, 3.0), ([float(n) for n in range(1, 11)], 90, 9.0)],
)
def test_percentile_is_nearest_rank(values: list[float], share: float, expected: float) -> None:
    assert rhythm.percentile(values, share) == expected


def test_no_rhythm_until_enough_gaps() -> None:
    grace = rhythm.grace(DEFAULTS, (100.0, 100.0))
    assert (grace.seconds, grace.source) == (45.0, "consider_home")
    assert "2 of 3 silent gaps learned" in grace.why


def test_a_dozer_earns_its_percentile_times_the_margin() -> None:
    grace = rhythm.grace(DEFAULTS, (100.0, 104.0, 102.0))
    assert (grace.seconds, grace.source) == (156.0, "learned")
    assert grace.why == "90th percentile of its last 3 silent gaps is 104 s, x 1.5"


def test_short_gaps_leave_consider_home() -> None:
    grace = rhythm.grace(DEFAULTS, (12.0, 15.0, 20.0))
    assert (grace.seconds, grace.source) == (45.0, "consider_home")


def test_the_cap_and_a_device_setting() -> None:
    capped = rhythm.grace(
        ProbeSettings(5.0, 1.0, 45.0, max_consider_home=120.0), (100.0, 110.0, 115.0)
    )
    assert (capped.seconds, capped.source) == (120.0, "max_consider_home")
    own = rhythm.grace(
        ProbeSettings(5.0, 1.0, 60.0, max_consider_home=1800.0, consider_home_set=True),
        (100.0, 110.0, 115.0),
    )
    assert (own.seconds, own.source) == (60.0, "device")
    off = rhythm.grace(ProbeSettings(5.0, 1.0, 45.0, max_consider_home=0.0), (100.0,) * 3)
    assert (off.seconds, off.source) == (45.0, "consider_home")
