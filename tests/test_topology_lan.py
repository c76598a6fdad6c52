"""Topology on the namespace LAN: two managed switches, each a Linux bridge with a real
net-snmp agent whose BRIDGE-MIB (switch B) or Q-BRIDGE-MIB (switch A) forwarding table is
the bridge's real one (``tools/bridge_mib.py`` via ``pass_persist``) and whose LLDP-MIB is
served by a real lldpd through AgentX. Switch B hangs from switch A's port ``trunk``; one
host announces itself with LLDP too.

Every host must get its switch port, switch B must hang from A's trunk, no host may be
placed on a trunk, the export (``netmon-mqtt topology``, the retained ``bridge/topology``)
must list every host, and a real Home Assistant must show each host under its switch.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .ha_shared import SharedHomeAssistant
from .ha_tools import HomeAssistant, wait_for
from .lan import Host, NetnsLan, have_root, run
from .mqtt_tools import Subscriber
from .service_tools import RunningService, no_traceback, start_with_broker
from .tools.lldpd import start_lldpd
from .tools.snmpd import remove_folders, start_snmpd
from .waiting import wait_until

PORT = 1883
TOOLS = Path(__file__).parent / "tools"
SUBNET = "10.86.0.0/24"
SWITCHES = {  # name -> (namespace suffix, address, MAC, forwarding table served)
    "switch-a": ("br", "10.86.0.250", "00:11:32:00:0a:fa", "qbridge"),
    "switch-b": ("sw2", "10.86.0.251", "00:11:32:00:0b:fb", "bridge"),
}
ON_B = 3  # the last three hosts are plugged into switch B
LLDP_HOST = 1  # index in lan.hosts of the host that runs lldpd
POLL = 5.0  # snmp.topology_interval


def _id(mac: str) -> str:
    return mac.replace(":", "")


A_ID, B_ID = (_id(mac) for _ns, _ip, mac, _mib in SWITCHES.values())


@dataclass
class World:
    lan: NetnsLan
    service: RunningService
    sub: Subscriber
    hass: HomeAssistant | None
    database: Path

    def topology(self) -> dict[str, Any]:
        message = self.sub.latest("netmon/bridge/topology")
        return message.json() if message else {}

    def placed(self) -> dict[str, tuple[str, str]]:
        picture = self.topology()
        nodes = [*picture.get("switches", ()), *picture.get("devices", ())]
        return {n["id"]: (n["switch"], n["port"]) for n in nodes if n.get("switch")}

    def settled(self) -> bool:
        """Every host placed, both trunks known as uplinks, the LLDP host heard."""
        picture = self.topology()
        uplinks = [s["uplinks"] for s in picture.get("switches", ())]
        lldp = [d for d in picture.get("devices", ()) if d["source"] == "lldp"]
        return self.placed() == self.expected() and uplinks == [["trunk"]] * 2 and bool(lldp)

    def expected(self) -> dict[str, tuple[str, str]]:
        hosts = self.lan.hosts
        on_a = {h.device_id: (A_ID, h.bridge_port) for h in hosts[:-ON_B]}
        on_b = {h.device_id: (B_ID, h.bridge_port) for h in hosts[-ON_B:]}
        return {**on_a, **on_b, B_ID: (A_ID, "trunk")}


def _switch(lan: NetnsLan, namespace: str, name: str, folder: Path) -> list[subprocess.Popen[str]]:
    """A management address, snmpd with the bridge's forwarding table, lldpd."""
    _suffix, ip, mac, mib = SWITCHES[name]
    addressing = [f"link set br0 address {mac}", f"addr add {ip}/24 dev br0"]
    run("ip", "-n", namespace, "-batch", "-", stdin="\n".join(addressing) + "\n")
    handler = f"{sys.executable} {TOOLS / 'bridge_mib.py'} br0 --mib {mib}"
    agent, agent_folder = start_snmpd(
        lan.exec_args(namespace),
        ip,
        community="lanpub",
        name=name,
        agentx=True,
        extra=(f"pass_persist .1.3.6.1.2.1.17 {handler}",),
    )
    lldpd = start_lldpd(
        lan.exec_args(namespace),
        folder,
        name,
        agentx=agent_folder / "agentx.sock",
        chassis="br0",
    )
    return [agent, lldpd]


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, maybe_home_assistant: SharedHomeAssistant | None
) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    require(_have("lldpd"), "needs lldpd (Debian package lldpd) for LLDP neighbours")
    tmp = tmp_path_factory.mktemp("topology")
    lldp = Path(tempfile.mkdtemp(prefix="netmon-lldpd-"))  # open to lldpd's own user
    lan = NetnsLan(7, subnet=SUBNET)
    processes: list[subprocess.Popen[str]] = []
    running = hass = None
    attached = ExitStack()
    try:
        lan.build()
        second = lan.add_switch("sw2", lan.hosts[-ON_B:])
        processes += _switch(lan, lan.bridge_ns, "switch-a", lldp)
        processes += _switch(lan, second, "switch-b", lldp)
        host: Host = lan.hosts[LLDP_HOST]
        # A NAS, not a router: a new namespace may inherit forwarding from the machine
        # (net.ipv4.ip_forward=1 wherever Docker ran), and lldpd would announce a router.
        lan.sysctl(host, "net.ipv4.ip_forward", "0")
        processes.append(start_lldpd(lan.exec_args(host.namespace), lldp, "nas"))
        running = start_with_broker(
            lan,
            tmp,
            PORT,
            discovery_interval=3600,
            snmp={
                "timeout": 1.0,
                "interfaces_interval": 0,
                "topology_interval": POLL,
                "credentials": [{"community": "lanpub"}],
            },
            discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False},
        )
        if maybe_home_assistant is not None:
            hass = attached.enter_context(maybe_home_assistant.attached(lan.service_ns, PORT))
        world = World(lan, running.service, running.sub, hass, tmp / "netmon.db")
        placed = wait_until(world.settled, 12 * POLL + 60)
        assert placed, (world.topology(), running.service.log()[-4000:])
        yield world
    finally:
        attached.close()
        if running:
            running.close()
        _stop(processes)
        remove_folders()
        shutil.rmtree(lldp, ignore_errors=True)
        lan.destroy()


