"""Alerts on the namespace LAN (issue 24): the real service, with raw sockets, sends through
the real apprise to an SMTP sink and a webhook server that run on a host of the LAN:
- a new unknown device joins: exactly one message each;
- a chosen device goes away: exactly one each;
- an acknowledged device leaves and comes back: none;
- thirty devices join within a minute: a single digest each.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .alert_sinks import Sinks, running_sinks
from .conftest import require
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber, request
from .observe import Observer
from .service_tools import RunningService, stop_all, write_config
from .waiting import wait_until

CROWD = 30
FIRST = 4  # hosts up from the start: the sinks' host, the chosen one, the known one, one more
WINDOW = 5.0
SMTP_PORT, HTTP_PORT = 2525, 8099


@dataclass
class World:
    lan: NetnsLan
    broker: LocalMosquitto
    service: RunningService
    sub: Subscriber
    sinks: Sinks

    def ask(self, command: str, payload: dict[str, object]) -> object:
        prefix = self.lan.exec_args(self.lan.service_ns)
        return request(self.sub, prefix, self.broker.port, command, payload)

    def settled(self, count: int, within: float = 30) -> bool:
        """Each sink has ``count`` messages (and keeps that for a window more)."""

        def both() -> bool:
            return len(self.sinks.titles("smtp")) == len(self.sinks.titles("http")) == count

        if not wait_until(both, within):
            return False
        time.sleep(WINDOW + 1)
        return both()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    tmp = tmp_path_factory.mktemp("alerts")
    lan = NetnsLan(FIRST + 1 + CROWD, tag=f"nma{os.getpid() % 100000}")
    broker = service = sub = None
    try:
        lan.build()
        for host in lan.hosts[FIRST:]:
            lan.take_down(host)
        sink_host = lan.hosts[0]
        with running_sinks(
            tmp / "sink.jsonl",
            sink_host.ip,
            (SMTP_PORT, HTTP_PORT),
            lan.exec_args(sink_host.namespace),
        ) as sinks:
            broker = LocalMosquitto(prefix=lan.exec_args(lan.service_ns))
            broker.start()
            config = tmp / "netmon.yaml"
            write_config(
                config,
                [lan.subnet],
                tmp / "netmon.db",
                broker_port=broker.port,
                embedded=False,
                monitor_interval=1.0,
                consider_home=4.0,
                max_consider_home=0,
                discovery_interval=3600,
                discovery={
                    "use_ssdp": False,
                    "ipv6": False,
                    "use_netbios": False,
                    "use_mdns": False,
                },
                flood_threshold=100,
                alerts={
                    "targets": [
                        {"name": "mail", "url": sinks.mail_url},
                        {"name": "hook", "url": sinks.hook_url},
                    ],
                    "rules": [
                        {"event": "unknown_device_joined"},
                        {"event": "device_away", "devices": [lan.hosts[1].mac]},
                    ],
                    "digest_window": WINDOW,
                },
            )
            service = RunningService(lan, config, tmp / "service.log")
            service.start()
            sub = connect_subscriber(broker.port, lan.exec_args(lan.service_ns))
            world = World(lan, broker, service, sub, sinks)
            observe = Observer(sub)
            home = wait_until(
                lambda: all(observe.state(h).get("presence") == "home" for h in lan.hosts[:FIRST]),
                40,
            )
            assert home, service.log()[-3000:]
            assert world.settled(1), (sinks.titles("smtp"), service.log()[-2000:])  # the first ones
            world.ask("acknowledge", {"all": True})
            yield world
    finally:
        stop_all([], service, sub, broker)
        lan.destroy()


@pytest.mark.netns
def test_messages_reach_mail_and_webhook_as_the_rules_say(world: World) -> None:
    lan, sinks = world.lan, world.sinks
    joining = lan.hosts[FIRST]
    lan.bring_up(joining)
    world.ask("scan", {})
    assert world.settled(2), (sinks.titles("smtp"), world.service.log()[-2000:])
    mail = sinks.received("smtp")[-1]
    assert mail["subject"] == "netmon: New unknown device" and joining.ip in mail["body"], mail
    assert joining.ip in sinks.received("http")[-1]["message"]

    lan.take_down(lan.hosts[1])  # the chosen device
    assert world.settled(3), sinks.titles("smtp")
    assert sinks.titles("http")[-1] == "netmon: Device away"
    lan.bring_up(lan.hosts[1])

    lan.take_down(lan.hosts[2])  # known (acknowledged), not chosen
    time.sleep(8)
    lan.bring_up(lan.hosts[2])
    world.ask("scan", {})
    assert world.settled(3), sinks.titles("smtp")

    for host in lan.hosts[FIRST + 1 :]:
        lan.bring_up(host)
    world.ask("scan", {})
    assert world.settled(4, within=60), (sinks.titles("smtp"), world.service.log()[-2000:])
    digest = sinks.received("smtp")[-1]
    assert digest["subject"] == f"netmon: {CROWD} new unknown devices", digest["subject"]
    assert len(digest["body"].strip().splitlines()) == CROWD
    assert sinks.titles("http")[-1] == f"netmon: {CROWD} new unknown devices"
    assert "mailto://" not in world.service.log() and "json://" not in world.service.log()
