"""What an alert says (pure): one event as a title and a line, and many of one rule within
the digest window as one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..identify import taxonomy
from ..models import Device
from ..text import plain

MAX_DIGEST_LINES = 50  # lines of one digest; the rest are counted
_WHAT = {
    "unknown_device_joined": ("New unknown device", "new unknown devices"),
    "device_away": ("Device away", "devices away"),
    "device_back": ("Device back", "devices back"),
    "ip_changed": ("Address changed", "address changes"),
    "new_device_flood": ("New-device flood", "new-device floods"),
    "unhealthy": ("netmon-mqtt unhealthy", "health alerts"),
}


@dataclass(frozen=True)
class Alert:
    """One thing to tell: which rule's event, a line about it, and the device it is about."""

    event: str
    line: str
    device_id: str | None = None


@dataclass(frozen=True)
class Message:
    """What goes to a target."""

    title: str
    body: str


def described(device: Device) -> str:
    """A device in one line: its name, address, vendor and type."""
    facts = [device.ip, device.vendor, taxonomy.of(device.device_type).label]
    shown = ", ".join(f for f in facts if f and f != taxonomy.UNKNOWN.label)
    return plain(f"{device.display_name} ({shown})" if shown else device.display_name, 300) or ""


def at(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def message(alerts: list[Alert], suppressed: int = 0) -> Message:
    """One alert as itself; several (of one rule, within the window) as a digest."""
    event = alerts[0].event
    one, many = _WHAT.get(event, (event, event))
    note = f"\n({suppressed} earlier alerts of this kind were not sent: the hourly limit)"
    tail = note if suppressed else ""
    if len(alerts) == 1:
        return Message(f"netmon: {one}", alerts[0].line + tail)
    lines = [a.line for a in alerts[:MAX_DIGEST_LINES]]
    if len(alerts) > MAX_DIGEST_LINES:
        lines.append(f"... and {len(alerts) - MAX_DIGEST_LINES} more")
    return Message(f"netmon: {len(alerts)} {many}", "\n".join(lines) + tail)
