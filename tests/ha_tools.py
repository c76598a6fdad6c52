"""A real Home Assistant, the current release (2026.10.4 on Python 3.14, from the Debian sid
root scripts/ha-current builds), in a network namespace of its own, driven over its REST and
websocket APIs the way a user's browser would.

One runs per test run (``SharedHomeAssistant``, the session's ``home_assistant`` fixture):
each LAN module attaches it to its broker for its tests (a veth pair from Home Assistant's
namespace to the broker's, a fresh MQTT entry) and detaches it afterwards (the MQTT and netmon
entries removed, and with them every device they brought)."""

from __future__ import annotations

import concurrent.futures
import ctypes
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
CURRENT = ROOT / ".ha-current"
HASS = [str(ROOT / "scripts" / "ha-current-run"), "/opt/ha/bin/hass"]
CLIENT = ROOT / ".venv-ha" / "bin" / "python"  # a Python with aiohttp, for the websocket


def available() -> bool:
    """True when the current release is built (scripts/ha-current) and the client exists."""
    return (CURRENT / "root" / "opt" / "ha" / "bin" / "hass").exists() and CLIENT.exists()


def _in(namespace: str, *command: str) -> list[str]:
    """argv running ``command`` inside ``namespace``."""
    return ["ip", "netns", "exec", namespace, *command]


_CLONE_NEWNET = 0x40000000
T = TypeVar("T")


