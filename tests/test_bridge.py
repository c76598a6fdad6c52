"""The request/response dispatcher: one response per request, clear errors, nothing run on
bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
import voluptuous as vol

from netmon_mqtt.bridge import MAX_REQUEST_BYTES, Bridge, Command, RequestError, RequestLimit
from netmon_mqtt.commands import scan_target
from netmon_mqtt.config import MqttConfig
from netmon_mqtt.discovery.networks import Target
from netmon_mqtt.publish.link import MqttLink
from netmon_mqtt.publish.topics import Topics

from .virtual_time import VirtualClock

calls: list[dict[str, Any]] = []
TOPICS = Topics()


async def _echo(args: dict[str, Any]) -> dict[str, Any]:
    calls.append(args)
    return {"got": args}


async def _refuse(_args: dict[str, Any]) -> dict[str, Any]:
    raise RequestError("no such device 'x'")


async def _crash(_args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("boom")


BRIDGE = Bridge(
    MqttLink(MqttConfig(), "127.0.0.1", "netmon-test", TOPICS.bridge_state),
    TOPICS,
    {
        "echo": Command(vol.Schema({vol.Required("id"): str, vol.Optional("n"): int}), _echo),
        "refuse": Command(vol.Schema({}), _refuse),
        "crash": Command(vol.Schema({}), _crash),
    },
)


@pytest.fixture(autouse=True)
def _reset() -> None:
    calls.clear()


async def test_ok_response_echoes_transaction() -> None:
    response = await BRIDGE.handle("echo", json.dumps({"id": "a", "transaction": "t-1"}))
    assert response == {"status": "ok", "data": {"got": {"id": "a"}}, "transaction": "t-1"}
    response = await BRIDGE.handle("echo", '{"id": "b"}')
    assert "transaction" not in response


@pytest.mark.parametrize(
    ("command", "payload", "message"),
    [
        ("echo", "{not json", "malformed JSON"),
        ("echo", "[1, 2]", "expected a JSON object"),
        ("echo", '"text"', "expected a JSON object"),
        ("echo", "x" * (MAX_REQUEST_BYTES + 1), "larger than"),
        ("nope", "{}", "unknown command 'nope'; known: crash, echo, refuse"),
        ("echo", '{"transaction": 7}', "invalid request: id: required key not provided"),
        ("echo", '{"id": "a", "n": "many", "transaction": 7}', "invalid request: n: expected int"),
        ("echo", '{"id": "a", "extra": 1}', "invalid request: extra: unknown key"),
        ("refuse", "{}", "no such device 'x'"),
        ("crash", "{}", "internal error: boom"),
    ],
)
async def test_bad_requests_get_one_error_and_run_nothing(
    command: str, payload: str, message: str
) -> None:
    response = await BRIDGE.handle(command, payload)
    assert response["status"] == "error"
    assert message in response["error"]
    assert response["data"] == {}
    assert calls == []


async def test_error_still_echoes_a_parsed_transaction() -> None:
    response = await BRIDGE.handle("echo", '{"transaction": "abc"}')
    assert response["transaction"] == "abc" and response["status"] == "error"


def test_scan_target_must_lie_inside_the_configured_networks() -> None:
    import ipaddress

    configured = [Target(ipaddress.IPv4Network("10.1.0.0/16"), "eth0", "10.1.0.1")]
    inside = scan_target("10.1.5.0/24", configured)
    assert str(inside.network) == "10.1.5.0/24" and inside.interface == "eth0"
    with pytest.raises(RequestError, match=r"not inside the configured networks \(10.1.0.0/16\)"):
        scan_target("10.2.0.0/24", configured)
    with pytest.raises(RequestError, match="not inside"):
        scan_target("10.0.0.0/8", configured)
    with pytest.raises(RequestError, match="expected a CIDR"):
        scan_target("banana", configured)


def test_the_rate_limit_lets_a_burst_through_then_the_rate_and_counts_refusals() -> None:
    clock = VirtualClock()
    limit = RequestLimit(rate=2.0, burst=3, clock=clock)
    assert [limit.allow() for _ in range(5)] == [True, True, True, False, False]
    assert limit.refused == 2
    assert limit.answer_refusal() is True and limit.answer_refusal() is False
    clock.tick(0.5)  # one token back at 2 a second
    assert [limit.allow() for _ in range(2)] == [True, False]
    clock.tick(1.0)  # two more, and one refusal answer a second
    assert [limit.allow() for _ in range(3)] == [True, True, False]
    assert limit.answer_refusal() is True
    clock.tick(98.5)  # refilled up to the burst, no further
    assert [limit.allow() for _ in range(4)] == [True, True, True, False]
    assert limit.refused == 5
