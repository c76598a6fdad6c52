"""Discovery and identification on the namespace LAN, through the running service's MQTT.

One LAN and one service run serve every test of this module (building them is the slow
part): ordinary hosts, a host with a randomized MAC, a host with IPv6 addresses, a host that
ignores ARP requests, a host that has no address yet (it will send a DHCP request), and a
routed subnet behind a router namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .lan import Host, NetnsLan, have_root, run
from .mqtt_tools import Received, Subscriber, connect_subscriber, request
from .observe import Observer
from .responders import mdns_responder
from .service_tools import RunningService, no_traceback, write_config
from .tools.snmpd import SYSTEM, V3_USER, remove_folders, start_snmpd
from .waiting import wait_until

PORT = 1883
ROUTED = "10.78.0.0/24"
RANDOM_MAC = "da:a1:19:00:00:42"
TOOLS = Path(__file__).parent / "tools"
# The LAN's hosts by role, in order. The first four matter to discovery itself; the others
# are ordinary hosts (an ARP sweep finds them), each running a responder.
SPECIAL = (
    "randomized_mac",  # its MAC is replaced by RANDOM_MAC
    "ipv6",  # has fd77::20 besides its IPv4 address
    "silent",  # ignores ARP requests
    "newcomer",  # no address yet (it will send a DHCP request)
)
ORDINARY = (
    "broken_snmp",  # answers SNMP with garbage
    "speaker",  # mDNS
    "printer",  # SNMP v2c
    "switch",  # SNMP v3
    "tv",  # SSDP
    "junk_ssdp",  # malformed SSDP replies
    "windows",  # NetBIOS only (no mDNS, DHCP or DNS name)
)
ROLES = SPECIAL + ORDINARY


@dataclass
class World:
    lan: NetnsLan
    service: RunningService
    sub: Subscriber
    routed: list[str]
    database: Path

    def host(self, role: str) -> Host:
        return self.lan.host(role)

    @property
    def ordinary(self) -> list[Host]:
        return [self.lan.host(role) for role in ORDINARY]

    @property
    def observe(self) -> Observer:
        return Observer(self.sub)

    def info(self, device_id: str) -> dict[str, Any] | None:
        """A device's retained info; None before the first, or once cleared."""
        info: dict[str, Any] | None = self.observe.retained(f"netmon/device/{device_id}/info")
        return info

    def events(self, kind: str) -> list[dict[str, Any]]:
        return self.observe.events(kind)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    require(shutil.which("snmpd") is not None, "needs net-snmp's snmpd (apt-get install snmpd)")
    tmp = tmp_path_factory.mktemp("discovery")
    lan = NetnsLan(len(ROLES), tag=f"nmd{os.getpid() % 100000}", roles=ROLES)
    service = None
    sub = None
    responders: list[subprocess.Popen[str]] = []
    try:
        lan.build()
        lan.set_mac(lan.host("randomized_mac"), RANDOM_MAC)
        lan.add_ipv6(lan.host("ipv6"), "fd77::20/64")
        silent = lan.host("silent")
        lan.sysctl(silent, "net.ipv4.conf.all.arp_ignore", "8")
        lan.sysctl(silent, "net.ipv4.conf.eth0.arp_ignore", "8")
        lan.sysctl(silent, "net.ipv6.conf.eth0.disable_ipv6", "1")
        newcomer = lan.host("newcomer")
        lan.remove_ipv4(newcomer)
        lan.sysctl(newcomer, "net.ipv6.conf.eth0.disable_ipv6", "1")
        run_ns = lan.exec_args(lan.service_ns)
        run("ip", "-n", lan.service_ns, "addr", "add", "fd77::1/64", "dev", "eth0", "nodad")
        speaker = lan.host("speaker")
        responders.append(
            mdns_responder(
                lan,
                speaker,
                "kitchen-speaker",
                "Kitchen Speaker",
                "Nest Audio",
                "_googlecast._tcp.local.",
                "_http._tcp.local.",
            )
        )
        printer, switch, broken = lan.host("printer"), lan.host("switch"), lan.host("broken_snmp")
        for proc in (
            start_snmpd(lan.exec_args(printer.namespace), printer.ip, community="netmonpub")[0],
            start_snmpd(lan.exec_args(switch.namespace), switch.ip, v3=True, name="core-switch")[0],
            lan.popen(
                broken.namespace,
                [sys.executable, str(TOOLS / "udp_garbage.py"), broken.ip, "161"],
                stdout=subprocess.PIPE,
            ),
        ):
            responders.append(proc)
        user, auth, priv = V3_USER
        snmp = {
            "timeout": 0.5,
            "credentials": [
                {"community": "netmonpub", "networks": [lan.subnet]},
                {
                    "version": "3",
                    "username": user,
                    "auth_protocol": "sha",
                    "auth_key": auth,
                    "priv_protocol": "aes",
                    "priv_key": priv,
                    "devices": [switch.mac],
                },
            ],
        }
        tv, junk = lan.host("tv"), lan.host("junk_ssdp")
        responders.append(
            lan.popen(
                tv.namespace,
                [
                    sys.executable,
                    str(TOOLS / "ssdp_responder.py"),
                    tv.ip,
                    "Living Room TV",
                    "Samsung Electronics",
                    "QE55Q80",
                    "urn:schemas-upnp-org:device:MediaRenderer:1",
                ],
                stdout=subprocess.PIPE,
            )
        )
        responders.append(
            lan.popen(
                junk.namespace,
                [
                    sys.executable,
                    str(TOOLS / "ssdp_responder.py"),
                    junk.ip,
                    "x",
                    "x",
                    "x",
                    "urn:x",
                    "broken",
                    f"lie={tv.ip}",  # a reply pointing at the TV's description
                ],
                stdout=subprocess.PIPE,
            )
        )
        windows = lan.host("windows")
        responders.append(
            lan.popen(
                windows.namespace,
                [
                    sys.executable,
                    str(TOOLS / "netbios_responder.py"),
                    windows.ip,
                    "OFFICE-PC",
                    "WORKGROUP",
                    windows.mac,
                ],
                stdout=subprocess.PIPE,
            )
        )
        for responder in responders:
            if responder.stdout is not None:  # the helpers print "ready" once listening
                assert responder.stdout.readline().strip() == "ready"
        routed = lan.add_routed_subnet(ROUTED, 2)
        lan.wait_ipv6_ready()
        config = tmp / "netmon.yaml"
        write_config(
            config,
            [lan.subnet, ROUTED],
            tmp / "netmon.db",
            broker_port=PORT,
            embedded=True,
            discovery_interval=3600,
            snmp=snmp,
            discovery={"arp_timeout": 0.5, "arp_retries": 1},
        )
        service = RunningService(lan, config, tmp / "service.log")
        service.start()
        sub = connect_subscriber(PORT, run_ns)
        scanned = wait_until(
            lambda: (
                (sub.latest("netmon/bridge/info") or None)
                and sub.latest("netmon/bridge/info").json()["last_scan_duration_s"] is not None
            ),
            30,
        )
        assert scanned, service.log()
        yield World(lan, service, sub, routed, tmp / "netmon.db")
    finally:
        for responder in responders:
            responder.terminate()
            responder.wait(10)
        remove_folders()
        if service:
            service.kill()
        if sub:
            sub.close()
        lan.destroy()


