"""Background work under the common start/stop lifecycle, supervised.

Every loop of the service (probing, metrics, discovery, bandwidth, topology, health, the
inventory's flush) is a ``Loop``: it runs one round after another, and a round that raises is
logged once with its traceback, the loop waits (1 s, doubling up to a minute) and starts
again. While a loop is down, its ``Supervisor`` lists it, and ``bridge/health`` says so; the
first round that completes again clears it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from .clock import SYSTEM, Clock

T = TypeVar("T")
_LOGGER = logging.getLogger(__name__)
RESTART_FIRST = 1.0  # seconds before a failed loop starts again
RESTART_MAX = 60.0  # the longest wait between restarts


class Supervisor:
    """Knows every loop of one service and which of them are down (and why)."""

    def __init__(self, clock: Clock = SYSTEM) -> None:
        self.clock = clock
        self._down: dict[str, str] = {}
        self._listeners: list[Callable[[], object]] = []

    def on_change(self, listener: Callable[[], object]) -> None:
        """Call ``listener`` whenever a loop goes down or comes back."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def failed(self) -> dict[str, str]:
        """Loops down now: name -> the error that stopped them (its type and message)."""
        return dict(self._down)

    def loop(
        self,
        name: str,
        round_: Callable[[], Awaitable[None]],
        *,
        every: float | Callable[[], float] | None = None,
        wait: Callable[[], Awaitable[None]] | None = None,
        first: float = 0.0,
    ) -> Loop:
        """A supervised loop running ``round_`` again and again, after ``first`` seconds;
        between rounds it sleeps ``every`` seconds, or awaits ``wait`` (which may be cut
        short), or nothing. A round counts as completed before that wait."""
        return Loop(name, round_, self, every=every, wait=wait, first=first)

    def round_failed(self, name: str, err: BaseException) -> bool:
        """Record a failure; True when it is news (the loop was up)."""
        news = name not in self._down
        self._down[name] = f"{type(err).__name__}: {err}"[:200]
        if news:
            self._changed()
        return news

    def round_completed(self, name: str) -> None:
        """A round of ``name`` ended well: it is up (again)."""
        if self._down.pop(name, None) is not None:
            _LOGGER.info("Background loop %s runs again", name)
            self._changed()


class Loop:
    """One supervised loop, from ``start`` until ``stop`` cancels it."""

    def __init__(
        self,
        name: str,
        round_: Callable[[], Awaitable[None]],
        supervisor: Supervisor,
        *,
        every: float | Callable[[], float] | None = None,
        wait: Callable[[], Awaitable[None]] | None = None,
        first: float = 0.0,
    ) -> None:
        self.name = name
        self._round = round_
        self._supervisor = supervisor
        self._every = every
        self._wait = wait
        self._first = first
        self._task: asyncio.Task[None] | None = None

    def _interval(self) -> float:
        every = self._every
        return float(every() if callable(every) else every or 0.0)

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @property
    def running(self) -> bool:
        """True from ``start`` until ``stop``."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        clock = self._supervisor.clock
        restart = RESTART_FIRST
        await clock.sleep(self._first)
        while True:
            try:
                await self._round()
            except Exception as err:
                if self._supervisor.round_failed(self.name, err):
                    _LOGGER.exception("Background loop %s failed; restarting", self.name)
                else:
                    _LOGGER.debug("Background loop %s failed again: %s", self.name, err)
                await clock.sleep(restart)
                restart = min(restart * 2, RESTART_MAX)
                continue
            restart = RESTART_FIRST
            self._supervisor.round_completed(self.name)
            if self._wait is not None:
                await self._wait()
            elif self._every is not None:
                await clock.sleep(self._interval())


class TaskSet:
    """Short tasks started on the side: referenced until done, cancelled together."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coroutine`` as a task kept until it ends."""
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait(self) -> None:
        """Wait until every task (including those they start meanwhile) has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def cancel(self) -> None:
        """Cancel every running task and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
