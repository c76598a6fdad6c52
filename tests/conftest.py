"""Shared fixtures: the namespace LAN, brokers and subscribers."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .ha_shared import SharedHomeAssistant
from .ha_tools import available
from .inprocess import RESPONSES, InProcess, answered
from .inprocess import running as inprocess_running
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# The real-LAN tier: real packets between namespaces (root), real daemons, containers. The
# rest (unit and in-process tests, many in virtual time) runs anywhere, in parallel.
REAL_LAN_MODULES = ("test_container", "test_soak_smoke")
# Real-LAN modules that wait minutes of real time: workers take them first.
LONG_MODULES = frozenset({"test_late_mdns_lan"})


# Real-LAN modules that use the run's one Home Assistant: under ``--dist loadfile`` they share
# one worker (``pytest_xdist_make_scheduler``); collection checks the list is complete.
HASS_MODULES = frozenset(
    {
        "test_home_assistant_lan",
        "test_dashboard_lan",
        "test_probes_lan",
        "test_topology_lan",
        "test_bandwidth_lan",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of a real-LAN module is marked ``netns`` (``-m netns`` selects the tier);
    modules are run in the order workers should take them (``_scope_order``)."""
    for item in items:
        module = _module(item)
        if module.endswith("_lan") or module in REAL_LAN_MODULES:
            item.add_marker(pytest.mark.netns)
        uses_hass = _HASS_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_hass and module not in HASS_MODULES:
            raise pytest.UsageError(f"{module} uses Home Assistant: add it to HASS_MODULES")
    items[:] = _scope_order(items)


def _scope(module: str) -> str:
    return "home_assistant" if module in HASS_MODULES else module


def _scope_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """Modules that wait minutes of real time first, then the largest (the Home Assistant
    modules as one), each module's tests in their order: workers take them in this order."""
    sizes: Counter[str] = Counter(_scope(_module(item)) for item in items)
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        first.setdefault(_scope(_module(item)), index)

    def key(pair: tuple[int, pytest.Item]) -> tuple[bool, int, int, int]:
        scope = _scope(_module(pair[1]))
        return (scope not in LONG_MODULES, -sizes[scope], first[scope], pair[0])

    return [item for _, item in sorted(enumerate(items), key=key)]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with the Home Assistant modules as one file: a module's tests
    stay together and in order on one worker (with its module-scoped LAN), and one worker,
    with one Home Assistant, serves every module that uses it. (xdist's own ``loadgroup``
    cannot do this with pytest 9.2: it renames node ids the way pytest 9.2 no longer
    reads them.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    config.option.loadscopereorder = False  # the collection's order is ``_scope_order``'s

    class _LanScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            module = path.rsplit("/", 1)[-1].removesuffix(".py")
            return "home_assistant" if module in HASS_MODULES else path

    return _LanScheduling(config, log)


_HASS_FIXTURES = {"home_assistant", "maybe_home_assistant"}


def _module(item: pytest.Item) -> str:
    module = getattr(item, "module", None)
    return module.__name__.rsplit(".", 1)[-1] if module is not None else ""


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


@pytest.fixture(scope="session")
def home_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedHomeAssistant]:
    """The run's one Home Assistant (the current release), started on first use; modules
    attach it to their broker (``SharedHomeAssistant.attached``)."""
    require(have_root(), "needs root for Home Assistant's network namespace")
    require(available(), "needs the current Home Assistant (scripts/ha-current builds it)")
    shared = SharedHomeAssistant(tmp_path_factory.mktemp("home-assistant"))
    try:
        shared.start()
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="session")
def maybe_home_assistant(request: pytest.FixtureRequest) -> SharedHomeAssistant | None:
    """The run's Home Assistant where it can run (always in CI), else None: modules that
    check Home Assistant's side only when it is there."""
    if not IN_CI and not (have_root() and available()):
        return None
    shared: SharedHomeAssistant = request.getfixturevalue("home_assistant")
    return shared


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
