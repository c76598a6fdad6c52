"""The plain SNMP probe that decides whether pysnmp is needed at all: its requests are what
pysnmp itself understands, a real agent (net-snmp's snmpd on loopback) answers them exactly
when the real query would succeed, and an address without an agent never loads pysnmp."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pyasn1.codec.ber import decoder
from pysnmp.proto.api import v2c
from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message

from netmon_mqtt.clock import utcnow
from netmon_mqtt.identify.snmp import SnmpIdentifier
from netmon_mqtt.identify.snmp_client import SnmpClient
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.identify.snmp_probe import agent_answers, probe_request, v2c_get, v3_discovery
from netmon_mqtt.models import Device

from .tools.snmpd import remove_folders, start_snmpd

COMMUNITY = "probe-community"


def test_v2c_request_is_a_get_of_sys_object_id_with_the_community() -> None:
    message, rest = decoder.decode(v2c_get(COMMUNITY, 1234), asn1Spec=v2c.Message())
    assert rest == b""
    assert int(message["version"]) == 1  # v2c
    assert bytes(message["community"]) == COMMUNITY.encode()
    pdu = message["data"]["get-request"]
    assert int(pdu["request-id"]) == 1234
    assert [str(b["name"]) for b in pdu["variable-bindings"]] == ["1.3.6.1.2.1.1.2.0"]


def test_v3_request_is_an_engine_discovery() -> None:
    message, rest = decoder.decode(v3_discovery(2**31 - 1), asn1Spec=SNMPv3Message())
    assert rest == b""
    header = message["msgGlobalData"]
    assert int(message["msgVersion"]) == 3
    assert int(header["msgID"]) == 2**31 - 1
    assert bytes(header["msgFlags"]) == b"\x04"  # reportable, no auth, no privacy
    assert int(header["msgSecurityModel"]) == 3
    pdu = message["msgData"]["plaintext"]["data"]["get-request"]
    assert len(pdu["variable-bindings"]) == 0


def test_request_ids_differ_and_stay_positive() -> None:
    first, second = probe_request("2c", None), probe_request("2c", None)
    assert first != second
    for request in (first, second):
        message, _ = decoder.decode(request, asn1Spec=v2c.Message())
        assert bytes(message["community"]) == b"public"  # the default community
        assert 0 <= int(message["data"]["get-request"]["request-id"]) < 2**31


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def agent() -> Iterator[int]:
    if shutil.which("snmpd") is None:
        pytest.skip("needs net-snmp's snmpd (apt-get install snmpd)")
    port = _free_udp_port()
    proc, _folder = start_snmpd([], "127.0.0.1", community=COMMUNITY, v3=True, port=port)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        remove_folders()


async def test_a_real_agent_answers_the_right_community_and_v3_discovery(agent: int) -> None:
    assert await agent_answers("127.0.0.1", probe_request("2c", COMMUNITY), 1.0, 1, agent)
    assert await agent_answers("127.0.0.1", probe_request("3", None), 1.0, 1, agent)


async def test_a_wrong_community_gets_no_answer(agent: int) -> None:
    # snmpd drops it silently, as pysnmp's query would find.
    assert not await agent_answers("127.0.0.1", probe_request("2c", "wrong"), 0.3, 1, agent)


async def test_no_agent_is_known_at_once_from_the_port_unreachable() -> None:
    port = _free_udp_port()
    assert not await agent_answers("127.0.0.1", probe_request("2c", None), 5.0, 3, port)


async def test_something_else_on_the_port_is_not_an_agent() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        server.setblocking(False)

        async def reply_garbage() -> None:
            loop = asyncio.get_running_loop()
            _data, peer = await loop.sock_recvfrom(server, 2048)
            await loop.sock_sendto(server, b"HTTP/1.1 400 Bad Request\r\n\r\n", peer)

        task = asyncio.create_task(reply_garbage())
        assert not await agent_answers("127.0.0.1", probe_request("2c", None), 0.3, 0, port)
        await task


def test_identifying_a_device_without_an_agent_does_not_load_pysnmp() -> None:
    # 127.0.0.77: not where a system snmpd listens (Debian's binds 127.0.0.1).
    code = """
import asyncio, sys
from netmon_mqtt.clock import utcnow
from netmon_mqtt.identify.snmp import SnmpIdentifier
from netmon_mqtt.identify.snmp_client import SnmpClient
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.models import Device

async def main():
    now = utcnow()
    device = Device(id="020000000001", mac="02:00:00:00:00:01", ip="127.0.0.77",
                    first_seen=now, last_seen=now)
    credentials = (SnmpCredential.from_data({"version": "2c", "community": "public"}),
                   SnmpCredential.from_data({"version": "3", "username": "u"}))
    identifier = SnmpIdentifier(SnmpClient(timeout=0.5, retries=0), Keyring(credentials))
    found = await identifier.identify(device)
    print(found, "pysnmp" in sys.modules)

asyncio.run(main())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["None", "False"], out.stderr


class _Listener(asyncio.DatagramProtocol):
    """Something on an SNMP port that records every datagram; it answers (any SNMP-looking
    sequence) only when ``answer_free`` and the request carries no secret."""

    def __init__(self, answer_free: bool) -> None:
        self.answer_free = answer_free
        self.heard: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self.heard.append(data)
        if self.answer_free and SECRET.encode() not in data and self.transport:
            self.transport.sendto(b"\x30\x00", addr)


SECRET = "office-secret"


@pytest.mark.parametrize("answer_free", [False, True])
async def test_a_secret_valid_anywhere_goes_only_to_an_agent_that_answered_without_it(
    answer_free: bool,
) -> None:
    """A new device listening on UDP 161 (and answering nothing) never collects an unscoped
    community; an agent that answers a request without a secret is then asked with it. A
    scoped one goes where its scope says, at once."""
    loop = asyncio.get_running_loop()
    transport, listener = await loop.create_datagram_endpoint(
        lambda: _Listener(answer_free), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        now = utcnow()
        device = Device(id="020000000001", mac="02:00:00:00:00:01", ip="127.0.0.1",
                        first_seen=now, last_seen=now)  # fmt: skip
        unscoped = SnmpCredential.from_data({"version": "2c", "community": SECRET})
        assert unscoped.guarded
        client = SnmpClient(timeout=0.2, retries=0, port=port)
        await SnmpIdentifier(client, Keyring((unscoped,))).identify(device)
        sent_secret = any(SECRET.encode() in d for d in listener.heard)
        assert listener.heard  # it was asked, without the secret
        assert sent_secret is answer_free
        listener.heard.clear()
        scoped = SnmpCredential.from_data(
            {"version": "2c", "community": SECRET, "devices": ["020000000001"]}
        )
        assert not scoped.guarded
        await SnmpIdentifier(client, Keyring((scoped,))).identify(device)
        assert any(SECRET.encode() in d for d in listener.heard)
        client.close()
    finally:
        transport.close()
