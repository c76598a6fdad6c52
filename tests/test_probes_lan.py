"""Two probes on two namespace LANs (think: two VLANs or two sites), each with its own
mosquitto bridged (the shipped example configuration, per-probe credentials) to a central
mosquitto that a real Home Assistant uses. One MAC is on both LANs (a router with a leg in
each); the others are on one only.

One Home Assistant device per MAC, no ``_2`` entity ids, the shared device lists both
probes; stopping a probe makes its own devices unavailable while the shared one stays home;
starting it again restores them without duplicates or ``device_joined`` events. The same
when a site goes without a word (issue 25): its netmon and its broker killed together, or
its link to the central broker cut; the bridge's Last Will on the central broker says so.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .ha_shared import SharedHomeAssistant
from .ha_tools import HomeAssistant, wait_for
from .lan import NS_PREFIX, NetnsLan, have_root, run
from .mqtt_tools import LocalMosquitto, Subscriber, bridged_brokers, connect_subscriber
from .service_tools import RunningService, no_traceback, write_config

CENTRAL_PORT = 1883
KEEPALIVE = 5  # the bridges' keepalive: a cut link is noticed within 1.5 times this
WAN = ("10.200.0.1", "10.200.0.2")  # the link between the two sites' service namespaces
NAMES = ("alpha", "beta")


@dataclass
class World:
    lans: dict[str, NetnsLan]
    services: dict[str, RunningService]
    sub: Subscriber  # on the central broker
    hass: HomeAssistant
    brokers: dict[str, LocalMosquitto]  # each site's own, bridged to the central one

    @property
    def shared(self) -> str:
        return self.lans["alpha"].hosts[0].device_id

    def own(self, name: str) -> list[str]:
        return [h.device_id for h in self.lans[name].hosts[1:]]

    def devices(self) -> list[str]:
        return [self.shared, *self.own("alpha"), *self.own("beta")]

    def states_of(self, device_id: str) -> dict[str, str]:
        entities = self.hass.netmon_entities().get(device_id, [])
        states = self.hass.states()
        return {e: states[e]["state"] for e in entities if e in states}

    def tracker(self, device_id: str) -> dict[str, Any] | None:
        states = self.hass.states()
        for entity in self.hass.netmon_entities().get(device_id, []):
            if entity.startswith("device_tracker.") and entity in states:
                return states[entity]
        return None


def _service(lan: NetnsLan, name: str, folder: Path, port: int) -> RunningService:
    """netmon-mqtt for one site, connected to that site's own broker on ``port``."""
    config = folder / f"{name}.yaml"
    write_config(
        config,
        [lan.subnet],
        folder / f"{name}.db",
        broker_port=port,
        embedded=False,
        mqtt_options={
            "base_topic": f"netmon/{name}",
            "bridge_topic": f"netmon/{name}/bridge/connection",
        },
        instance_id=name,
        discovery_interval=3600,
        discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False, "use_snmp": False},
    )
    service = RunningService(lan, config, folder / f"{name}.log")
    service.start()
    return service


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, home_assistant: SharedHomeAssistant
) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build LANs of network namespaces")
    tmp = tmp_path_factory.mktemp("probes")
    tag = f"{NS_PREFIX}{os.getpid() % 100000}"
    lans = {
        "alpha": NetnsLan(3, tag=f"{tag}a", subnet="10.87.0.0/24"),
        "beta": NetnsLan(3, tag=f"{tag}b", subnet="10.88.0.0/24"),
    }
    services: dict[str, RunningService] = {}
    brokers: dict[str, LocalMosquitto] = {}
    central = sub = None
    attached = ExitStack()
    try:
        for lan in lans.values():
            lan.build()
        a, b = (lans[n].service_ns for n in NAMES)
        run("ip", "link", "add", "wan", "netns", a, "type", "veth", "peer", "wan", "netns", b)
        for namespace, address in ((a, WAN[0]), (b, WAN[1])):
            run("ip", "-n", namespace, "addr", "add", f"{address}/30", "dev", "wan")
            run("ip", "-n", namespace, "link", "set", "wan", "up")
        # The router: the same MAC on both LANs; the other hosts differ (both LANs number
        # their hosts' MACs the same way).
        beta = lans["beta"]
        beta.set_mac(beta.hosts[0], lans["alpha"].hosts[0].mac)
        for n, host in enumerate(list(beta.hosts[1:]), start=1):
            beta.set_mac(host, f"f0:9f:c2:be:00:{n:02x}")
        central = LocalMosquitto(CENTRAL_PORT, lans["alpha"].exec_args(a))
        prefixes = {n: lans[n].exec_args(lans[n].service_ns) for n in NAMES}
        brokers = bridged_brokers(
            central, NAMES, prefixes=prefixes, central_address=WAN[0], keepalive=KEEPALIVE
        )
        sub = connect_subscriber(CENTRAL_PORT, lans["alpha"].exec_args(a))
        for name in NAMES:
            services[name] = _service(lans[name], name, tmp, brokers[name].port)
        hass = attached.enter_context(home_assistant.attached(a, CENTRAL_PORT))
        world = World(lans, services, sub, hass, brokers)
        ready = wait_for(lambda: set(world.devices()) <= set(hass.netmon_entities()), 90)
        assert ready, (hass.netmon_entities(), [m.topic for m in sub.snapshot()][-40:])
        yield world
    finally:
        attached.close()
        for service in services.values():
            service.kill()
        if sub:
            sub.close()
        for broker in brokers.values():
            broker.stop()
        if central:
            central.stop()
        for lan in lans.values():
            lan.destroy()


