"""Connecting to a broker that requires TLS (with a client certificate) and passwords."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from netmon_mqtt.config import MqttConfig
from netmon_mqtt.publish.link import MqttLink
from netmon_mqtt.publish.topics import Topics

from .conftest import require
from .mqtt_tools import free_port
from .waiting import wait_until

TOPICS = Topics()


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    require(shutil.which("openssl") is not None, "needs openssl to make test certificates")
    folder = tmp_path_factory.mktemp("pki")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=netmon test CA",
        "-keyout",
        str(folder / "ca.key"),
        "-out",
        str(folder / "ca.crt"),
    )
    for name, extra in (("server", "subjectAltName=IP:127.0.0.1"), ("client", None)):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(folder / f"{name}.key"),
            "-out",
            str(folder / f"{name}.csr"),
        )
        ext = folder / f"{name}.ext"
        ext.write_text((extra or "basicConstraints=CA:FALSE") + "\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(folder / f"{name}.csr"),
            "-CA",
            str(folder / "ca.crt"),
            "-CAkey",
            str(folder / "ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            str(ext),
            "-out",
            str(folder / f"{name}.crt"),
        )
    return folder


@pytest.fixture
def secure_broker(pki: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """mosquitto on loopback requiring TLS, a client certificate and a password."""
    require(shutil.which("mosquitto") is not None, "needs the mosquitto broker")
    port = free_port()
    passwords = tmp_path / "passwd"
    passwords.write_text("")
    subprocess.run(
        ["mosquitto_passwd", "-b", str(passwords), "netmon", "s3cret-pass"], check=True, timeout=30
    )
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        f"cafile {pki / 'ca.crt'}\ncertfile {pki / 'server.crt'}\nkeyfile {pki / 'server.key'}\n"
        "require_certificate true\npersistence false\n"
        # As root, mosquitto would switch to its own user, who cannot read these files.
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        assert wait_until(
            lambda: (
                subprocess.run(
                    ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], check=False
                ).returncode
                == 0
            ),
            10,
        )
        yield port, pki
    finally:
        proc.terminate()
        proc.wait(10)


def _link(mqtt: MqttConfig) -> MqttLink:
    return MqttLink(
        replace(mqtt, retained_wait=0.2), mqtt.host or "", "netmon-tls-test", TOPICS.bridge_state
    )


def _tls_client(port: int, pki: Path, password: str) -> MqttConfig:
    """A client with the test CA, the client certificate and user netmon."""
    return MqttConfig(
        host="127.0.0.1",
        port=port,
        tls=True,
        ca_file=str(pki / "ca.crt"),
        cert_file=str(pki / "client.crt"),
        key_file=str(pki / "client.key"),
        username="netmon",
        password=password,
    )


def _read_state(port: int, pki: Path) -> str:
    result = subprocess.run(
        [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--cafile",
            str(pki / "ca.crt"),
            "--cert",
            str(pki / "client.crt"),
            "--key",
            str(pki / "client.key"),
            "-u",
            "netmon",
            "-P",
            "s3cret-pass",
            "-t",
            TOPICS.bridge_state,
            "-C",
            "1",
            "-W",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout.strip()


async def test_tls_with_client_certificate_and_password(secure_broker: tuple[int, Path]) -> None:
    port, pki = secure_broker
    link = _link(_tls_client(port, pki, "s3cret-pass"))
    await link.start()
    try:
        state = ""
        for _ in range(20):
            state = await asyncio.to_thread(_read_state, port, pki)
            if state == "online":
                break
            await asyncio.sleep(0.3)
        assert state == "online"
    finally:
        await link.stop()
    assert await asyncio.to_thread(_read_state, port, pki) == "offline"


async def test_wrong_password_is_retried_without_crashing(
    secure_broker: tuple[int, Path], caplog: pytest.LogCaptureFixture
) -> None:
    port, pki = secure_broker
    link = _link(_tls_client(port, pki, "wrong-password"))
    await link.start()
    try:
        await asyncio.sleep(2.5)
        assert any("unreachable" in r.getMessage() for r in caplog.records)
        assert "wrong-password" not in caplog.text  # secrets are never logged
    finally:
        await link.stop(timeout=1)


async def test_plain_client_is_refused_by_a_tls_broker(secure_broker: tuple[int, Path]) -> None:
    port, _pki = secure_broker
    link = _link(MqttConfig(host="127.0.0.1", port=port, username="netmon", password="s3cret-pass"))
    await link.start()
    try:
        await asyncio.sleep(1.5)
        assert not link.connected.is_set()
    finally:
        await link.stop(timeout=1)
