"""Networks coming over MQTT are confined: an ``options`` request may not set a network
larger than a /16, more than two /16 in all, or outside the configuration file's own
networks (or ``allowed_networks``, empty by default), and a refused change changes nothing,
saved or not. No packet is sent: the resolver is a stand-in."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.config import ConfigError, validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.events import EventBus
from netmon_mqtt.inventory.store import Store
from netmon_mqtt.options import Options, OptionsError

HOME = Target(ipaddress.IPv4Network("192.168.7.0/24"), "eth0", "192.168.7.1")
# What each entry resolves to "on this machine": interfaces may carry large networks.
RESOLVED = {
    "10.94.0.0/24": Target(ipaddress.IPv4Network("10.94.0.0/24"), None, None),
    "169.254.3.0/24": Target(ipaddress.IPv4Network("169.254.3.0/24"), None, None),
    "203.0.113.0/24": Target(ipaddress.IPv4Network("203.0.113.0/24"), None, None),
    "198.51.100.0/24": Target(ipaddress.IPv4Network("198.51.100.0/24"), "wan0", "198.51.100.7"),
    "eth1": Target(ipaddress.IPv4Network("10.0.0.0/8"), "eth1", "10.0.0.2"),
    "wan0": Target(ipaddress.IPv4Network("198.51.100.0/24"), "wan0", "198.51.100.7"),
    "192.168.7.0/25": Target(ipaddress.IPv4Network("192.168.7.0/25"), "eth0", "192.168.7.1"),
}
RESOLVED |= {  # (two /16 are all a request may watch together)
    f"10.{n}.0.0/16": Target(ipaddress.IPv4Network(f"10.{n}.0.0/16"), None, None) for n in range(3)
}


async def _resolve(networks: tuple[str, ...]) -> list[Target]:
    return [RESOLVED[n] for n in networks]


async def _options(tmp_path: Path, **config: Any) -> AsyncIterator[Options]:
    store = Store(tmp_path / "netmon.db")
    await store.open()
    options = Options(
        validate({"networks": [str(HOME.network)], **config}), [HOME], store, EventBus(), _resolve
    )
    try:
        yield options
    finally:
        await store.close()


@pytest.fixture
async def options(tmp_path: Path) -> AsyncIterator[Options]:
    async for made in _options(tmp_path):
        yield made


@pytest.mark.parametrize(
    ("networks", "message"),
    [
        (["203.0.113.0/24"], "networks: 203.0.113.0/24 is outside the networks a request may"),
        (["192.168.7.0/25", "wan0"], "198.51.100.0/24 (on wan0) is outside"),
        (["eth1"], "networks: 10.0.0.0/8 (on eth1) is larger than /16"),
    ],
)
async def test_networks_outside_the_files_or_too_large_are_refused(
    options: Options, networks: list[str], message: str
) -> None:
    before = options.current, options.targets
    with pytest.raises(OptionsError, match=re.escape(message)):
        await options.update({"networks": networks})
    assert (options.current, options.targets) == before
    saved = await options._store.load_settings()  # nothing was saved
    assert "networks" not in saved
    if "outside" in message:
        with pytest.raises(OptionsError, match="add it to allowed_networks"):
            await options.update({"networks": networks})


async def test_the_files_own_networks_are_accepted_and_nothing_else_by_default(
    options: Options,
) -> None:
    await options.update({"networks": ["192.168.7.0/25"]})
    assert [str(t.network) for t in options.targets] == ["192.168.7.0/25"]
    # A private range the file does not name (a VPN, a container network) is not for a
    # request to reach, unless allowed_networks names it.
    for networks in (["10.94.0.0/24"], ["169.254.3.0/24"]):
        with pytest.raises(OptionsError, match=r"outside the networks a request may watch"):
            await options.update({"networks": networks})


async def test_more_than_two_slash_16_in_all_is_refused(tmp_path: Path) -> None:
    """Each allowed and no larger than a /16, but together a third of 10/8's worth."""
    async for options in _options(tmp_path, allowed_networks=["10.0.0.0/8"]):
        await options.update({"networks": ["10.0.0.0/16", "10.1.0.0/16"]})  # two: fine
        many = [f"10.{n}.0.0/16" for n in range(3)]
        pattern = r"networks: 196608 addresses in all .* \(two /16\)"
        with pytest.raises(OptionsError, match=pattern):
            await options.update({"networks": many})
        assert len(options.targets) == 2


async def test_allowed_networks_in_the_file_lets_a_request_watch_a_public_network(
    tmp_path: Path,
) -> None:
    async for options in _options(tmp_path, allowed_networks=["203.0.113.0/24"]):
        await options.update({"networks": ["203.0.113.0/24"]})
        assert [str(t.network) for t in options.targets] == ["203.0.113.0/24"]
        # Only what it lists: the defaults are replaced, not extended.
        with pytest.raises(OptionsError, match=r"outside .* 203\.0\.113\.0/24\)"):
            await options.update({"networks": ["10.94.0.0/24"]})


async def test_saved_networks_outside_the_bound_are_not_applied_at_start(tmp_path: Path) -> None:
    """A network saved before (or written into the database) passes the same check."""
    store = Store(tmp_path / "netmon.db")
    await store.open()
    await store.save_settings({"networks": ["203.0.113.0/24"], "consider_home": 42})
    await store.close()
    async for options in _options(tmp_path):
        await options.start()
        assert options.targets == (HOME,) and options.current.consider_home == 42


def test_allowed_networks_is_validated_like_any_setting() -> None:
    assert validate({}).allowed_networks == ()
    with pytest.raises(ConfigError, match=r"^allowed_networks\[0\]: expected a CIDR"):
        validate({"allowed_networks": ["not a network"]})
