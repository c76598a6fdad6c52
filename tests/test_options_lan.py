"""Networks changed through the ``options`` request reach every source at once and after a
restart: here mDNS browsing, which used to keep the start-up networks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .lan import NetnsLan
from .mqtt_tools import connect_subscriber, request
from .responders import mdns_responder, ready
from .service_tools import RunningService, no_traceback, write_config
from .waiting import wait_until

PORT = 1883
ELSEWHERE = "10.75.0.0/24"  # routed, not on-link: nothing to browse mDNS on


@pytest.mark.netns
def test_mdns_browsing_follows_networks_changed_by_options(
    make_lan: type[NetnsLan], tmp_path: Path
) -> None:
    lan = make_lan(2, subnet="10.76.0.0/24", roles=("speaker", "other")).build()
    speaker = lan.host("speaker")
    responder = mdns_responder(
        lan, speaker, "kitchen-speaker", "Kitchen Speaker", "Nest Audio", "_googlecast._tcp.local."
    )
    assert ready(responder)
    config = tmp_path / "netmon.yaml"
    write_config(
        config, [ELSEWHERE], tmp_path / "netmon.db", broker_port=PORT, embedded=True,
        discovery={"icmp_sweep": False, "arp_timeout": 0.5, "arp_retries": 1},
        allowed_networks=[lan.subnet],  # where a request may move it
    )  # fmt: skip
    ns = lan.exec_args(lan.service_ns)
    first = RunningService(lan, config, tmp_path / "first.log")
    second = RunningService(lan, config, tmp_path / "second.log")
    sub = None
    try:
        first.start()
        sub = connect_subscriber(PORT, ns)
        assert wait_until(lambda: sub.latest("netmon/bridge/info"), 20), first.log()
        assert "No mDNS browsing: no watched network is on-link" in first.log()

        changed = request(sub, ns, PORT, "options", {"options": {"networks": [lan.subnet]}})
        assert changed is not None and changed["status"] == "ok", changed

        def named() -> dict[str, Any] | None:
            message = sub.latest(f"netmon/device/{speaker.device_id}/info")  # type: ignore[union-attr]
            info = message.json() if message and message.payload else None
            return info if info and info["mdns_name"] == "kitchen-speaker" else None

        info = wait_until(named, 20)
        assert info is not None, first.log()
        assert info["name"] == "Kitchen Speaker" and info["model"] == "Nest Audio"
        assert f"Browsing mDNS services on {lan.service_ip}" in first.log()
        assert first.stop() == 0

        # After a restart the saved networks apply to mDNS browsing before it starts.
        second.start()
        browsing = f"Browsing mDNS services on {lan.service_ip}"
        assert wait_until(lambda: browsing in second.log(), 20), second.log()
        assert "Applying saved options" in second.log()
        for service in (first, second):
            clean, excerpt = no_traceback(service.log())
            assert clean, excerpt
    finally:
        responder.terminate()
        responder.wait(10)
        if sub:
            sub.close()
        first.kill()
        second.kill()