@pytest.mark.netns
def test_sweep_finds_ordinary_hosts_with_vendors(world: World) -> None:
    for host in world.ordinary:
        info = world.info(host.device_id)
        assert info and info["ip"] == host.ip and info["vendor"] == host.vendor


@pytest.mark.netns
def test_randomized_mac_is_flagged(world: World) -> None:
    info = world.info(RANDOM_MAC.replace(":", ""))
    assert info is not None, world.service.log()
    assert info["randomized_mac"] is True
    assert info["vendor"] is None
    assert "randomized MAC" in " ".join(info["type_evidence"])


@pytest.mark.netns
def test_ipv6_addresses_are_attached_to_the_mac(world: World) -> None:
    host = world.host("ipv6")
    info = wait_until(lambda: world.info(host.device_id), 5)
    assert info is not None
    assert "fd77::20" in info["ipv6"]
    assert any(a.startswith("fe80::") for a in info["ipv6"])
    assert info["ip"] == host.ip


@pytest.mark.netns
def test_routed_subnet_is_found_by_icmp_sweep(world: World) -> None:
    for ip in world.routed:
        device_id = "ip_" + bytes(int(p) for p in ip.split(".")).hex()
        info = world.info(device_id)
        assert info is not None, world.service.log()
        assert info["ip"] == ip and info["mac"] is None


@pytest.mark.netns
def test_host_ignoring_arp_is_found_when_it_talks(world: World) -> None:
    silent = world.host("silent")
    assert world.info(silent.device_id) is None  # the sweep cannot see it
    speaker = world.host("speaker")
    world.lan.netns_exec(silent, "ping", "-c", "1", "-W", "1", speaker.ip, check=False)
    info = wait_until(lambda: world.info(silent.device_id), 3)
    assert info is not None and info["ip"] == silent.ip