def _have(command: str) -> bool:
    return shutil.which(command) is not None


@pytest.mark.netns
def test_every_host_gets_its_switch_port_and_no_trunk_is_an_access_port(world: World) -> None:
    picture = world.topology()
    assert picture["root"] == A_ID
    switches = {s["id"]: s for s in picture["switches"]}
    assert set(switches) == {A_ID, B_ID}
    assert switches[A_ID]["uplinks"] == ["trunk"] and switches[B_ID]["uplinks"] == ["trunk"]
    assert world.placed() == world.expected()
    devices = {d["id"]: d for d in picture["devices"]}
    for device in devices.values():
        assert device["port"] not in switches[device["switch"]]["uplinks"], device
    # The host that announces itself with LLDP is placed by it; the others by the tables.
    lldp_host = world.lan.hosts[LLDP_HOST].device_id
    assert devices[lldp_host]["source"] == "lldp"
    assert {d["source"] for i, d in devices.items() if i != lldp_host} == {"fdb"}
    # Each device's info says where it is.
    for device_id, (switch, port) in world.expected().items():
        info = world.sub.latest(f"netmon/device/{device_id}/info")
        assert info is not None
        assert (info.json()["port"]["switch"], info.json()["port"]["port"]) == (switch, port)


@pytest.mark.netns
@pytest.mark.parametrize("fmt", ["json", "mermaid", "dot"])
def test_the_export_lists_every_host(world: World, fmt: str) -> None:
    command = [sys.executable, "-m", "netmon_mqtt", "topology", "--database"]
    done = subprocess.run(
        [*command, str(world.database), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for device_id, (switch, port) in world.expected().items():
        assert device_id in done.stdout
        if fmt == "json":
            nodes = json.loads(done.stdout)
            placed = {n["id"]: (n["switch"], n["port"]) for n in nodes["devices"]}
            placed |= {n["id"]: (n["switch"], n["port"]) for n in nodes["switches"]}
            assert placed[device_id] == (switch, port)
        elif fmt == "mermaid":
            assert f'n_{switch} -- "{port}" --- n_{device_id}' in done.stdout
        else:
            assert f'"{switch}" -> "{device_id}" [label="{port}"];' in done.stdout


@pytest.mark.netns
def test_home_assistant_shows_each_host_under_its_switch(world: World) -> None:
    if world.hass is None:
        pytest.skip("Home Assistant is not installed here (scripts/ha-current)")
    hass = world.hass

    def parents() -> dict[str, str | None]:
        devices = hass.websocket({"type": "config/device_registry/list"})
        by_id = {d["id"]: d for d in devices}
        found: dict[str, str | None] = {}
        for device in devices:
            ours = [i for domain, i in device["identifiers"] if domain == "mqtt"]
            via = by_id.get(device["via_device_id"] or "")
            parent = [i for domain, i in via["identifiers"] if domain == "mqtt"] if via else []
            for identifier in ours:
                found[identifier] = parent[0] if parent else None
        return found

    expected = {f"netmon_{d}": f"netmon_{switch}" for d, (switch, _p) in world.expected().items()}

    def shown() -> bool:
        found = parents()
        return all(found.get(d) == s for d, s in expected.items())

    assert wait_for(shown, 60), (parents(), expected)
    assert parents()[f"netmon_{A_ID}"] == "netmon_bridge_main"  # the root hangs from netmon


@pytest.mark.netns
def test_no_traceback_and_no_warning(world: World) -> None:
    ok, context = no_traceback(world.service.log())
    assert ok, context
    if world.hass:
        noisy = world.hass.warnings_naming("netmon")
        assert noisy == [], noisy
