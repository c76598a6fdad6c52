"""Incoming messages and the routes that hand them to their handlers.

Nothing here knows aiomqtt: a ``Message`` is already decoded, and the ``Router`` only matches
topic filters. One failing handler is logged and never stops the others (nor the reader that
dispatches).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .topics import matches

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """An incoming message, decoded."""

    topic: str
    payload: str
    retain: bool


Handler = Callable[[Message], None]


class Router:
    """Topic filters and their handlers; one failing handler never stops the others."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, Handler]] = []

    @property
    def filters(self) -> list[str]:
        """Every filter routed, once each, in the order first added."""
        return list(dict.fromkeys(f for f, _ in self._routes))

    def add(self, topic_filter: str, handler: Handler) -> None:
        """Route messages matching ``topic_filter`` to ``handler``."""
        self._routes.append((topic_filter, handler))

    def remove(self, topic_filter: str, handler: Handler) -> None:
        """Drop one route."""
        self._routes.remove((topic_filter, handler))

    def dispatch(self, message: Message) -> None:
        """Hand ``message`` to every matching handler."""
        for topic_filter, handler in list(self._routes):
            if matches(topic_filter, message.topic):
                try:
                    handler(message)
                except Exception:
                    _LOGGER.exception("Handler of %s failed on %s", topic_filter, message.topic)
