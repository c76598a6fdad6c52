"""Wall-clock helper: timezone-aware UTC, ISO 8601 with offset."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, rounded to milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text with timezone, or None."""
    return value.isoformat(timespec="milliseconds") if value else None
