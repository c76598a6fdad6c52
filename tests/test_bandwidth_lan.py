"""Interface bandwidth on the namespace LAN: the LAN's bridge is a managed switch (an address
and a real net-snmp agent in its namespace, whose IF-MIB shows the real bridge ports with
their real counters), one host sends UDP at a known rate, and the rate netmon publishes for
that host's switch port, and the bandwidth sensor a real Home Assistant (the current
release) shows for it, must match within 10 %.
"""

from __future__ import annotations

import subprocess
import sys
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
from .lan import NetnsLan, have_root, run
from .mqtt_tools import Subscriber
from .service_tools import RunningService, no_traceback, start_with_broker
from .tools.snmpd import remove_folders, start_snmpd
from .waiting import wait_until

PORT = 1883
TOOLS = Path(__file__).parent / "tools"
ROLES = ("sender", "receiver", "unplugged")
SWITCH_IP = "10.84.0.250"
SWITCH_MAC = "00:11:32:00:00:fa"
SWITCH_ID = SWITCH_MAC.replace(":", "")
POLL = 10.0  # snmp.interfaces_interval
NS_CACHE_TIMEOUT = "1.3.6.1.4.1.8072.1.5.3.1.2"  # NET-SNMP-AGENT-MIB::nsCacheTimeout
PPS, PAYLOAD = 600, 1000  # 600 datagrams/s of 1000 bytes: about 5 Mbit/s on the wire
FRAME = PAYLOAD + 8 + 20 + 14  # UDP, IPv4 and Ethernet headers, as the port counts octets


@dataclass
class World:
    lan: NetnsLan
    service: RunningService
    sub: Subscriber
    hass: HomeAssistant | None

    def interfaces(self) -> dict[str, Any]:
        message = self.sub.latest(f"netmon/device/{SWITCH_ID}/interfaces")
        return {} if message is None else dict(message.json()["interfaces"])

    def port(self, name: str) -> dict[str, Any] | None:
        return next((i for i in self.interfaces().values() if i["name"] == name), None)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, maybe_home_assistant: SharedHomeAssistant | None
) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    tmp = tmp_path_factory.mktemp("bandwidth")
    lan = NetnsLan(len(ROLES), roles=ROLES, subnet="10.84.0.0/24")
    running = agent = hass = None
    attached = ExitStack()
    try:
        lan.build()
        # The bridge becomes a managed switch: a management address and an SNMP agent.
        bridge = ["link set br0 address " + SWITCH_MAC, f"addr add {SWITCH_IP}/24 dev br0"]
        run("ip", "-n", lan.bridge_ns, "-batch", "-", stdin="\n".join(bridge) + "\n")
        agent, _folder = start_snmpd(
            lan.exec_args(lan.bridge_ns),
            SWITCH_IP,
            community="lanpub",
            extra=(f"rwcommunity lanadmin {SWITCH_IP}",),
        )
        # net-snmp serves interface counters from a 3 s cache: a 10 s poll would see up to
        # 30 % of jitter. A switch's counters are current; make the agent's current too.
        run(
            *lan.exec_args(lan.bridge_ns),
            "snmpset", "-v2c", "-c", "lanadmin", SWITCH_IP,
            f"{NS_CACHE_TIMEOUT}.1.3.6.1.2.1.2.2", "i", "0",
        )  # fmt: skip
        run("ip", "-n", lan.bridge_ns, "link", "set", lan.host("unplugged").bridge_port, "down")
        running = start_with_broker(
            lan,
            tmp,
            PORT,
            discovery_interval=3600,
            snmp={
                "timeout": 1.0,
                "interfaces_interval": POLL,
                "credentials": [{"community": "lanpub"}],
            },
            discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False},
        )
        service, sub = running.service, running.sub
        if maybe_home_assistant is not None:
            hass = attached.enter_context(maybe_home_assistant.attached(lan.service_ns, PORT))
        world = World(lan, service, sub, hass)
        # Two polls make the first rates.
        ready = wait_until(lambda: world.port(lan.host("sender").bridge_port), 3 * POLL + 30)
        assert ready, (world.interfaces(), service.log()[-3000:])
        yield world
    finally:
        attached.close()
        if running:
            running.close()
        if agent:
            agent.terminate()
            agent.wait(10)
        remove_folders()
        lan.destroy()


