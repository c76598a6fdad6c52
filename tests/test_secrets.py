"""Secrets never leave: the MQTT password and SNMP communities and keys given to the
service (in its file and over MQTT) appear in none of its log lines (at debug level), none
of the messages it publishes, none of its responses (errors included) and nothing
``check-config`` prints. The service runs in this process on the fake link layer against a
real mosquitto that checks the password; SNMP queries go to a loopback address only."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netmon_mqtt.app import Service
from netmon_mqtt.cli import _QUIET_LOGGERS
from netmon_mqtt.config import validate
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.pipeline import Boundary
from netmon_mqtt.privileges import Privileges

from .conftest import require
from .fakes import FakeHosts, FakeLink, FakePinger, inprocess_config
from .mqtt_tools import LocalMosquitto, free_port, open_subscriber, request
from .waiting import wait_until

NETWORK = "127.79.0.0/24"
PRINTER = ("127.79.0.20", "00:1b:a9:00:00:21")
PASSWORD = "pw-Kq7vZ3xR9-secret"
COMMUNITY = "comm-Jh4nB8wQ-secret"
AUTH_KEY = "auth-Lp2mT6yS-secret"
PRIV_KEY = "priv-Xc5dF1gH-secret"
OPTION_COMMUNITY = "optcomm-Vb3nM7q-secret"
BAD_COMMUNITY = 424242421337  # the wrong type: refused, and not echoed
SECRETS = (PASSWORD, COMMUNITY, AUTH_KEY, PRIV_KEY, OPTION_COMMUNITY, str(BAD_COMMUNITY))


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[LocalMosquitto]:
    """mosquitto checking the service's password (anonymous clients, the test's, may read)."""
    require(shutil.which("mosquitto_passwd") is not None, "needs mosquitto_passwd")
    require(shutil.which("mosquitto") is not None, "needs the mosquitto broker")
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "netmon", PASSWORD], check=True)
    port = free_port()
    broker = LocalMosquitto(
        port,
        config=f"listener {port} 127.0.0.1\nallow_anonymous true\npassword_file {passwords}\n"
        "persistence false\n" + ("user root\n" if os.geteuid() == 0 else ""),
    )
    broker.start()
    yield broker
    broker.stop()


def _config(port: int, database: Path) -> dict[str, Any]:
    config = inprocess_config(NETWORK, database, port, log_level="debug")
    config["mqtt"] |= {"username": "netmon", "password": PASSWORD}
    config["discovery"]["use_snmp"] = True  # tried on the printer: 127.79.0.20, loopback
    config["snmp"] = {
        "timeout": 0.2,
        "credentials": [
            {"community": COMMUNITY},
            {
                "version": "3",
                "username": "monitor",
                "auth_protocol": "sha",
                "auth_key": AUTH_KEY,
                "priv_protocol": "aes",
                "priv_key": PRIV_KEY,
            },
        ],
    }
    return config


async def test_no_secret_in_logs_mqtt_or_responses(
    locked_broker: LocalMosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in _QUIET_LOGGERS:  # as the command line sets them up
        logging.getLogger(name).setLevel(logging.WARNING)
    port = locked_broker.port
    config = validate(_config(port, tmp_path / "netmon.db"))
    hosts = FakeHosts({PRINTER[0]: PRINTER[1]})
    pinger = FakePinger(hosts)
    boundary = Boundary(Privileges(raw=True, icmp=True), FakeLink(hosts), pinger, pinger)
    target = Target(ipaddress.IPv4Network(NETWORK), "fake0", "127.79.0.1")
    service = Service(config, [target], boundary)
    sub = await open_subscriber(port)
    await service.start()
    try:
        answers = await asyncio.to_thread(_requests, sub, port)
        assert answers["info"]["status"] == "ok", answers  # the password got it connected
        shown = answers["options"]["data"]["options"]["snmp_credentials"]
        assert shown == [{"community": "***"}], shown
        refused = answers["bad options"]
        assert refused["status"] == "error" and "community" in refused["error"], refused
        await asyncio.sleep(1.0)  # SNMP identification of the printer timed out by now
    finally:
        await service.stop()
        sub.close()

    published = [
        f"{m.topic} {m.payload}" for m in sub.snapshot() if "/bridge/request/" not in m.topic
    ]
    assert any("bridge/response/options" in m for m in published)
    assert _leaks("\n".join(published)) == [], "a secret was published on MQTT"
    assert "SnmpCredential" in caplog.text or "snmp" in caplog.text.lower()
    assert _leaks(caplog.text) == [], "a secret was logged"


def _requests(sub: Any, port: int) -> dict[str, Any]:
    option = {"snmp_credentials": [{"community": OPTION_COMMUNITY}]}
    bad = {"snmp_credentials": [{"community": BAD_COMMUNITY}]}
    asked = {
        "info": ("info", {}),
        "options": ("options", {"options": option}),
        "bad options": ("options", {"options": bad}),
        "health": ("health_check", {}),
        "device": ("device/get", {"id": PRINTER[1].replace(":", "")}),
    }

    def online() -> bool:
        state = sub.latest("netmon/bridge/state")
        return state is not None and state.payload == "online"

    assert wait_until(online, 15), "the service did not connect with its password"
    answers = {}
    for name, (command, payload) in asked.items():
        answers[name] = request(sub, (), port, command, payload, timeout=15)
    return answers


def test_check_config_shows_no_secret(tmp_path: Path) -> None:
    config = _config(1883, tmp_path / "netmon.db")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(config))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**config, "mqtt": {**config["mqtt"], "password": 42424242}}))
    wrong_type = tmp_path / "wrong.yaml"
    wrong_type.write_text(
        yaml.safe_dump({**config, "snmp": {"credentials": [{"community": BAD_COMMUNITY}]}})
    )
    outputs = []
    for path, code in ((good, 0), (bad, 1), (wrong_type, 1)):
        result = subprocess.run(
            [sys.executable, "-m", "netmon_mqtt", "check-config", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (result.returncode != 0) == bool(code), result
        outputs.append(result.stdout + result.stderr)
    assert "configuration is valid" in outputs[0]
    assert "mqtt.password: " in outputs[1], outputs[1]
    assert "snmp.credentials[0].community: expected" in outputs[2], outputs[2]
    assert "42424242" not in outputs[1]
    assert _leaks("\n".join(outputs)) == [], outputs
    assert json.dumps(outputs)  # printable


def _empty_network_namespace() -> list[str]:
    """argv prefix running a command in a new, empty network namespace (a user namespace
    first when not root); skips when neither can be made here."""
    require(shutil.which("unshare") is not None, "needs unshare (a network namespace)")
    prefix = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "-r", "--net"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    require(probe.returncode == 0, f"cannot make a network namespace: {probe.stderr!r}")
    return prefix


def test_a_broker_url_with_a_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    namespace = _empty_network_namespace()
    db = tmp_path / "never.db"
    for url in (f"mqtt://netmon:{PASSWORD}@host:99999", f"http://netmon:{PASSWORD}@host"):
        args = ["run", "--broker", url, "--network", "10.94.0.0/24", "--database", str(db)]
        result = subprocess.run(  # in an empty network namespace: nothing could leave
            [*namespace, sys.executable, "-m", "netmon_mqtt", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2, result
        assert "--broker: expected a URL" in result.stderr, result.stderr
        assert "netmon:***@host" in result.stderr
        assert _leaks(result.stdout + result.stderr) == []
    assert not db.exists()