@pytest.mark.netns
def test_dhcp_request_is_reported_within_a_second(world: World) -> None:
    host = world.host("newcomer")
    assert world.info(host.device_id) is None
    # The address it asks for is its own, as a DHCP client's is right after: it answers the
    # ARP check the request sets off, which admits it (a made-up MAC would not).
    world.lan.netns_exec(host, "ip", "addr", "add", "10.77.0.200/24", "dev", "eth0")
    out = world.lan.netns_exec(
        host,
        sys.executable,
        str(TOOLS / "send_frames.py"),
        "dhcp",
        "eth0",
        host.mac,
        "pixel-7",
        "android-dhcp-14",
        "10.77.0.200",
    )
    sent = float(out.split()[0])  # the helper's monotonic time just before the frame left
    joined = wait_until(
        lambda: [e for e in world.events("device_joined") if e["data"]["id"] == host.device_id], 10
    )
    assert joined, world.service.log()
    arrival = next(
        m.at
        for m in world.sub.on("netmon/bridge/event")
        if m.json()["type"] == "device_joined" and m.json()["data"]["id"] == host.device_id
    )
    assert arrival - sent < 1.0, f"reported {arrival - sent:.3f} s after the DHCP request"
    info = world.info(host.device_id)
    assert info is not None
    assert info["dhcp_hostname"] == "pixel-7"
    assert info["name"] == "pixel-7"
    assert info["ip"] == "10.77.0.200"
    assert info["device_type"] == "phone"
    assert any("android-dhcp" in e for e in info["type_evidence"])


@pytest.mark.netns
def test_malformed_frames_are_ignored(world: World) -> None:
    host = world.host("printer")
    world.lan.netns_exec(
        host, sys.executable, str(TOOLS / "send_frames.py"), "garbage", "eth0", "02:00:00:00:0b:ad"
    )
    time.sleep(1.0)
    assert world.service.proc is not None and world.service.proc.poll() is None
    assert world.info("02000000" + "0bad") is None
    clean, excerpt = no_traceback(world.service.log())
    assert clean, excerpt


@pytest.mark.netns
def test_mdns_names_services_and_model(world: World) -> None:
    speaker = world.host("speaker")

    def browsed() -> dict[str, Any] | None:
        info = world.info(speaker.device_id)
        return info if info and len(info["services"]) == 2 else None

    info = wait_until(browsed, 10)
    assert info is not None, world.service.log()
    assert info["mdns_name"] == "kitchen-speaker"
    assert info["name"] == "Kitchen Speaker"  # the name it announces, not its host name
    assert info["services"] == ["_googlecast._tcp.local.", "_http._tcp.local."]
    assert info["model"] == "Nest Audio"
    assert info["device_type"] == "tv_media"


@pytest.mark.netns
def test_a_netbios_only_host_is_named_by_its_netbios_name(world: World) -> None:
    windows = world.host("windows")
    info = wait_until(lambda: (world.info(windows.device_id) or {}).get("netbios_name"), 15)
    assert info == "OFFICE-PC", (world.info(windows.device_id), world.service.log()[-2000:])
    named = world.info(windows.device_id)
    assert named is not None
    assert (named["name"], named["hostname"]) == ("OFFICE-PC", "OFFICE-PC")
    # Hosts that do not speak NetBIOS have no such name, and nothing was logged as an error.
    assert (world.info(world.host("tv").device_id) or {}).get("netbios_name") is None
    assert "Identifying" not in world.service.log()


def _snmp(world: World, host: Host) -> dict[str, Any] | None:
    info = world.info(host.device_id)
    return info["snmp"] if info and info["snmp"] else None


@pytest.mark.netns
@pytest.mark.parametrize(
    ("role", "name"), [("printer", "office-printer"), ("switch", "core-switch")], ids=["v2c", "v3"]
)
def test_snmp_system_fields(world: World, role: str, name: str) -> None:
    host = world.host(role)
    snmp = wait_until(lambda: _snmp(world, host), 10)
    assert snmp is not None, world.service.log()
    expected = {**SYSTEM, "sysName": name}
    for key in ("sysName", "sysDescr", "sysContact", "sysLocation", "sysObjectID"):
        assert snmp[key] == expected[key]
    assert int(snmp["sysUpTime"]) >= 0
    info = world.info(host.device_id)
    assert info is not None
    # The naming rule puts SNMP after mDNS, DHCP and reverse DNS: none exist here.
    assert info["name"] == name
    assert info["device_type"] == "printer"  # sysDescr says LaserJet


