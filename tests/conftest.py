"""Shared fixtures: the namespace LAN, brokers and subscribers."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from .inprocess import RESPONSES, InProcess, answered
from .inprocess import running as inprocess_running
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The real-LAN tier: real packets between namespaces (root), real daemons, containers. The
# rest (unit and in-process tests, many in virtual time) runs anywhere, in parallel.
REAL_LAN_MODULES = ("test_container", "test_soak_smoke")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of a real-LAN module is marked ``netns``: ``-m netns`` selects the tier."""
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module.endswith("_lan") or module in REAL_LAN_MODULES:
            item.add_marker(pytest.mark.netns)


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false; in CI a missing part is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture
def make_lan() -> Iterator[type[NetnsLan]]:
    """Build namespace LANs; every one is destroyed at teardown, even on failure."""
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    require(shutil.which("tc") is not None, "needs tc (iproute2) for packet loss")
    built: list[NetnsLan] = []

    class _Lan(NetnsLan):
        def build(self) -> NetnsLan:
            built.append(self)
            return super().build()

    yield _Lan
    for lan in built:
        lan.destroy()


@pytest.fixture
def mosquitto() -> Iterator[LocalMosquitto]:
    """A real mosquitto broker on a free loopback port."""
    require(shutil.which("mosquitto") is not None, "needs the mosquitto broker")
    broker = LocalMosquitto()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
async def running(mosquitto: LocalMosquitto, tmp_path: Path) -> AsyncIterator[InProcess]:
    """The service in-process with the printer, answering requests; its subscriber reads
    responses only (a flood of requests would drown a '#' subscriber)."""
    async with inprocess_running(mosquitto.port, tmp_path / "netmon.db", topic=RESPONSES) as world:
        await answered(world)
        yield world