def _blast(lan: NetnsLan, seconds: float) -> subprocess.Popen[str]:
    sender, receiver = lan.host("sender"), lan.host("receiver")
    command = [sys.executable, str(TOOLS / "udp_blaster.py"), receiver.ip, str(PPS)]
    blaster = lan.popen(
        sender.namespace, [*command, str(PAYLOAD), str(seconds)], stdout=subprocess.PIPE
    )
    assert blaster.stdout is not None and blaster.stdout.readline().strip() == "ready"
    return blaster


@pytest.mark.netns
@pytest.mark.timeout(240)
def test_generated_traffic_is_measured_within_ten_percent_within_two_polls(world: World) -> None:
    lan = world.lan
    port = lan.host("sender").bridge_port
    blaster = _blast(lan, 4 * POLL)
    started = time.monotonic()
    windows: list[dict[str, Any]] = []  # each new reading of the interfaces payload

    def measured() -> bool:
        payload = world.interfaces()
        ports = {i["name"]: i for i in payload.values()}
        rate = ports.get(port, {}).get("in_bps")
        if rate and (not windows or windows[-1][port]["in_bps"] != rate):
            windows.append(ports)
        return len(windows) >= 2  # the second window lies wholly inside the traffic

    assert wait_until(measured, 2 * POLL + 10), (windows, world.interfaces())
    assert time.monotonic() - started <= 2 * POLL + 10
    published = windows[-1][port]["in_bps"]
    shown = _home_assistant_rate(world, port, published) if world.hass else None
    out, _ = blaster.communicate(timeout=4 * POLL + 10)
    packets, seconds = (float(x) for x in out.split()[-2:])
    expected = packets / seconds * FRAME * 8
    window = windows[-1]
    assert abs(window[port]["in_bps"] - expected) <= 0.10 * expected, (windows, expected)
    if world.hass:
        # Home Assistant shows the same window.
        assert shown is not None, world.hass.log()[-3000:]
        assert abs(shown - expected) <= 0.10 * expected, (shown, expected)
    # The same datagrams leave the switch through the receiver's port, in the same reading.
    leaving = window[lan.host("receiver").bridge_port]["out_bps"]
    assert abs(leaving - expected) <= 0.10 * expected, (window, expected)


def _home_assistant_rate(world: World, port: str, published: float) -> float | None:
    """The state of the port's "in" sensor in Home Assistant (bit/s), once it shows the
    window netmon published (its attributes are the interface's facts)."""
    hass = world.hass
    assert hass is not None
    found: list[float] = []

    def read() -> bool:
        for state in hass.states().values():
            attributes = state["attributes"]
            if attributes.get("name") != port or not state["entity_id"].endswith("_in"):
                continue
            if attributes.get("unit_of_measurement") != "bit/s":
                return False
            try:
                found.append(float(state["state"]))
            except ValueError:
                return False
            return abs(found[-1] - published) <= 0.01 * published
        return False

    return found[-1] if wait_for(read, POLL) else None


@pytest.mark.netns
def test_the_switch_gets_bandwidth_sensors_enabled_where_there_is_traffic(world: World) -> None:
    lan = world.lan
    config = world.sub.latest(f"homeassistant/device/netmon_{SWITCH_ID}/config")
    assert config is not None
    components = config.json()["components"]
    by_name = {c["name"]: c for key, c in components.items() if key.startswith("if")}
    sender_in = by_name[f"{lan.host('sender').bridge_port} in"]
    assert sender_in["device_class"] == "data_rate"
    assert sender_in["unit_of_measurement"] == "bit/s"
    assert sender_in.get("enabled_by_default", True) is True
    unplugged = by_name[f"{lan.host('unplugged').bridge_port} in"]
    assert unplugged["enabled_by_default"] is False  # down: created disabled
    assert world.port(lan.host("unplugged").bridge_port)["up"] is False  # type: ignore[index]
    ok, context = no_traceback(world.service.log())
    assert ok, context
    if world.hass:
        # Zero warnings naming netmon's entities (a template that failed on a missing
        # interface, a unit Home Assistant refused, ...).
        noisy = world.hass.warnings_naming("netmon", "interfaces")
        assert noisy == [], noisy
