"""One Home Assistant for the whole test run: started once in a network namespace of its own,
attached in turn to each LAN module's broker (the session's ``home_assistant`` fixture).

Attaching links Home Assistant's namespace to the broker's with a veth pair (a /30 of
10.254.0.0/16 per attachment, nothing routed anywhere else) and gives Home Assistant a fresh
MQTT entry for that broker; detaching removes the MQTT entry and any netmon entry (and with
them every device they brought), aborts flows left open, and waits until no netmon device is
left, so each module starts from an empty Home Assistant. Its configuration has what every
module needs: the frontend and history, the example dashboard as a YAML dashboard, and the
test hooks (``HOOKS``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .ha_tools import HomeAssistant, wait_for
from .lan import run

HASS_PORT = 8123
DASHBOARD_URL = "netmon-network"
DASHBOARD_FILE = "netmon-dashboard.yaml"

# Test hooks loaded into Home Assistant as an integration of the test configuration:
# - a service compiling the 5-minute statistics of the current window now, as the recorder
#   itself does at the next 5-minute boundary (the graphs would otherwise stay empty so long);
# - stand-ins for the voice assistant's audio libraries, pymicro-vad and pyspeex-noise, which
#   have no Python 3.14 wheels (scripts/ha-current-install leaves them out): the frontend's
#   list of services imports every base integration, assist_satellite among them, and the
#   frontend waits forever when that fails. The stand-ins are never called here.
HOOKS = """
import sys
import types

from homeassistant.components.recorder import get_instance
from homeassistant.components.recorder.tasks import StatisticsTask
from homeassistant.util import dt as dt_util

for module, name in (("pymicro_vad", "MicroVad"), ("pyspeex_noise", "AudioProcessor")):
    try:
        __import__(module)
    except ImportError:
        stand_in = types.ModuleType(module)
        setattr(stand_in, name, type(name, (), {}))
        sys.modules[module] = stand_in


async def async_setup(hass, config):
    async def compile_now(call):
        now = dt_util.utcnow()
        start = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
        get_instance(hass).queue_task(StatisticsTask(start, True))

    async def phone(call):  # a phone's notify action: what it was sent, as a state
        before = hass.states.get("lan_test_hooks.notified")
        count = int(before.state) + 1 if before else 1
        hass.states.async_set("lan_test_hooks.notified", count, {"last": dict(call.data)})

    hass.services.async_register("lan_test_hooks", "compile_statistics", compile_now)
    hass.services.async_register("notify", "lan_test_phone", phone)
    return True
"""
_EXTRA = (
    "frontend:\nhistory:\nlan_test_hooks:\nlovelace:\n  dashboards:\n"
    f"    {DASHBOARD_URL}:\n      mode: yaml\n      filename: {DASHBOARD_FILE}\n"
    "      title: Network\n      icon: mdi:lan\n      show_in_sidebar: true\n"
)
_MANIFEST = {
    "domain": "lan_test_hooks",
    "name": "LAN test hooks",
    "version": "0",
    "dependencies": ["recorder"],
    "codeowners": [],
    "documentation": "https://example.invalid",
}
_ENTRIES = "/api/config/config_entries/entry"
_FLOWS = "/api/config/config_entries/flow"


class SharedHomeAssistant:
    """The run's Home Assistant and its namespace."""

    def __init__(self, folder: Path) -> None:
        self.namespace = f"nmha{os.getpid() % 100000}"
        self.hass = HomeAssistant(self.namespace, folder, HASS_PORT)
        self._attachments = 0

    @property
    def dashboard(self) -> Path:
        """The file of the YAML dashboard (the example, once a module writes it)."""
        return self.hass.config / DASHBOARD_FILE

    def start(self) -> None:
        """The namespace, then Home Assistant, onboarded and running."""
        run("ip", "netns", "del", self.namespace, check=False)  # one left by a killed run
        run("ip", "netns", "add", self.namespace)
        run("ip", "-n", self.namespace, "link", "set", "lo", "up")
        hass = self.hass
        hass.prepare(_EXTRA)
        hooks = hass.config / "custom_components" / "lan_test_hooks"
        hooks.mkdir()
        (hooks / "manifest.json").write_text(json.dumps(_MANIFEST))
        (hooks / "__init__.py").write_text(HOOKS)
        (hooks / "services.yaml").write_text("compile_statistics:\n  fields: {}\n")
        self.dashboard.write_text("views: []\n")
        hass.start()
        hass.onboard()
        hass.wait_running()

    def close(self) -> None:
        """Stop Home Assistant and remove its namespace (and every veth into it)."""
        try:
            self.hass.close()
        finally:
            run("ip", "netns", "del", self.namespace, check=False)

    @contextmanager
    def attached(self, namespace: str, broker_port: int) -> Iterator[HomeAssistant]:
        """Home Assistant on the broker listening on ``broker_port`` in ``namespace`` (on
        every address there: ``LocalMosquitto`` in a namespace does)."""
        self._attachments += 1
        link = f"up{self._attachments}"
        ours, theirs = (f"10.254.{self._attachments}.{n}" for n in (1, 2))
        run("ip", "link", "add", link, "netns", self.namespace, "type", "veth",
            "peer", "hass0", "netns", namespace)  # fmt: skip
        for where, device, address in ((self.namespace, link, ours), (namespace, "hass0", theirs)):
            run("ip", "-n", where, "addr", "add", f"{address}/30", "dev", device)
            run("ip", "-n", where, "link", "set", device, "up")
        hass = self.hass
        hass.broker_host, hass.broker_port = theirs, broker_port
        hass.log_mark = len(hass.full_log())
        try:
            self.revive()
            hass.add_mqtt()
            yield hass
        finally:
            try:
                self._reset()
            finally:
                run("ip", "-n", self.namespace, "link", "del", link, check=False)

    def revive(self) -> None:
        """Start Home Assistant again if a module left it stopped or dead."""
        hass = self.hass
        if hass.proc is None or hass.proc.poll() is not None:
            hass.stop()
            hass.start()
            hass.login()
            hass.wait_running()

    def _reset(self) -> None:
        """No MQTT or netmon entry, no flow in progress, no netmon device."""
        self.revive()
        hass = self.hass
        for flow in hass.websocket({"type": "config_entries/flow/progress"}):
            hass.delete(f"{_FLOWS}/{flow['flow_id']}")
        for entry in hass.get(_ENTRIES):
            if entry["domain"] in ("mqtt", "netmon"):
                hass.delete(f"{_ENTRIES}/{entry['entry_id']}")
        assert wait_for(lambda: not hass.netmon_entities(), 30), hass.netmon_entities()