@pytest.mark.netns
def test_one_device_per_mac_and_the_shared_one_lists_both_probes(world: World) -> None:
    found = world.hass.netmon_entities()
    assert sorted(found) == sorted(world.devices())  # one device per MAC, five in all
    every = {e for entities in found.values() for e in entities}
    for entities in found.values():
        trackers = [e for e in entities if e.startswith("device_tracker.")]
        assert len(trackers) == 1, entities
        # A second publisher of the same device would have made "<id>_2" duplicates.
        assert not [e for e in entities if e.endswith("_2") and e[:-2] in every], entities
    shared = world.tracker(world.shared)
    assert shared is not None and shared["state"] == "home"
    assert wait_for(
        lambda: (
            (world.tracker(world.shared) or {}).get("attributes", {}).get("probes")
            == ["alpha", "beta"]
        ),
        30,
    ), world.tracker(world.shared)
    for name in NAMES:
        for device_id in world.own(name):
            tracker = world.tracker(device_id)
            assert tracker is not None and tracker["attributes"]["probes"] == [name]


@pytest.mark.netns
def test_a_stopped_probe_leaves_its_devices_unavailable_and_the_shared_one_home(
    world: World,
) -> None:
    assert world.services["alpha"].stop() == 0
    try:

        def handed_over() -> bool:
            own = [world.tracker(d) for d in world.own("alpha")]
            shared = world.tracker(world.shared)
            return all(t and t["state"] == "unavailable" for t in own) and bool(
                shared and shared["state"] == "home"
            )

        assert wait_for(handed_over, 30), {d: world.tracker(d) for d in world.devices()}
        # beta's devices did not notice.
        assert all((world.tracker(d) or {}).get("state") == "home" for d in world.own("beta"))
    finally:
        mark = len(world.sub.snapshot())
        world.services["alpha"].start()
    # Back: its devices come home, nothing is duplicated, nothing "joined".
    _all_back(world, "alpha", mark)
    config = world.sub.latest(f"homeassistant/device/netmon_{world.shared}/config")
    assert config is not None
    assert json.loads(config.payload)["availability"][0]["topic"] == "netmon/alpha/bridge/state"


def _site_gone_and_back(world: World, site: str, within: float) -> None:
    """The site's devices go unavailable in Home Assistant within ``within`` seconds while
    every other device stays home (the shared one through the other site)."""

    def gone() -> bool:
        own = [world.tracker(d) for d in world.own(site)]
        return all(t and t["state"] == "unavailable" for t in own)

    begun = time.monotonic()
    assert wait_for(gone, within), {d: world.tracker(d) for d in world.devices()}
    print(f"{site}'s devices unavailable {time.monotonic() - begun:.1f} s after it went")
    others = [world.shared, *(d for n in NAMES if n != site for d in world.own(n))]
    assert all((world.tracker(d) or {}).get("state") == "home" for d in others), {
        d: world.tracker(d) for d in others
    }


def _all_back(world: World, site: str, mark: int) -> None:
    """Every device home again, one Home Assistant device each, nothing "joined"."""
    assert wait_for(
        lambda: all((world.tracker(d) or {}).get("state") == "home" for d in world.devices()),
        90,
    ), {d: world.tracker(d) for d in world.devices()}
    time.sleep(3)
    assert sorted(world.hass.netmon_entities()) == sorted(world.devices())
    events = [
        json.loads(m.payload)["type"]
        for m in world.sub.snapshot()[mark:]
        if m.topic == f"netmon/{site}/bridge/event"
    ]
    assert "device_joined" not in events, events


@pytest.mark.netns
def test_a_site_that_loses_power_shows_unavailable_and_comes_back(world: World) -> None:
    """alpha's netmon and its broker killed together: no Last Will of netmon's reaches the
    central broker, the bridge's does (at once: the kernel closes the bridge's connection)."""
    mark = len(world.sub.snapshot())
    world.brokers["alpha"].kill()  # first: netmon's own Last Will must go nowhere
    world.services["alpha"].kill()
    try:
        _site_gone_and_back(world, "alpha", KEEPALIVE * 1.5 + 10)
        state = world.sub.latest("netmon/alpha/bridge/state")
        assert state is not None and state.payload == "online"  # frozen: its broker died
    finally:
        world.brokers["alpha"].start()
        world.services["alpha"].start()
    _all_back(world, "alpha", mark)
    config = world.sub.latest(f"homeassistant/device/netmon_{world.shared}/config")
    assert config is not None
    assert json.loads(config.payload)["availability"][0]["topic"] == "netmon/alpha/bridge/state"


@pytest.mark.netns
def test_a_site_whose_link_is_cut_shows_unavailable_and_comes_back(world: World) -> None:
    """beta's WAN link goes down (netmon and its broker keep running, cut off): the central
    broker notices the bridge's silence after its keepalive and publishes its Last Will."""
    mark = len(world.sub.snapshot())
    beta_ns = world.lans["beta"].service_ns
    run("ip", "-n", beta_ns, "link", "set", "wan", "down")
    try:
        _site_gone_and_back(world, "beta", KEEPALIVE * 1.5 + 10)
    finally:
        run("ip", "-n", beta_ns, "link", "set", "wan", "up")
    _all_back(world, "beta", mark)


@pytest.mark.netns
def test_no_traceback_and_no_warning_naming_netmon(world: World) -> None:
    for service in world.services.values():
        ok, context = no_traceback(service.log())
        assert ok, context
    noisy = world.hass.warnings_naming("netmon")
    assert noisy == [], noisy
