"""Without CAP_NET_RAW the service still runs on what needs no privileges, and says once
what is lost and how to grant it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .lan import NetnsLan, run
from .mqtt_tools import connect_subscriber
from .responders import mdns_responder
from .service_tools import write_config
from .waiting import wait_until

PORT = 1883


@pytest.mark.netns
def test_service_without_raw_sockets(make_lan: type[NetnsLan], tmp_path: Path) -> None:
    lan = make_lan(4).build()
    ns = lan.exec_args(lan.service_ns)
    # Unprivileged ICMP sockets for every group, as many distributions allow by default.
    run(*ns, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647")
    known = lan.hosts[0]
    run(*ns, "ping", "-c", "1", "-W", "1", known.ip)  # a neighbour-table entry, made as root
    speaker = lan.hosts[1]
    responder = mdns_responder(lan, speaker, "den-speaker", "Den", "One", "_airplay._tcp.local.")
    config = tmp_path / "netmon.yaml"
    write_config(config, [lan.subnet], tmp_path / "netmon.db", broker_port=PORT, embedded=True)
    log = tmp_path / "service.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            [
                *ns,
                "setpriv",
                "--bounding-set=-net_raw",
                "--inh-caps=-net_raw",
                sys.executable,
                "-m",
                "netmon_mqtt",
                "run",
                "--config",
                str(config),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    sub = None
    try:
        sub = connect_subscriber(PORT, ns)

        def info(device_id: str) -> dict[str, Any] | None:
            message = sub.latest(f"netmon/device/{device_id}/info")  # type: ignore[union-attr]
            return message.json() if message else None

        def state(device_id: str) -> dict[str, Any] | None:
            message = sub.latest(f"netmon/device/{device_id}")  # type: ignore[union-attr]
            return message.json() if message else None

        assert wait_until(lambda: info(known.device_id), 20), log.read_text()
        assert wait_until(lambda: (state(known.device_id) or {}).get("latency_ms"), 15), (
            log.read_text()
        )
        speaker_info = wait_until(
            lambda: [
                m.json()
                for m in sub.snapshot()  # type: ignore[union-attr]
                if m.topic.endswith("/info")
                and m.payload
                and m.json().get("mdns_name") == "den-speaker"
            ],
            15,
        )
        assert speaker_info, log.read_text()
        # Hosts never talked to are not seen: no ARP sweep without the capability.
        assert info(lan.hosts[3].device_id) is None
        text = log.read_text()
        assert text.count("No CAP_NET_RAW") == 1
        assert "--cap-add NET_RAW" in text and "setcap cap_net_raw" in text
        assert "Traceback" not in text
        assert service.poll() is None
    finally:
        service.kill()
        service.wait(10)
        responder.terminate()
        responder.wait(10)
        if sub:
            sub.close()