class InNamespace:
    """Runs functions on one thread that has joined a network namespace: the sockets it
    opens live there (setns changes only the calling thread)."""

    def __init__(self, namespace: str) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            1, initializer=self._enter, initargs=(namespace,)
        )

    @staticmethod
    def _enter(namespace: str) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
        try:
            if libc.setns(fd, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {namespace} failed")
        finally:
            os.close(fd)

    def run(self, fn: Callable[[], T], timeout: float = 60) -> T:
        return self._pool.submit(fn).result(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class HomeAssistant:
    """``hass`` with a fresh configuration, onboarded, an MQTT entry on ``broker_port``."""

    def __init__(self, namespace: str, folder: Path, port: int, broker_port: int = 0) -> None:
        self.namespace = namespace
        self.config = folder
        self.port = port
        self.broker_host = "127.0.0.1"
        self.broker_port = broker_port
        self.log_mark = 0  # where the log of the current attachment starts
        self.proc: subprocess.Popen[str] | None = None
        self.token = ""
        self.refresh_token = ""  # of the last login, for a browser's hassTokens
        self._http = InNamespace(namespace)
        self._log = folder / "hass.log"
        self.recorder_db = folder / "home-assistant_v2.db"

    # -- process -----------------------------------------------------------------------
    def prepare(self, extra: str = "") -> None:
        """A fresh configuration folder; ``extra`` is appended to configuration.yaml."""
        (self.config / ".storage").mkdir(parents=True, exist_ok=True)
        (self.config / "configuration.yaml").write_text(
            "homeassistant:\n  name: Test\n  latitude: 52.37\n  longitude: 4.89\n"
            "  elevation: 0\n  time_zone: UTC\n  country: NL\n  currency: EUR\n"
            "  unit_system: metric\n"
            f"http:\n  server_host: 127.0.0.1\n  server_port: {self.port}\n"
            "api:\nlogger:\n  default: warning\nautomation: !include automations.yaml\n"
            f"recorder:\n  db_url: sqlite:///{self.recorder_db}\n  commit_interval: 1\n" + extra
        )
        (self.config / "automations.yaml").write_text("[]\n")
        onboarding = {
            "version": 4,
            "minor_version": 1,
            "key": "onboarding",
            "data": {"done": ["core_config", "analytics", "integration"]},
        }
        (self.config / ".storage" / "onboarding").write_text(json.dumps(onboarding))
        components = self.config / "custom_components"
        components.mkdir(exist_ok=True)
        (components / "netmon").symlink_to(ROOT / "custom_components" / "netmon")

    def start(self) -> None:
        with self._log.open("a") as log:
            self.proc = subprocess.Popen(
                _in(self.namespace, *HASS, "-c", str(self.config), "--skip-pip"),
                text=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hass exited: {self.log()[-3000:]}")
            try:
                self._raw("GET", "/api/", auth=False)  # any answer: the server is up
            except OSError:
                pass
            else:
                return
            time.sleep(0.5)
        raise RuntimeError(f"hass did not start: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        self._http.close()

    def log(self) -> str:
        """The log since the current attachment began."""
        return self.full_log()[self.log_mark :]

    def warnings_naming(self, *words: str) -> list[str]:
        """Warning and error lines of this attachment's log that name any of ``words``
        (the notice Home Assistant gives every custom integration at start aside)."""
        return [
            line
            for line in self.log().splitlines()
            if re.search(r" (WARNING|ERROR|CRITICAL) ", line)
            and any(word in line for word in words)
            and "custom integration" not in line
        ]

    def full_log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def wait_running(self, timeout: float = 120) -> None:
        assert wait_for(lambda: self.get("/api/config").get("state") == "RUNNING", timeout)
        self.confirm_http()

    def confirm_http(self) -> None:
        """Confirm the HTTP settings, as a user does after checking the UI still loads:
        current releases try new ones (ours, from configuration.yaml) for five minutes, then
        restart with the previous ones unless confirmed."""
        config = self.websocket({"type": "http/config"})
        if config.get("pending") and not config["pending"].get("error"):
            self.websocket({"type": "http/config/promote"})

    # -- HTTP --------------------------------------------------------------------------
    def _raw(
        self, method: str, path: str, body: Any = None, *, auth: bool = True, form: bool = False
    ) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.port}{path}"
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        data = None
        if body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"

        def call() -> tuple[int, Any]:
            request = urllib.request.Request(url, data, headers, method=method)
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    text = response.read().decode()
                    status = response.status
            except urllib.error.HTTPError as err:
                text, status = err.read().decode(), err.code
            try:
                return status, json.loads(text) if text else None
            except ValueError:
                return status, text

        return self._http.run(call, timeout=90)

    def get(self, path: str) -> Any:
        status, body = self._raw("GET", path)
        assert status == 200, (path, status, body)
        return body

    def delete(self, path: str) -> None:
        status, body = self._raw("DELETE", path)
        assert status == 200, (path, status, body)

    def post(self, path: str, body: Any = None) -> Any:
        status, body = self._raw("POST", path, body if body is not None else {})
        assert status == 200, (path, status, body)
        return body

    # -- set-up ------------------------------------------------------------------------
    def onboard(self) -> None:
        client_id = f"http://127.0.0.1:{self.port}/"
        status, user = self._raw(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": "Test",
                "username": "test",
                "password": "netmon-test-password",
                "language": "en",
            },
            auth=False,
        )
        assert status == 200, user
        self._take_token(user["auth_code"], client_id)

    def login(self) -> None:
        """A new access token after a restart (the old one is still valid; refreshed anyway)."""
        client_id = f"http://127.0.0.1:{self.port}/"
        status, flow = self._raw(
            "POST",
            "/auth/login_flow",
            {"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": client_id},
            auth=False,
        )
        assert status == 200, flow
        status, result = self._raw(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"username": "test", "password": "netmon-test-password", "client_id": client_id},
            auth=False,
        )
        assert status == 200 and result.get("result"), result
        self._take_token(result["result"], client_id)

    def _take_token(self, code: str, client_id: str) -> None:
        """Exchange an authorization code for the access token used from then on."""
        status, token = self._raw(
            "POST",
            "/auth/token",
            {"grant_type": "authorization_code", "code": code, "client_id": client_id},
            auth=False,
            form=True,
        )
        assert status == 200, token
        self.token = token["access_token"]
        self.refresh_token = token.get("refresh_token", "")

    def flow(self, handler: str, *steps: dict[str, Any]) -> dict[str, Any]:
        """Run a config flow through the REST API; the last step's result."""
        result = self.post("/api/config/config_entries/flow", {"handler": handler})
        for step in steps:
            result = self.post(f"/api/config/config_entries/flow/{result['flow_id']}", step)
        return dict(result)

    def add_mqtt(self) -> None:
        # Current releases fold the certificate choices into a collapsed section of the form.
        other = {"set_client_cert": False, "set_ca_cert": "off"}
        broker = {"broker": self.broker_host, "port": self.broker_port, "other_settings": other}
        result = self.flow("mqtt", broker)
        assert result["type"] == "create_entry", result

    # -- reading -----------------------------------------------------------------------
    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.get("/api/states")}

    def template(self, text: str) -> str:
        return str(self.post("/api/template", {"template": text}))

    def netmon_entities(self) -> dict[str, list[str]]:
        """netmon device id -> entity ids of its MQTT entities, disabled ones included (from
        the device and entity registries)."""
        netmon: dict[str, str] = {}  # Home Assistant device id -> netmon id
        for device in self.websocket({"type": "config/device_registry/list"}):
            for domain, identifier in device["identifiers"]:
                match = re.fullmatch(r"netmon_((?!bridge_)[0-9a-z_]+)", identifier)
                if domain == "mqtt" and match:
                    netmon[device["id"]] = match.group(1)
        found: dict[str, list[str]] = {}
        for entity in self.websocket({"type": "config/entity_registry/list"}):
            if entity["platform"] == "mqtt" and entity["device_id"] in netmon:
                found.setdefault(netmon[entity["device_id"]], []).append(entity["entity_id"])
        return found

    def connections(self, entity_id: str) -> str:
        return self.template(
            f"{{{{ device_attr(device_id('{entity_id}'), 'connections') | list }}}}"
        )

    def enable_entity(self, entity_id: str) -> None:
        """Enable a disabled entity, as a user does in its settings."""
        self.websocket(
            {"type": "config/entity_registry/update", "entity_id": entity_id, "disabled_by": None}
        )

    def websocket(self, command: dict[str, Any], *, event: bool = False) -> Any:
        """One websocket command's result (through aiohttp from .venv-ha, in the namespace);
        with ``event``, the first event of the subscription the command opened."""
        script = (
            "import aiohttp, asyncio, json, os\n"
            "async def main():\n"
            "    async with aiohttp.ClientSession() as s:\n"
            "        async with s.ws_connect(os.environ['URL']) as ws:\n"
            "            await ws.receive_json()\n"
            "            token = os.environ['TOKEN']\n"
            "            await ws.send_json({'type': 'auth', 'access_token': token})\n"
            "            assert (await ws.receive_json())['type'] == 'auth_ok'\n"
            "            await ws.send_json({'id': 1, **json.loads(os.environ['COMMAND'])})\n"
            "            reply = await ws.receive_json()\n"
            "            if os.environ['EVENT'] and reply.get('success'):\n"
            "                event = (await ws.receive_json())['event']\n"
            "                reply = {'success': True, 'result': event}\n"
            "            print(json.dumps(reply))\n"
            "asyncio.run(main())\n"
        )
        env = {
            **os.environ,
            "URL": f"http://127.0.0.1:{self.port}/api/websocket",
            "TOKEN": self.token,
            "COMMAND": json.dumps(command),
            "EVENT": "1" if event else "",
        }
        out = subprocess.run(
            _in(self.namespace, str(CLIENT), "-c", script),
            capture_output=True, text=True, env=env, timeout=60, check=True,
        ).stdout  # fmt: skip
        reply = json.loads(out)
        assert reply.get("success"), reply
        return reply["result"]

    def call(
        self, domain: str, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        suffix = "?return_response" if response else ""
        return self.post(f"/api/services/{domain}/{service}{suffix}", data)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> bool:
    """``wait_until``, with a server that does not answer yet counting as not yet."""
    return bool(wait_until(predicate, timeout, interval, ignoring=_NOT_YET))


_NOT_YET = (AssertionError, OSError, KeyError, ValueError)