@pytest.mark.netns
def test_snmp_garbage_agent_is_skipped(world: World) -> None:
    broken = world.host("broken_snmp")
    time.sleep(1.0)
    info = world.info(broken.device_id)
    assert info is not None and info["snmp"] is None
    assert world.service.proc is not None and world.service.proc.poll() is None


@pytest.mark.netns
def test_ssdp_friendly_name_manufacturer_and_model(world: World) -> None:
    tv = world.host("tv")

    def described() -> dict[str, Any] | None:
        return (world.info(tv.device_id) or {}).get("model") and world.info(tv.device_id)

    info = wait_until(described, 10)
    for _ in range(3):
        if info:
            break
        # SSDP is UDP and the description a fetch with a timeout: on a loaded machine, as on
        # a real network, a sweep may miss the TV; a later one (here asked for) finds it.
        assert _request(world, "scan", {"methods": ["ssdp"]})["status"] == "ok"
        info = wait_until(described, 10)
    assert info, world.service.log()
    assert info["name"] == "Living Room TV"
    assert info["model"] == "QE55Q80"
    assert "urn:schemas-upnp-org:device:MediaRenderer:1" in info["services"]
    assert info["device_type"] == "tv_media"


@pytest.mark.netns
def test_malformed_ssdp_replies_are_skipped(world: World) -> None:
    junk = world.host("junk_ssdp")
    info = world.info(junk.device_id)
    assert info is not None  # found by ARP; its broken SSDP adds nothing and breaks nothing
    assert info["model"] is None and info["hostname"] is None
    # Its reply whose LOCATION is the TV's was not fetched: the TV's facts are not its own.
    assert info["name"] != "Living Room TV" and "QE55Q80" not in json.dumps(info)
    assert world.service.proc is not None and world.service.proc.poll() is None


