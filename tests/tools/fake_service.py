"""The whole service on the fake link layer of ``tests/fakes.py``, in a process of its own
(for tests that kill it): ``python -m tests.tools.fake_service DATABASE PORT HOSTS``.

``HOSTS`` hosts answer on 127.80.0.0/24 (loopback: nothing leaves the machine). Every probe
window is stored (``metrics_interval: 0``), so the database is written all the time."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import sys
from pathlib import Path

from netmon_mqtt.app import Service, run_until_signalled
from netmon_mqtt.config import validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.pipeline import Boundary
from netmon_mqtt.privileges import Privileges

from ..fakes import FakeHosts, FakeLink, FakePinger, inprocess_config

NETWORK = "127.80.0.0/24"


def hosts(count: int) -> dict[str, str]:
    """``count`` hosts from 127.80.0.2, each with its own MAC."""
    return {f"127.80.0.{i + 2}": f"02:00:5e:00:00:{i + 2:02x}" for i in range(count)}


def main() -> None:
    database, port, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    config = validate(
        inprocess_config(NETWORK, database, port, metrics_interval=0, monitor_interval=0.2)
    )
    fake = FakeHosts(hosts(count))
    pinger = FakePinger(fake)
    boundary = Boundary(Privileges(raw=True, icmp=True), FakeLink(fake), pinger, pinger)
    target = Target(ipaddress.IPv4Network(NETWORK), "fake0", "127.80.0.1")
    asyncio.run(run_until_signalled(Service(config, [target], boundary)))


if __name__ == "__main__":
    main()
