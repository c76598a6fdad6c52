"""Names and facts are text: what any host on the LAN (or any client on the broker) sends as a
name is shown in terminals, Home Assistant and logs, so control and format characters (an
escape sequence, a right-to-left override, a zero-width joiner) never pass. One function, used
by every source at ingestion and by every output that shows what it read."""

from __future__ import annotations

MAX_TEXT = 200  # characters kept of one name or fact


def plain(value: object, limit: int = MAX_TEXT) -> str | None:
    """``value`` as text that shows as it reads: characters that are not printable (control,
    format, private use, unassigned, line and paragraph separators) become spaces, runs of
    white space one space, the ends trimmed, at most ``limit`` characters; None when nothing
    is left (or ``value`` is None)."""
    if value is None:
        return None
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
    shown = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(shown.split())[:limit] or None


def meaningful(value: object, limit: int = MAX_TEXT) -> str | None:
    """``plain``, and None when no letter or digit is left (undecodable bytes, punctuation)."""
    text = plain(value, limit)
    return text if text and any(ch.isalnum() for ch in text) else None


def shown(value: object) -> str:
    """``plain`` for an output cell: the empty string for nothing."""
    return plain(value) or ""