def _request(world: World, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    prefix = world.lan.exec_args(world.lan.service_ns)
    response = request(world.sub, prefix, PORT, command, payload)
    assert response is not None, world.service.log()
    return response


@pytest.mark.netns
def test_scan_on_request_with_target_and_methods(world: World) -> None:
    started = len(world.events("scan_started"))
    response = _request(world, "scan", {"target": world.lan.subnet, "methods": ["arp"]})
    assert response["status"] == "ok", response
    data = response["data"]
    assert data["networks"] == [world.lan.subnet] and data["methods"] == ["arp"]
    ids = {d["id"] for d in data["devices"]}
    assert {h.device_id for h in world.ordinary} <= ids
    assert wait_until(lambda: len(world.events("scan_started")) > started, 5)
    finished = world.events("scan_finished")[-1]["data"]
    assert finished["networks"] == [world.lan.subnet] and finished["methods"] == ["arp"]


@pytest.mark.netns
def test_scan_request_outside_the_configured_networks_is_refused(world: World) -> None:
    before = len(world.events("scan_started"))
    response = _request(world, "scan", {"target": "192.168.50.0/24"})
    assert response["status"] == "error"
    assert "not inside the configured networks" in response["error"]
    bad = _request(world, "scan", {"methods": ["teleport"]})
    assert bad["status"] == "error" and "methods" in bad["error"]
    time.sleep(0.5)
    assert len(world.events("scan_started")) == before


# The requests below change devices; they run last in this module.


def _config(world: World, host: Host) -> str | None:
    message = world.sub.latest(f"homeassistant/device/netmon_{host.device_id}/config")
    return message.payload if message else None


@pytest.mark.netns
def test_device_requests_ping_rename_options(world: World) -> None:
    host = world.host("speaker")
    pinged = _request(world, "device/ping", {"id": host.device_id, "count": 2})
    assert pinged["status"] == "ok", pinged
    assert pinged["data"]["received"] == 2 and pinged["data"]["latency_ms"] is not None

    renamed = _request(world, "device/rename", {"id": host.device_id, "name": "Den speaker"})
    assert renamed["status"] == "ok" and renamed["data"]["name"] == "Den speaker"
    assert wait_until(
        lambda: (
            json.loads(_config(world, host) or "{}").get("device", {}).get("name") == "Den speaker"
        ),
        5,
    )

    # A rename with new entity ids: the device triggers go first, then the config is
    # cleared, then published again ~2 s later (Home Assistant would make `_2` duplicates
    # if it came back at once).
    topic = f"homeassistant/device/netmon_{host.device_id}/config"
    mark = len(world.sub.snapshot())
    renamed = _request(
        world,
        "device/rename",
        {"id": host.device_id, "name": "Study speaker", "update_entity_ids": True},
    )
    assert renamed["status"] == "ok" and renamed["data"]["name"] == "Study speaker"

    def configs() -> list[Received]:
        return [m for m in world.sub.snapshot()[mark:] if m.topic == topic]

    assert wait_until(lambda: len(configs()) >= 3, 8)
    without_triggers, cleared, republished = configs()
    components = json.loads(without_triggers.payload)["components"]
    assert components["went_offline"] == {"platform": "device_automation"}
    assert "value_template" in components["latency"]  # the entities are still there
    assert cleared.payload == ""
    assert json.loads(republished.payload)["device"]["name"] == "Study speaker"
    assert republished.at - cleared.at >= 1.5

    hidden = _request(
        world, "device/options", {"id": host.device_id, "options": {"ha_discovery": False}}
    )
    assert hidden["status"] == "ok" and hidden["data"]["ha_discovery"] is False
    assert wait_until(lambda: _config(world, host) == "", 5)
    shown = _request(
        world, "device/options", {"id": host.device_id, "options": {"ha_discovery": True}}
    )
    assert shown["status"] == "ok"
    assert wait_until(lambda: _config(world, host), 5)

    for bad, message in (
        ({"id": "nope", "name": "x"}, "no device 'nope'"),
        ({"id": host.device_id}, "name: required key"),
        ({"id": host.device_id, "name": 7}, "invalid request"),
        ({"id": host.device_id, "name": "x", "update_entity_ids": "yes"}, "update_entity_ids"),
    ):
        response = _request(world, "device/rename", bad)
        assert response["status"] == "error" and message in response["error"], response
    info = world.info(host.device_id)
    assert info is not None and info["name"] == "Study speaker"  # nothing changed by errors


@pytest.mark.netns
def test_remove_with_block_keeps_a_device_out(world: World) -> None:
    junk = world.host("junk_ssdp")
    removed = _request(
        world, "device/remove", {"id": junk.device_id, "block": True, "confirm": True}
    )
    assert removed["status"] == "ok", removed
    assert wait_until(lambda: _config(world, junk) == "" and world.info(junk.device_id) is None, 5)
    assert wait_until(
        lambda: [e for e in world.events("device_removed") if e["data"]["id"] == junk.device_id],
        2,
    )
    rescan = _request(world, "scan", {"methods": ["arp"]})
    assert rescan["status"] == "ok"
    assert junk.device_id not in {d["id"] for d in rescan["data"]["devices"]}
    assert world.info(junk.device_id) is None


@pytest.mark.netns
def test_config_deleted_in_home_assistant_is_not_brought_back(world: World) -> None:
    printer = world.host("printer")
    topic = f"homeassistant/device/netmon_{printer.device_id}/config"
    run(
        *world.lan.exec_args(
            world.lan.service_ns,
            "mosquitto_pub",
            "-h",
            "127.0.0.1",
            "-p",
            str(PORT),
            "-r",
            "-n",
            "-t",
            topic,
        )
    )
    time.sleep(1.0)
    republished = _request(world, "discovery/republish", {})
    assert republished["status"] == "ok" and republished["data"]["configs"] >= 1
    time.sleep(1.0)
    assert _config(world, printer) == ""
    other = world.host("switch")
    assert _config(world, other)  # the others are back


@pytest.mark.netns
def test_health_topic_and_request(world: World) -> None:
    health = world.sub.latest("netmon/bridge/health")
    assert health is not None
    payload = health.json()  # published at start and every 30 s
    assert payload["healthy"] is True and payload["db_ok"] is True
    response = _request(world, "health_check", {})
    assert response["status"] == "ok"
    assert set(response["data"]) == set(payload)
    fresh = response["data"]
    assert fresh["healthy"] is True and fresh["scan_lag_s"] == 0
    assert fresh["devices"] >= len(world.lan.hosts) - 1
    info = _request(world, "info", {})
    assert info["data"]["instance_id"] == "main" and info["data"]["networks"]


@pytest.mark.netns
def test_options_change_at_run_time_and_are_saved(world: World) -> None:
    current = _request(world, "options", {})
    assert current["status"] == "ok"
    assert current["data"]["options"]["discovery_interval"] == 3600
    changed = _request(
        world, "options", {"options": {"discovery_interval": 1800, "consider_home": 240}}
    )
    assert changed["status"] == "ok", changed
    assert changed["data"]["options"]["discovery_interval"] == 1800
    assert changed["data"]["options"]["consider_home"] == 240
    assert wait_until(
        lambda: world.sub.latest("netmon/bridge/info").json()["discovery_interval"] == 1800, 5
    )
    with sqlite3.connect(world.database) as db:
        saved = dict(db.execute("SELECT key, value FROM settings"))
    assert json.loads(saved["discovery_interval"]) == 1800
    for bad, message in (
        ({"options": {"monitor_interval": "fast"}}, "monitor_interval"),
        ({"options": {"monitor_interval": 0}}, "from 0.2 to 3600"),
        ({"options": {"networks": ["10.0.0.0/8", 7]}}, "networks"),
        ({"options": {"colour": "blue"}}, "unknown key"),
    ):
        refused = _request(world, "options", bad)
        assert refused["status"] == "error" and message in refused["error"], refused
    after = _request(world, "options", {})
    assert after["data"]["options"] == changed["data"]["options"]


@pytest.mark.netns
def test_options_networks_snmp_and_tracking_of_new_devices(world: World) -> None:
    subnet = world.lan.subnet
    secret = "s3cret-community"
    changed = _request(
        world,
        "options",
        {
            "options": {
                "networks": [subnet],
                "track_new_devices": False,
                "snmp_credentials": [{"version": "2c", "community": secret}],
            }
        },
    )
    assert changed["status"] == "ok", changed
    options = changed["data"]["options"]
    assert options["networks"] == [subnet]
    assert options["track_new_devices"] is False
    assert options["snmp_credentials"] == [{"version": "2c", "community": "***"}]
    assert wait_until(
        lambda: world.sub.latest("netmon/bridge/info").json()["networks"] == [subnet], 5
    )
    published = [m for m in world.sub.snapshot() if "/bridge/request/" not in m.topic]
    assert all(secret not in m.payload for m in published)  # netmon never publishes it
    with sqlite3.connect(world.database) as db:
        saved = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM settings")}
    assert saved["networks"] == [subnet] and saved["track_new_devices"] is False

    # A device joining now is listed but not tracked: a second MAC of the newcomer's, with
    # the address it asks for (it answers the ARP check from that MAC, not from eth0's).
    mac, newcomer = "f4:f5:d8:00:00:99", world.host("newcomer")
    world.lan.sysctl(newcomer, "net.ipv4.conf.eth0.arp_ignore", "1")
    for command in (
        ("ip", "link", "add", "link", "eth0", "name", "guest0", "address", mac, "type", "macvlan"),
        ("ip", "addr", "add", "10.77.0.201/24", "dev", "guest0"),
        ("ip", "link", "set", "guest0", "up"),
    ):
        world.lan.netns_exec(newcomer, *command)
    world.lan.netns_exec(
        newcomer, sys.executable, str(TOOLS / "send_frames.py"), "dhcp", "eth0", mac,
        "guest-tablet", "android-dhcp-14", "10.77.0.201",
    )  # fmt: skip

    def summary() -> dict[str, Any] | None:
        devices = world.sub.latest("netmon/bridge/devices")
        found = [d for d in (devices.json() if devices else []) if d["id"] == mac.replace(":", "")]
        return found[0] if found else None

    assert wait_until(lambda: summary() is not None, 10), world.service.log()
    assert summary()["tracked"] is False  # type: ignore[index]

    for bad, message in (
        ({"networks": []}, "networks"),
        ({"networks": ["10.77.0.0/33"]}, "networks"),
        ({"networks": "10.77.0.0/24"}, "networks"),
        ({"snmp_credentials": [{"version": "2c"}]}, "community"),
        ({"track_new_devices": "sometimes"}, "track_new_devices"),
        ({"consider_home": 99, "networks": ["nm-no-such-if"]}, "no IPv4 address"),
    ):
        refused = _request(world, "options", {"options": bad})
        assert refused["status"] == "error" and message in refused["error"], refused
    unchanged = _request(world, "options", {})["data"]["options"]
    assert unchanged["consider_home"] != 99 and unchanged["networks"] == [subnet]
    assert secret not in world.service.log()  # never logged either
    restored = _request(
        world,
        "options",
        {"options": {"networks": [subnet, ROUTED], "track_new_devices": True}},
    )
    assert restored["status"] == "ok", restored
    assert restored["data"]["options"]["networks"] == [subnet, ROUTED]
