"""A hostile device on a real LAN can neither blind nor fool the service.

One namespace LAN, the real service (raw sockets) and a real mosquitto for the module:
- a host sends 5,000 DHCP requests from made-up MACs at 200 a second: it makes at most 20
  Home Assistant devices (none), exactly one ``new_device_flood`` event, a ``device/get``
  during the flood is answered within a second, and a real host that joins meanwhile is
  shown as fast as ever;
- a host keeps announcing over mDNS an instance whose address is its neighbour's: when the
  neighbour leaves it still goes ``not_home`` in time and stays away, and its name does not
  change;
- an embedded broker on the LAN address lets in no one without credentials.
(A service type new to the LAN long after start: ``test_late_mdns_lan``.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber, request
from .observe import Observer
from .responders import mdns_responder, ready
from .service_tools import RunningService, stop_all, write_config
from .waiting import wait_until

TOOLS = Path(__file__).parent / "tools"
CONSIDER_HOME = 5.0
INTERVAL = 1.0
FLOOD, RATE = 5000, 200


@dataclass
class World:
    lan: NetnsLan
    broker: LocalMosquitto
    service: RunningService
    sub: Subscriber
    responders: dict[str, subprocess.Popen[str]]

    @property
    def observe(self) -> Observer:
        return Observer(self.sub)

    def ask(self, command: str, payload: dict[str, Any], timeout: float = 5.0) -> Any:
        prefix = self.lan.exec_args(self.lan.service_ns)
        return request(self.sub, prefix, self.broker.port, command, payload, timeout=timeout)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    tmp = tmp_path_factory.mktemp("hostile")
    lan = NetnsLan(6, tag=f"nmh{os.getpid() % 100000}")
    broker = service = sub = None
    responders: dict[str, subprocess.Popen[str]] = {}
    try:
        lan.build()
        lan.take_down(lan.hosts[5])  # joins during the flood
        # Before the service starts: the victim announces itself, the liar an instance at
        # the victim's address.
        victim, liar = lan.hosts[1], lan.hosts[2]
        responders["own"] = mdns_responder(
            lan, victim, "den-speaker", "Den Speaker", "One", "_airplay._tcp.local."
        )
        claims = [
            f"{liar.ip}@{victim.ip}",
            "printer-two",
            "Printer Two",
            "Two",
            "_http._tcp.local.",
        ]
        responders["lie"] = lan.popen(
            liar.namespace,
            [sys.executable, str(TOOLS / "mdns_responder.py"), *claims],
            stdout=subprocess.PIPE,
        )
        assert all(ready(r) for r in responders.values())
        broker = LocalMosquitto(prefix=lan.exec_args(lan.service_ns))
        broker.start()
        config = tmp / "netmon.yaml"
        write_config(
            config,
            [lan.subnet],
            tmp / "netmon.db",
            broker_port=broker.port,
            embedded=False,
            monitor_interval=INTERVAL,
            consider_home=CONSIDER_HOME,
            max_consider_home=0,  # the victim's grace stays consider_home
            discovery_interval=3600,
            discovery={"use_ssdp": False, "ipv6": False, "use_netbios": False},
            log_level="debug",  # the ignored answers are said at debug
        )
        service = RunningService(lan, config, tmp / "service.log")
        service.start()
        sub = connect_subscriber(broker.port, lan.exec_args(lan.service_ns))
        world = World(lan, broker, service, sub, responders)
        home = wait_until(
            lambda: all(world.observe.state(h).get("presence") == "home" for h in lan.hosts[:5]),
            30,
        )
        assert home, service.log()[-3000:]
        yield world
    finally:
        stop_all(responders.values(), service, sub, broker)
        lan.destroy()


def _configs(sub: Subscriber) -> set[str]:
    return {
        m.topic
        for m in sub.snapshot()
        if m.topic.startswith("homeassistant/device/netmon_") and m.payload
    }


def test_a_dhcp_flood_blinds_nothing(world: World) -> None:
    lan, observe = world.lan, world.observe
    flooder, late = lan.hosts[4], lan.hosts[5]
    configs_before = _configs(world.sub)
    flood = lan.popen(
        flooder.namespace,
        [sys.executable, str(TOOLS / "send_frames.py"), "dhcp-flood", "eth0", str(FLOOD),
         str(RATE), str(lan.network.network_address).rsplit(".", 1)[0] + "."],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert ready(flood)  # the frames are built; sending
        time.sleep(8)
        # A device/get in the middle of it is answered within a second.
        asked = time.monotonic()
        answer = world.ask("device/get", {"id": lan.hosts[0].device_id}, timeout=1.0)
        assert answer is not None and answer["status"] == "ok", answer
        assert time.monotonic() - asked < 1.0
        # A real host joins: it comes up and asks for its address, as DHCP clients do.
        lan.bring_up(late)
        out = lan.netns_exec(
            late, sys.executable, str(TOOLS / "send_frames.py"), "dhcp", "eth0", late.mac,
            "late-laptop", "debian-dhcp", late.ip,
        )  # fmt: skip
        sent = float(out.split()[0])
        joined = wait_until(lambda: observe.events("device_joined", device=late), 5)
        assert joined, world.service.log()[-3000:]
        arrival = next(
            m.at
            for m in world.sub.on("netmon/bridge/event")
            if m.json()["type"] == "device_joined" and m.json()["data"]["id"] == late.device_id
        )
        assert arrival - sent < 1.0, f"shown {arrival - sent:.3f} s after its DHCP request"
        assert observe.info(late)["dhcp_hostname"] == "late-laptop"
        assert flood.wait(FLOOD / RATE + 30) == 0
    finally:
        flood.kill()
        flood.wait(10)
    assert wait_until(lambda: observe.events("new_device_flood"), 40)
    time.sleep(2)
    assert len(observe.events("new_device_flood")) == 1
    made = _configs(world.sub) - configs_before
    assert made == {observe.config_topic(late)}, sorted(made)[:5]  # at most 20: none
    health = world.ask("health_check", {})
    assert health["data"]["new_device_flood"] is not None, health
    assert health["data"]["candidates"] <= 1024


def test_an_mdns_liar_neither_renames_nor_keeps_home_a_host_that_left(world: World) -> None:
    lan, observe = world.lan, world.observe
    victim, liar = lan.hosts[1], lan.hosts[2]
    assert wait_until(lambda: observe.info(victim).get("mdns_name") == "den-speaker", 30)
    name = observe.info(victim)["name"]
    lie = f"Ignoring mDNS Printer Two._http._tcp.local. for {victim.ip}"
    assert wait_until(lambda: lie in world.service.log(), 30), world.service.log()[-3000:]
    assert observe.info(victim)["name"] == name  # the lie arrived, and named nobody
    own = world.responders["own"]
    own.terminate()
    own.wait(10)
    left = time.monotonic()
    lan.take_down(victim)
    try:
        away = wait_until(lambda: observe.state(victim).get("presence") == "not_home", 30)
        assert away, observe.state(victim)
        took = time.monotonic() - left
        assert took < CONSIDER_HOME + 2 * INTERVAL + 3, f"away after {took:.1f} s"
        time.sleep(10)  # the liar keeps answering for its address
        assert observe.state(victim)["presence"] == "not_home"
        assert observe.info(victim)["name"] == name
        assert observe.info(victim).get("mdns_name") == "den-speaker"
        assert observe.info(liar).get("mdns_name") != "printer-two"  # not its address either
    finally:
        lan.bring_up(victim)


def test_the_embedded_broker_on_the_lan_lets_in_only_its_users(
    world: World, tmp_path: Path
) -> None:
    """A second instance whose embedded broker listens on the LAN address (with a password,
    as it must): a host without credentials is refused, the viewer reads states but no
    request, and the service itself (its own user) works."""
    lan = world.lan
    port, password, viewer = 1884, "s3cret-admin", "look-only"
    config = tmp_path / "netmon.yaml"
    write_config(
        config,
        [lan.subnet],
        tmp_path / "netmon.db",
        broker_port=port,
        embedded=True,
        instance_id="lanbroker",
        discovery_interval=3600,
        discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False},
        mqtt_options={"base_topic": "lanbroker"},
        embedded_broker={
            "host": lan.service_ip, "port": port, "password": password,
            "viewer_password": viewer,
        },
    )  # fmt: skip
    service = RunningService(lan, config, tmp_path / "service.log")
    service.start()
    host = lan.hosts[0]

    def sub(*login: str, count: int = 1) -> subprocess.CompletedProcess[str]:
        command = ["mosquitto_sub", "-h", lan.service_ip, "-p", str(port), "-t", "#", "-v"]
        command += [*login, "-C", str(count), "-W", "4"]
        args = lan.exec_args(host.namespace, *command)
        return subprocess.run(args, check=False, capture_output=True, text=True, timeout=20)

    try:
        assert wait_until(lambda: "running" in service.log(), 20), service.log()
        anonymous = sub()
        assert anonymous.returncode != 0, anonymous
        assert "not authori" in (anonymous.stderr + anonymous.stdout).lower(), anonymous
        wrong = sub("-u", "netmon", "-P", "guess")
        assert wrong.returncode != 0, wrong
        # The viewer watches everything while the administrator asks for info.
        watch = ["mosquitto_sub", "-h", lan.service_ip, "-p", str(port), "-t", "#", "-v"]
        watch += ["-u", "viewer", "-P", viewer, "-W", "4"]
        viewing = lan.popen(host.namespace, watch, stdout=subprocess.PIPE)
        time.sleep(1)
        ask = ["mosquitto_pub", "-h", lan.service_ip, "-p", str(port), "-u", "netmon"]
        ask += ["-P", password, "-t", "lanbroker/bridge/request/info", "-m", "{}"]
        lan.netns_exec(host, *ask)
        out, _ = viewing.communicate(timeout=20)
        topics = [line.split(" ", 1)[0] for line in out.splitlines()]
        assert "lanbroker/bridge/info" in topics, topics  # states and info: yes
        assert "lanbroker/bridge/response/info" in topics, topics  # the service answered
        assert not [t for t in topics if "/bridge/request/" in t], topics  # requests: never
    finally:
        service.stop()
