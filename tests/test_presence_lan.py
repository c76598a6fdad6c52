"""Presence that stays true, on the namespace LAN at real speed (the acceptance of the
presence issue): restarts announce nothing, a phone's new private MAC stays one device, a
dozer learns its rhythm while a leaver beside it still leaves, a host with a PTR name stays
away through discovery sweeps, and devices gone for good are forgotten.

One LAN, the real service process and a real mosquitto in the service namespace, dnsmasq in
a host namespace answering reverse DNS for the LAN (the service's resolver points at it
through ``/etc/netns/<service namespace>/resolv.conf``, which ``ip netns exec`` mounts).
The phases run in order and take about 13 minutes (the dozer's five 115 s cycles).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from .conftest import require
from .lan import Host, NetnsLan, have_root
from .mqtt_tools import Subscriber, request, wait_until
from .service_tools import RunningService, no_traceback, start_with_broker

PORT = 1883  # inside the service namespace, whose loopback is private to the test
TOOLS = Path(__file__).parent / "tools"
ROLES = ("dns", "leaver", "dozer", "phone", "absent", "steady")
CONSIDER_HOME = 45.0
INTERVAL = 5.0  # monitor_interval
SWEEP_EVERY = 20.0  # discovery_interval
DOZE, AWAKE, CYCLES = 100.0, 15.0, 5
LEAVER_PTR = "printer-upstairs.lan"
CLIENT_ID = "ff0a1b2c3d00010002"  # a DHCP client id that is not the MAC (as Android sends)


@dataclass
class World:
    lan: NetnsLan
    service: RunningService
    sub: Subscriber
    tmp: Path

    def events(self, *kinds: str, host: Host | str | None = None) -> list[dict[str, Any]]:
        found = [m.json() for m in self.sub.on("netmon/bridge/event")]
        device_id = host.device_id if isinstance(host, Host) else host
        return [
            e
            for e in found
            if (not kinds or e["type"] in kinds)
            and (device_id is None or e["data"].get("id") == device_id)
        ]

    def presence_events(self, host: Host | str | None = None) -> list[dict[str, Any]]:
        return self.events("device_online", "device_offline", host=host)

    def state(self, host: Host | str) -> dict[str, Any]:
        """The retained state of a host (or of a device id)."""
        device_id = host if isinstance(host, str) else host.device_id
        message = self.sub.latest(f"netmon/device/{device_id}")
        return {} if message is None else dict(message.json())

    def info(self, host: Host) -> dict[str, Any]:
        message = self.sub.latest(f"netmon/device/{host.device_id}/info")
        return {} if message is None else dict(message.json())

    def request(self, command: str, payload: dict[str, Any]) -> dict[str, Any]:
        prefix = self.lan.exec_args(self.lan.service_ns)
        answer = request(self.sub, prefix, PORT, command, payload)
        assert answer is not None, f"no answer to {command}"
        return answer

    def restart(self, *, kill: bool) -> int:
        """Stop (SIGTERM, or SIGKILL) and start the service; the event count before."""
        if kill:
            self.service.kill()
        else:
            assert self.service.stop() == 0, self.service.log()[-2000:]
        mark = len(self.sub.on("netmon/bridge/event"))
        self.service.start()
        return mark


def _dnsmasq(lan: NetnsLan, server: Host, leaver: Host, tmp: Path) -> subprocess.Popen[str]:
    """Reverse DNS for the LAN from the ``dns`` host: the leaver has a PTR name."""
    args = [
        "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-daemon",
        f"--listen-address={server.ip}", "--bind-interfaces", "--port=53",
        f"--pid-file={tmp / 'dnsmasq.pid'}", "--user=root",
        f"--ptr-record={_reverse(leaver.ip)},{LEAVER_PTR}",
        f"--address=/{LEAVER_PTR}/{leaver.ip}",
    ]  # fmt: skip
    proc = lan.popen(server.namespace, args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError(f"dnsmasq did not start: {proc.stderr.read() if proc.stderr else ''}")
    return proc


def _reverse(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


def _send_dhcp(lan: NetnsLan, host: Host, hostname: str) -> None:
    lan.netns_exec(
        host,
        sys.executable, str(TOOLS / "send_frames.py"), "dhcp", "eth0", host.mac, hostname,
        "android-dhcp-14", host.ip, CLIENT_ID,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    require(shutil.which("dnsmasq") is not None, "needs dnsmasq (Debian: dnsmasq-base)")
    tmp = tmp_path_factory.mktemp("presence")
    lan = NetnsLan(len(ROLES), roles=ROLES, subnet="10.83.0.0/24")
    netns_etc = Path("/etc/netns") / lan.service_ns
    running = dns = None
    try:
        lan.build()
        dns = _dnsmasq(lan, lan.host("dns"), lan.host("leaver"), tmp)
        netns_etc.mkdir(parents=True, exist_ok=True)
        (netns_etc / "resolv.conf").write_text(f"nameserver {lan.host('dns').ip}\n")
        running = start_with_broker(
            lan,
            tmp,
            PORT,
            monitor_interval=INTERVAL,
            ping_timeout=1.0,
            consider_home=CONSIDER_HOME,
            metrics_interval=10,
            discovery_interval=SWEEP_EVERY,
            discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False, "dns_timeout": 2},
        )
        service = running.service
        world = World(lan, service, running.sub, tmp)
        home = wait_until(
            lambda: all(world.state(h).get("presence") == "home" for h in lan.hosts), 60
        )
        assert home, ({h.ip: world.state(h) for h in lan.hosts}, service.log()[-3000:])
        yield world
    finally:
        if running:
            running.close()
        if dns:
            dns.kill()
            dns.wait(10)
        shutil.rmtree(netns_etc, ignore_errors=True)
        lan.destroy()


@pytest.mark.netns
@pytest.mark.timeout(300)
def test_1_restarts_announce_nothing_that_did_not_change(world: World) -> None:
    lan = world.lan
    absent = lan.host("absent")
    lan.take_down(absent)
    assert wait_until(lambda: world.events("device_offline", host=absent), CONSIDER_HOME + 30)
    time.sleep(2)
    for kill in (False, True):
        mark = world.restart(kill=kill)
        assert wait_until(
            lambda m=mark: any(  # type: ignore[misc]
                e["type"] == "scan_finished" for e in world.events()[m:]
            ),
            60,
        ), world.service.log()[-3000:]
        # Every host has been probed and swept several times by now.
        time.sleep(3 * INTERVAL)
        after = [
            e for e in world.events()[mark:] if e["type"] in ("device_online", "device_offline")
        ]
        assert after == [], ("kill" if kill else "clean", after)
        assert all(world.state(h).get("presence") == "home" for h in lan.hosts if h != absent)
    ok, context = no_traceback(world.service.log())
    assert ok, context


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_2_a_new_private_mac_stays_one_device(world: World) -> None:
    lan = world.lan
    phone = lan.host("phone")
    _send_dhcp(lan, phone, "pixel-7")
    assert wait_until(lambda: world.info(phone).get("dhcp_hostname") == "pixel-7", 10)
    first_mac, phone_id = phone.mac, phone.device_id
    joined_before = len(world.events("device_joined"))
    private = "da:a1:19:4c:22:9e"
    phone = lan.set_mac(phone, private)
    _send_dhcp(lan, phone, "pixel-7")  # the renewal on the new MAC, at once
    info_topic = f"netmon/device/{phone_id}/info"

    def linked() -> dict[str, Any] | None:
        message = world.sub.latest(info_topic)
        return message.json() if message and message.json().get("mac") == private else None

    info = wait_until(linked, 15)
    assert info, (world.sub.latest(info_topic), world.service.log()[-2000:])
    assert info["linked_macs"] == {private: f"DHCP client id {CLIENT_ID}"}
    time.sleep(3 * INTERVAL)
    # One netmon device, one Home Assistant device (one config, with both MACs).
    assert len(world.events("device_joined")) == joined_before
    assert (
        world.sub.latest(f"homeassistant/device/netmon_{private.replace(':', '')}/config") is None
    )
    config = world.sub.latest(f"homeassistant/device/netmon_{phone_id}/config")
    assert config is not None
    assert config.json()["device"]["connections"] == [["mac", private], ["mac", first_mac]]
    # Home throughout: the change of MAC made no offline/online flap.
    assert world.state(phone_id).get("presence") == "home"
    assert [e["type"] for e in world.presence_events(phone_id)] == ["device_online"]


def _doze(world: World, dozer: Host, log: list[tuple[str, float]], stop: threading.Event) -> None:
    """Silent ``DOZE`` s, awake ``AWAKE`` s, ``CYCLES`` times (times logged)."""
    for cycle in range(CYCLES):
        if stop.is_set():
            return
        log.append((f"doze {cycle}", time.time()))
        world.lan.take_down(dozer)
        if stop.wait(DOZE):
            world.lan.bring_up(dozer)
            return
        world.lan.bring_up(dozer)
        log.append((f"wake {cycle}", time.time()))
        stop.wait(AWAKE)
    log.append(("end", time.time()))


def _at(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["at"]).timestamp()


@pytest.mark.netns
@pytest.mark.timeout(CYCLES * (DOZE + AWAKE) + 240)
def test_3_a_dozer_learns_its_rhythm_and_a_leaver_with_a_ptr_name_stays_away(
    world: World,
) -> None:
    lan = world.lan
    dozer, leaver = lan.host("dozer"), lan.host("leaver")
    assert wait_until(lambda: world.info(leaver).get("dns_name") == LEAVER_PTR, 60), world.info(
        leaver
    )
    log: list[tuple[str, float]] = []
    stop = threading.Event()
    thread = threading.Thread(target=_doze, args=(world, dozer, log, stop), daemon=True)
    mark = len(world.events())
    thread.start()
    sleeping_seen = False
    left_at = 0.0
    try:
        deadline = time.time() + CYCLES * (DOZE + AWAKE) + 10
        while thread.is_alive() and time.time() < deadline:
            if not left_at and any(name == "doze 3" for name, _ in log):
                left_at = time.time()
                lan.take_down(leaver)  # leaves for good, during the dozer's fourth doze
            sleeping_seen |= bool(world.state(dozer).get("sleeping"))
            time.sleep(1.0)
    finally:
        stop.set()
        thread.join(DOZE + 5)
    events = world.events()[mark:]
    dozer_offline = [
        e for e in events if e["type"] == "device_offline" and e["data"]["id"] == dozer.device_id
    ]
    starts = dict(log)
    # Away in its first three dozes at most, never after the third.
    late = [e for e in dozer_offline if _at(e) > starts["doze 3"]]
    assert late == [], (late, log, world.state(dozer))
    assert 1 <= len(dozer_offline) <= 3, dozer_offline
    assert sleeping_seen, world.state(dozer)
    state = world.state(dozer)
    assert state["grace"] == "learned", state
    assert DOZE <= state["grace_s"] <= (DOZE + 2 * INTERVAL + 5) * 1.5, state
    # The leaver: away within its grace plus one probe cycle, once, and it stays away
    # through the discovery sweeps (each followed by a reverse-DNS refresh that answers).
    left = [
        e
        for e in events
        if e["type"] in ("device_online", "device_offline")
        and e["data"].get("id") == leaver.device_id
    ]
    offline = [e for e in left if e["type"] == "device_offline"]
    assert len(offline) == 1, left
    assert _at(offline[0]) - left_at <= CONSIDER_HOME + INTERVAL + 2, (offline, left_at)
    sweeps_after = [e for e in events if e["type"] == "scan_finished" and _at(e) > _at(offline[0])]
    assert len(sweeps_after) >= 3, sweeps_after
    assert [e["type"] for e in left if e["type"] == "device_online"] == []
    assert world.state(leaver)["presence"] == "not_home"
    assert world.info(leaver).get("dns_name") == LEAVER_PTR  # the lookup still answers


@pytest.mark.netns
@pytest.mark.timeout(240)
def test_4_devices_gone_for_good_are_forgotten(world: World) -> None:
    lan = world.lan
    leaver, absent = lan.host("leaver"), lan.host("absent")
    # Unseen for 150 s: forgotten (the dozer, never silent that long, stays).
    answer = world.request("options", {"options": {"forget_after_days": 150 / 86400}})
    assert answer["status"] == "ok", answer
    gone = {leaver.device_id, absent.device_id}
    removed = wait_until(
        lambda: gone <= {e["data"]["id"] for e in world.events("device_removed")}, 150
    )
    assert removed, (world.events("device_removed"), world.service.log()[-3000:])
    for host in (leaver, absent):
        topic = f"homeassistant/device/netmon_{host.device_id}/config"
        # Its triggers are withdrawn first, then its config is cleared.
        cleared = wait_until(lambda t=topic: getattr(world.sub.latest(t), "payload", 0) == "", 10)  # type: ignore[misc]
        assert cleared, (host, world.sub.latest(topic))
    listed = world.sub.latest("netmon/bridge/devices")
    assert listed is not None
    ids = {d["id"] for d in listed.json()}
    assert not gone & ids
    assert {lan.host("dozer").device_id, lan.host("steady").device_id} <= ids
    assert world.state(lan.host("dozer")).get("presence") == "home"
    assert world.state(lan.host("steady")).get("presence") == "home"
    ok, context = no_traceback(world.service.log())
    assert ok, context
