"""The presence state machine: a pure function of (state, evidence, now).

``now`` is a monotonic reading in seconds, so wall-clock jumps cannot fake an absence.
A device becomes away only after its grace (``consider_home``, or what its rhythm earned)
without any evidence, and home again on the first evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..models import Grace, Presence


@dataclass(frozen=True)
class PresenceState:
    """What the machine knows about one device."""

    presence: Presence
    since: float
    last_heard: float | None = None
    method: str | None = None
    reason: str = "tracking started"
    learning: bool = True  # last_heard was heard by this process (gaps from it are real)


def initial(now: float) -> PresenceState:
    """A device just put under watch: unknown until evidence or the grace period passes."""
    return PresenceState(Presence.UNKNOWN, since=now)


def restored(presence: Presence, quiet_for: float, now: float) -> PresenceState:
    """A device as the database left it: its verdict, last heard ``quiet_for`` seconds ago
    (the silence across a restart is no rhythm to learn from)."""
    if presence is Presence.UNKNOWN:
        return initial(now)
    heard_at = now - max(0.0, quiet_for)
    return PresenceState(presence, heard_at, heard_at, None, "restored", learning=False)


def heard(state: PresenceState, method: str, now: float) -> PresenceState:
    """Evidence, heard at ``now``, that the device is on the network (a reply or a
    sighting). Evidence from before an away verdict (a neighbour entry the kernel
    confirmed before the device was declared away) changes nothing; any evidence ends
    ``unknown`` (the sighting that made a device known predates its watch)."""
    if state.presence is Presence.NOT_HOME and now < state.since:
        return state
    last = now if state.last_heard is None else max(state.last_heard, now)
    if state.presence is Presence.HOME:
        return replace(state, last_heard=last, method=method, learning=True)
    return PresenceState(Presence.HOME, now, last, method, f"{method} answered")


def gap(state: PresenceState, now: float) -> float | None:
    """The silence that evidence heard at ``now`` ends, when this process saw it begin."""
    if state.last_heard is None or not state.learning:
        return None
    return now - state.last_heard


def quiet_since(state: PresenceState) -> float:
    """When the device was last heard, or tracking began if it never was."""
    return state.last_heard if state.last_heard is not None else state.since


def silent(state: PresenceState, now: float, grace: Grace) -> PresenceState:
    """A probe went unanswered; away once nothing was heard for the grace's seconds."""
    if state.presence is Presence.NOT_HOME:
        return state
    reference = quiet_since(state)
    if now < reference:
        # The reading went backwards (should not happen with a monotonic clock):
        # restart the grace period rather than guess.
        return replace(state, since=now, last_heard=None if state.last_heard is None else now)
    if now - reference < grace.seconds:
        return state
    return replace(
        state,
        presence=Presence.NOT_HOME,
        since=now,
        reason=f"no answer for {now - reference:.0f} s (grace {grace.seconds:g} s: {grace.why})",
    )
