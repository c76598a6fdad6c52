"""Presence that stays true, with real packets on the namespace LAN, in a shortened version of
``test_presence_inprocess.py`` (which runs the same scenarios in virtual time with the
timings people run): restarts, clean and SIGKILL, announce nothing; a phone's new private MAC
stays one device; a dozer learns its rhythm while a leaver beside it still leaves, and a host
with a PTR name stays away through discovery sweeps.

One LAN, the real service process and a real mosquitto in the service namespace, dnsmasq in
a host namespace answering reverse DNS for the LAN (the service's resolver points at it
through ``/etc/netns/<service namespace>/resolv.conf``, which ``ip netns exec`` mounts).
Timings are an eighth of the real ones (a 6 s grace, 1 s probes, 12 s dozes): about two
minutes in all.
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
from .observe import Observer
from .service_tools import RunningService, no_traceback, start_with_broker
from .waiting import wait_until

PORT = 1883  # inside the service namespace, whose loopback is private to the test
TOOLS = Path(__file__).parent / "tools"
ROLES = ("dns", "leaver", "dozer", "phone", "absent", "steady")
CONSIDER_HOME = 6.0
INTERVAL = 1.0  # monitor_interval
SWEEP_EVERY = 10.0  # discovery_interval (its lower bound)
DOZE, AWAKE, CYCLES = 12.0, 3.0, 4
LEAVER_PTR = "printer-upstairs.lan"
CLIENT_ID = "ff0a1b2c3d00010002"  # a DHCP client id that is not the MAC (as Android sends)


@dataclass
class World:
    lan: NetnsLan
    service: RunningService
    observe: Observer

    def restart(self, *, kill: bool) -> int:
        """Stop (SIGTERM, or SIGKILL) and start the service; a mark of the messages before."""
        if kill:
            self.service.kill()
        else:
            assert self.service.stop() == 0, self.service.log()[-2000:]
        mark = self.observe.mark()
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
            ping_timeout=0.5,
            consider_home=CONSIDER_HOME,
            metrics_interval=5,
            discovery_interval=SWEEP_EVERY,
            discovery={"use_ssdp": False, "ipv6": False, "use_mdns": False, "dns_timeout": 2},
        )
        service = running.service
        observe = Observer(running.sub)
        world = World(lan, service, observe)
        home = wait_until(
            lambda: all(observe.state(h).get("presence") == "home" for h in lan.hosts), 60
        )
        assert home, ({h.ip: observe.state(h) for h in lan.hosts}, service.log()[-3000:])
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
@pytest.mark.timeout(180)
def test_1_restarts_announce_nothing_that_did_not_change(world: World) -> None:
    lan, observe = world.lan, world.observe
    absent = lan.host("absent")
    lan.take_down(absent)
    assert wait_until(lambda: observe.events("device_offline", device=absent), CONSIDER_HOME + 30)
    for kill in (False, True):
        mark = world.restart(kill=kill)
        swept = wait_until(lambda m=mark: observe.events("scan_finished", since=m), 60)  # type: ignore[misc]
        assert swept, world.service.log()[-3000:]
        time.sleep(3 * INTERVAL)  # every host probed several times since
        after = observe.presence_events(since=mark)
        assert after == [], ("kill" if kill else "clean", after)
        assert all(observe.state(h).get("presence") == "home" for h in lan.hosts if h != absent)
    ok, context = no_traceback(world.service.log())
    assert ok, context


@pytest.mark.netns
@pytest.mark.timeout(120)
def test_2_a_new_private_mac_stays_one_device(world: World) -> None:
    lan, observe = world.lan, world.observe
    phone = lan.host("phone")
    _send_dhcp(lan, phone, "pixel-7")
    assert wait_until(lambda: observe.info(phone).get("dhcp_hostname") == "pixel-7", 10)
    first_mac, phone_id = phone.mac, phone.device_id
    joined_before = len(observe.events("device_joined"))
    private = "da:a1:19:4c:22:9e"
    phone = lan.set_mac(phone, private)
    _send_dhcp(lan, phone, "pixel-7")  # the renewal on the new MAC, at once
    info = wait_until(lambda: observe.info(phone_id).get("mac") == private, 15)
    assert info, (observe.info(phone_id), world.service.log()[-2000:])
    assert observe.info(phone_id)["linked_macs"] == {private: f"DHCP client id {CLIENT_ID}"}
    time.sleep(3 * INTERVAL)
    # One netmon device, one Home Assistant device (one config, with both MACs).
    assert len(observe.events("device_joined")) == joined_before
    assert observe.config(private) is None
    config = observe.config(phone_id)
    assert config is not None
    assert config["device"]["connections"] == [["mac", private], ["mac", first_mac]]
    # Home throughout: the change of MAC made no offline/online flap.
    assert observe.state(phone_id).get("presence") == "home"
    assert observe.presence_events(phone_id) == [("device_online", phone_id)]


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
@pytest.mark.timeout(CYCLES * (DOZE + AWAKE) + 120)
def test_3_a_dozer_learns_its_rhythm_and_a_leaver_with_a_ptr_name_stays_away(
    world: World,
) -> None:
    lan, observe = world.lan, world.observe
    dozer, leaver = lan.host("dozer"), lan.host("leaver")
    named = wait_until(lambda: observe.info(leaver).get("dns_name") == LEAVER_PTR, 60)
    assert named, observe.info(leaver)
    log: list[tuple[str, float]] = []
    stop = threading.Event()
    thread = threading.Thread(target=_doze, args=(world, dozer, log, stop), daemon=True)
    mark = observe.mark()
    thread.start()
    left_at = 0.0
    try:
        deadline = time.time() + CYCLES * (DOZE + AWAKE) + 10
        while thread.is_alive() and time.time() < deadline:
            if not left_at and any(name == "doze 3" for name, _ in log):
                time.sleep(DOZE / 4)
                left_at = time.time()
                lan.take_down(leaver)  # leaves for good, during the dozer's fourth doze
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(DOZE + 5)
    # The leaver: away within its grace plus one probe cycle, once, and it stays away
    # through the discovery sweeps (each followed by a reverse-DNS refresh that answers).
    offline = observe.events("device_offline", device=leaver, since=mark)
    assert len(offline) == 1, observe.presence_events(leaver, since=mark)
    assert _at(offline[0]) - left_at <= CONSIDER_HOME + INTERVAL + 2, (offline, left_at)
    swept = wait_until(
        lambda: len([e for e in observe.events("scan_finished") if _at(e) > _at(offline[0])]) >= 2,
        3 * SWEEP_EVERY,
    )
    assert swept, observe.events("scan_finished")[-3:]
    back = observe.events("device_online", device=leaver, since=mark)
    assert [e for e in back if _at(e) > _at(offline[0])] == [], back
    assert observe.state(leaver)["presence"] == "not_home"
    assert observe.info(leaver).get("dns_name") == LEAVER_PTR  # the lookup still answers
    # The dozer: away in its first three dozes at most, never in the fourth; asleep at
    # times; its grace learned from its gaps.
    starts = dict(log)
    dozer_offline = observe.events("device_offline", device=dozer, since=mark)
    late = [e for e in dozer_offline if _at(e) > starts["doze 3"]]
    assert late == [], (late, log, observe.state(dozer))
    assert 1 <= len(dozer_offline) <= 3, dozer_offline
    topic = f"netmon/device/{dozer.device_id}"
    states = [m.json() for m in observe.sub.snapshot()[mark:] if m.topic == topic and m.payload]
    assert any(s.get("sleeping") for s in states), [
        (s["presence"], s["grace_s"], s["sleeping"], s["last_seen"]) for s in states
    ]
    state = observe.state(dozer)
    assert state["grace"] == "learned", state
    assert DOZE <= state["grace_s"] <= (DOZE + 2 * INTERVAL + 5) * 1.5, state
    ok, context = no_traceback(world.service.log())
    assert ok, context
