"""A device that starts announcing an mDNS service type no host had when the service started
(a new Chromecast, AirPlay speaker, printer) is named within a minute, however long the
service has been running (issue 23).

One namespace LAN, the real service (raw sockets) and a real mosquitto. A host announces an
AirPlay speaker from the start; five minutes after the service started, when a type browser's
queries come many minutes apart, another host starts announcing ``_googlecast._tcp``: it is
named by its friendly name within 60 s (its type is read from its own announcement).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from .conftest import require
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto, connect_subscriber
from .observe import Observer
from .responders import mdns_responder, ready
from .service_tools import RunningService, stop_all, write_config
from .waiting import wait_until

LATE = 300.0  # seconds after the service started
NAMED_WITHIN = 60.0


@pytest.fixture(scope="module")
def lan() -> Iterator[NetnsLan]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    lan = NetnsLan(3, tag=f"nml{os.getpid() % 100000}")
    try:
        yield lan.build()
    finally:
        lan.destroy()


@pytest.mark.timeout(LATE + NAMED_WITHIN + 120)
def test_a_type_new_to_the_lan_five_minutes_in_is_named_within_a_minute(
    lan: NetnsLan, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("late")
    speaker, display = lan.hosts[1], lan.hosts[2]
    responders: list[subprocess.Popen[str]] = []
    broker = LocalMosquitto(prefix=lan.exec_args(lan.service_ns))
    service = sub = None
    try:
        airplay = "_airplay._tcp.local."
        responders.append(
            mdns_responder(lan, speaker, "den-speaker", "Den Speaker", "One", airplay)
        )
        assert ready(responders[0])
        broker.start()
        config = tmp / "netmon.yaml"
        write_config(
            config,
            [lan.subnet],
            tmp / "netmon.db",
            broker_port=broker.port,
            embedded=False,
            discovery_interval=3600,
            discovery={"use_ssdp": False, "ipv6": False, "use_netbios": False},
        )
        service = RunningService(lan, config, tmp / "service.log")
        started = time.monotonic()
        service.start()
        sub = connect_subscriber(broker.port, lan.exec_args(lan.service_ns))
        observe = Observer(sub)
        spoken = wait_until(lambda: observe.info(speaker).get("name") == "Den Speaker", 60)
        assert spoken, (observe.info(speaker), service.log()[-2000:])

        time.sleep(max(0.0, started + LATE - time.monotonic()))
        cast = "_googlecast._tcp.local."
        responders.append(
            mdns_responder(lan, display, "kitchen-display", "Kitchen Display", "Nest Hub", cast)
        )
        assert ready(responders[1])
        begun = time.monotonic()
        named = wait_until(
            lambda: observe.info(display).get("name") == "Kitchen Display", NAMED_WITHIN
        )
        took = time.monotonic() - begun
        assert named, (observe.info(display), service.log()[-3000:])
        assert "_googlecast._tcp.local." in observe.info(display)["services"]
        print(f"named {took:.1f} s after it began announcing, {begun - started:.0f} s in")
        assert service.proc is not None and service.proc.poll() is None  # still running
    finally:
        stop_all(responders, service, sub, broker)
