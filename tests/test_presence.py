"""The presence state machine: every transition, grace period and clock oddities."""

from __future__ import annotations

import pytest

from netmon_mqtt.models import Grace, Presence
from netmon_mqtt.monitor import presence as pm

GRACE = 180.0
DEFAULT = Grace(GRACE, "consider_home", "consider_home 180 s")


def test_initial_state_is_unknown() -> None:
    state = pm.initial(100.0)
    assert state.presence is Presence.UNKNOWN
    assert state.last_heard is None


@pytest.mark.parametrize("start", [Presence.UNKNOWN, Presence.NOT_HOME, Presence.HOME])
def test_any_evidence_makes_home(start: Presence) -> None:
    state = pm.PresenceState(start, since=0.0, last_heard=None)
    after = pm.heard(state, "icmp", 50.0)
    assert after.presence is Presence.HOME
    assert after.last_heard == 50.0
    assert after.method == "icmp"
    if start is not Presence.HOME:
        assert after.since == 50.0
        assert after.reason == "icmp answered"


def test_home_stays_home_within_grace() -> None:
    state = pm.heard(pm.initial(0.0), "icmp", 10.0)
    for now in (11.0, 100.0, 10.0 + GRACE - 0.001):
        state = pm.silent(state, now, DEFAULT)
        assert state.presence is Presence.HOME


def test_home_becomes_away_after_grace() -> None:
    state = pm.heard(pm.initial(0.0), "arp", 10.0)
    state = pm.silent(state, 10.0 + GRACE, DEFAULT)
    assert state.presence is Presence.NOT_HOME
    assert "no answer for 180 s" in state.reason
    assert state.since == 10.0 + GRACE


def test_unknown_becomes_away_after_grace_from_tracking_start() -> None:
    state = pm.initial(5.0)
    assert pm.silent(state, 5.0 + GRACE - 1, DEFAULT).presence is Presence.UNKNOWN
    assert pm.silent(state, 5.0 + GRACE, DEFAULT).presence is Presence.NOT_HOME


def test_away_stays_away_while_silent() -> None:
    state = pm.silent(pm.initial(0.0), GRACE, DEFAULT)
    again = pm.silent(state, GRACE * 10, DEFAULT)
    assert again is state


def test_late_evidence_never_moves_last_heard_back() -> None:
    state = pm.heard(pm.initial(0.0), "icmp", 100.0)
    state = pm.heard(state, "neighbours", 90.0)
    assert state.last_heard == 100.0


def test_backwards_reading_restarts_the_grace_period_instead_of_declaring_away() -> None:
    state = pm.heard(pm.initial(0.0), "icmp", 1000.0)
    state = pm.silent(state, 500.0, DEFAULT)  # reading went back
    assert state.presence is Presence.HOME
    assert pm.silent(state, 500.0 + GRACE - 1, DEFAULT).presence is Presence.HOME
    assert pm.silent(state, 500.0 + GRACE, DEFAULT).presence is Presence.NOT_HOME


def test_zero_grace_goes_away_on_first_silence() -> None:
    state = pm.heard(pm.initial(0.0), "icmp", 1.0)
    assert pm.silent(state, 1.0, Grace(0.0, "consider_home", "zero")).presence is Presence.NOT_HOME


def test_flapping_pings_never_declare_away() -> None:
    """Every other probe lost (50 % loss): always heard within the grace period."""
    state = pm.initial(0.0)
    for cycle in range(200):
        now = cycle * 5.0
        state = (
            pm.heard(state, "icmp", now)
            if cycle % 2
            else pm.silent(state, now, Grace(30.0, "consider_home", "30 s"))
        )
        assert state.presence is not Presence.NOT_HOME


def test_away_reason_names_the_grace_and_why() -> None:
    learned = Grace(150.0, "learned", "90th percentile of its last 3 silent gaps is 100 s, x 1.5")
    state = pm.silent(pm.heard(pm.initial(0.0), "icmp", 0.0), 150.0, learned)
    assert state.presence is Presence.NOT_HOME
    assert state.reason == (
        "no answer for 150 s (grace 150 s: 90th percentile of its last 3 silent gaps is "
        "100 s, x 1.5)"
    )


@pytest.mark.parametrize("stored", [Presence.HOME, Presence.NOT_HOME])
def test_a_restored_verdict_stands_until_evidence_or_grace(stored: Presence) -> None:
    state = pm.restored(stored, quiet_for=30.0, now=1000.0)
    assert state.presence is stored
    assert pm.heard(state, "icmp", 1001.0).presence is Presence.HOME
    if stored is Presence.HOME:
        # Heard 30 s before the restart: the grace runs from then, not from the restart.
        assert pm.silent(state, 1000.0 + GRACE - 31, DEFAULT).presence is Presence.HOME
        assert pm.silent(state, 1000.0 + GRACE - 30, DEFAULT).presence is Presence.NOT_HOME
    else:
        assert pm.silent(state, 5000.0, DEFAULT) is state


def test_restored_unknown_starts_over_and_the_restart_is_no_gap() -> None:
    assert pm.restored(Presence.UNKNOWN, 10.0, 50.0) == pm.initial(50.0)
    state = pm.restored(Presence.HOME, quiet_for=600.0, now=1000.0)
    assert pm.gap(state, 1001.0) is None  # the silence spans the restart: not a doze
    state = pm.heard(state, "icmp", 1001.0)
    assert pm.gap(state, 1101.0) == 100.0


def test_evidence_from_before_an_away_verdict_does_not_bring_a_device_back() -> None:
    away = pm.silent(pm.heard(pm.initial(0.0), "icmp", 10.0), 200.0, DEFAULT)
    assert away.presence is Presence.NOT_HOME
    # A neighbour entry the kernel confirmed at 150 s, read at 210 s: older than the verdict.
    assert pm.heard(away, "neighbours", 150.0) is away
    assert pm.heard(away, "neighbours", 205.0).presence is Presence.HOME


def test_the_sighting_that_made_a_device_known_counts_although_it_predates_the_watch() -> None:
    state = pm.initial(100.0)
    assert pm.heard(state, "dhcp", 99.9).presence is Presence.HOME
