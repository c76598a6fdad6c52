"""What the other probes on the broker see (pure): who is online, which devices each one
publishes a state for, and from that, which probe owns a device's Home Assistant config
and the presence all of them agree on.

Ownership is deterministic: among the probes that are online and see the device, the one
with the lowest instance id. Every probe computes the same answer from the same retained
topics, so exactly one publishes the device's discovery config; when the owner goes
offline (its Last Will), the next one takes over.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..models import Presence

if TYPE_CHECKING:
    from ..publish.retained import RetainedMirror
    from ..publish.topics import Topics


@dataclass(frozen=True)
class Peer:
    """Another instance: its base topic, whether its ``bridge/state`` says ``online``, and
    where it reaches the broker through a bridge (``bridge_topic``), whether that bridge is
    up there (a site that lost power keeps ``online`` retained: its broker died with it)."""

    instance_id: str
    base_topic: str
    online: bool = False
    bridge_topic: str | None = None
    bridge_up: bool = True

    @property
    def alive(self) -> bool:
        """True when it is online and its bridge, if it has one, is up."""
        return self.online and self.bridge_up


@dataclass(frozen=True)
class Sighting:
    """What one probe publishes of a device (its ``<base>/device/<id>`` state)."""

    probe: str
    presence: Presence
    latency_ms: float | None = None
    last_seen: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The published form."""
        return {
            "presence": self.presence.value,
            "latency_ms": self.latency_ms,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True)
class MeshView:
    """The peers and their sightings, by device id."""

    peers: Mapping[str, Peer] = field(default_factory=dict)
    sightings: Mapping[str, Mapping[str, Sighting]] = field(default_factory=dict)

    def seen_by(self, device_id: str) -> tuple[Sighting, ...]:
        """The sightings of live peers, by instance id."""
        found = self.sightings.get(device_id, {})
        return tuple(
            s for probe, s in sorted(found.items()) if (p := self.peers.get(probe)) and p.alive
        )

    def shared(self, device_id: str) -> bool:
        """True when an online peer sees the device too."""
        return bool(self.seen_by(device_id))

    def owner(self, device_id: str, me: str, i_see: bool) -> str | None:
        """The instance that publishes the device's config (None: nobody sees it)."""
        probes = [s.probe for s in self.seen_by(device_id)] + ([me] if i_see else [])
        return min(probes, default=None)

    def owns(self, device_id: str, me: str, i_publish_state: bool) -> bool:
        """True when ``me`` publishes the config of a device in its inventory.

        A probe "sees" a device when it publishes a state for it: that is all the others
        can observe, so every probe counts the same way (an untracked device, or one not
        probed yet, is not seen here). A device that no probe sees stays with the probe
        that has it in its inventory, as without peers.
        """
        owner = self.owner(device_id, me, i_publish_state)
        return owner is None or owner == me

    def peer_of(self, bridge_state_topic: str) -> Peer | None:
        """The peer whose ``bridge/state`` topic this is."""
        base = bridge_state_topic.removesuffix("/bridge/state")
        return next((p for p in self.peers.values() if p.base_topic == base), None)

    def gone(self) -> list[str]:
        """The peers that are not there now: stopped, or their bridge dropped."""
        return sorted(p.instance_id for p in self.peers.values() if not p.alive)


def owned_here(view: MeshView, topics: Topics, retained: RetainedMirror, device_id: str) -> bool:
    """True when this instance (``topics``) publishes the device's config and merged view:
    ``MeshView.owns``, where this probe sees the device when it keeps a state for it."""
    seen = bool(retained.desired(topics.device_state(device_id)))
    return view.owns(device_id, topics.instance_id, seen)


def merged(presences: Iterable[Presence]) -> Presence:
    """Home when any probe says home, away when the others that know say away."""
    states = set(presences)
    if Presence.HOME in states:
        return Presence.HOME
    return Presence.NOT_HOME if Presence.NOT_HOME in states else Presence.UNKNOWN
