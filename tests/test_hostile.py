"""Hostile input against the whole service on a real mosquitto: request floods, fuzzed
requests on every command and on Home Assistant's status topic, and networks from MQTT
outside what the configuration allows. The service runs in this process on the fake link
layer of ``tests/fakes.py``, so nothing leaves the machine."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import pytest

from netmon_mqtt.bridge import REQUEST_BURST, REQUEST_RATE

from .inprocess import NETWORK, PRINTER, RESPONSES, InProcess, answered, running
from .mqtt_tools import LocalMosquitto, Subscriber
from .virtual_time import VirtualClock
from .waiting import until

# Reading 20,000 messages through paho and aiomqtt takes 1.5 to 2 s on a busy 2-CPU machine
# (2.5 to 4 s before the link took queued messages at once): the broker forwards the flood
# first, and a valid request that came later waits that long. Generous for loaded CI.
FLOOD_READ_BOUND = 6.0


async def _burst(running: InProcess, topic: str, lines: bytes) -> None:
    """Publish one message per line at once (QoS 0, as fast as mosquitto_pub goes)."""
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(running.port), "-t", topic, "-l"]
    process = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE)
    await asyncio.wait_for(process.communicate(lines), 60)
    assert process.returncode == 0


async def _publish(running: InProcess, topic: str, payload: bytes | str) -> None:
    assert running.requests is not None
    await running.requests.publish(topic, payload)


def _sub(running: InProcess) -> Subscriber:
    assert running.observe is not None
    return running.observe.sub


async def _answered_after(running: InProcess, timeout: float) -> float:
    """Seconds until a valid request sent now is answered, resent every 0.25 s as a client
    does when no answer comes (one sent while the bucket is still empty is refused)."""
    asked = time.monotonic()
    transaction = f"after-{time.monotonic_ns()}"
    body = json.dumps({"transaction": transaction})
    observe = running.observe
    assert observe is not None
    for _ in range(int(timeout / 0.25)):
        await _publish(running, "netmon/bridge/request/health_check", body)
        answer = await until(lambda: observe.response("health_check", transaction), 0.25, step=0.02)
        if answer is not None and answer["status"] == "ok":
            return time.monotonic() - asked
    raise AssertionError(f"no valid answer within {timeout} s")


async def test_a_flood_is_refused_counted_and_logged_and_the_service_stays_responsive(
    running: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """20,000 requests in a fraction of a second (before the limit: 20 to 40 s of answers
    draining, a valid request unanswered for 20 s). Now the ones over the rate limit are
    refused without running, counted and logged, only a few refusals are answered, a valid
    request is answered while the service is still reading the flood, and within a second
    once it has read it: the flood leaves no backlog behind."""
    caplog.set_level(logging.WARNING, logger="netmon_mqtt.bridge")
    flood = 20_000
    started = time.monotonic()
    await _burst(running, "netmon/bridge/request/info", b"{}\n" * flood)
    waited = await _answered_after(running, timeout=30)
    assert waited < FLOOD_READ_BOUND, f"a valid request waited {waited:.2f} s after the flood"

    def accounted(refused: int) -> bool:
        answers = _sub(running).on("netmon/bridge/response/info")
        return sum(_flooded_and_served(m.json()) for m in answers) + refused >= flood

    for _ in range(60):  # until every flooded request was served or refused (bounded)
        health = await running.ask("health_check", {})
        if health is not None and accounted(health["data"]["requests_refused"]):
            break
        await asyncio.sleep(0.5)
    settled = await _answered_after(running, timeout=5)
    assert settled < 1.0, f"a valid request waited {settled:.2f} s once the flood was read"
    print(f"answered {waited:.2f} s after the flood, {settled:.2f} s once it was read")

    health = await running.ask("health_check", {})
    refused = health["data"]["requests_refused"]
    elapsed = time.monotonic() - started
    answered = [m.json() for m in _sub(running).on("netmon/bridge/response/info")]
    served = [a for a in answered if _flooded_and_served(a)]
    refusals = [a for a in answered if a["status"] == "error"]
    # Everything over the bucket is refused, and counted ...
    assert refused >= flood - REQUEST_BURST - REQUEST_RATE * elapsed, (refused, elapsed)
    # (our own health_check requests, resent until answered, may be refused too)
    assert 0 <= len(served) + refused - flood <= 20, (len(served), refused)
    # ... and only a few refusals are answered (one a second), each saying why.
    assert 1 <= len(refusals) <= elapsed + 2, (len(refusals), elapsed)
    assert "too many requests: more than 20 a second" in refusals[0]["error"], refusals[0]
    warnings = [r.getMessage() for r in caplog.records if "Refused" in r.getMessage()]
    assert 1 <= len(warnings) <= elapsed / 10 + 2, warnings
    assert "more than 20.0 a second" in warnings[0]


def _flooded_and_served(answer: dict[str, Any]) -> bool:
    return answer["status"] == "ok" and "transaction" not in answer  # flooded: none given


@pytest.mark.parametrize(
    ("command", "payload", "error"),
    [
        ("options", {"options": {"networks": ["203.0.113.0/24"]}}, "is outside the networks"),
        ("options", {"options": {"networks": ["10.0.0.0/8"]}}, "no larger than /16"),
        # an interface name resolves here: the loopback interface carries a /8
        ("options", {"options": {"networks": ["lo"]}}, "127.0.0.0/8 (on lo) is larger than /16"),
        ("scan", {"target": "203.0.113.0/24"}, "is not inside the configured networks"),
        ("scan", {"target": "127.78.0.0/16"}, "is not inside the configured networks"),
        ("scan", {"target": "fe80::/10"}, "is not inside the configured networks"),
    ],
)
async def test_networks_from_mqtt_outside_the_bound_are_refused_and_change_nothing(
    running: InProcess, command: str, payload: dict[str, Any], error: str
) -> None:
    answer = await running.ask(command, payload)
    assert answer["status"] == "error" and error in answer["error"], answer
    info = await running.ask("info", {})
    assert info["data"]["networks"] == [NETWORK]
    options = await running.ask("options", {})
    assert options["data"]["options"]["networks"] == [NETWORK]


def _fuzz_payloads(seed: int) -> list[bytes]:
    """Random bytes, empty, 1 MB, deep JSON, wrong types, unicode: none a valid request
    for a command that needs arguments."""
    rng = random.Random(seed)
    wrong_values: list[Any] = [None, True, 0, -1, 1e308, "", "x" * 5000, [], {}, [[[]]], "\ud800"]
    payloads = [
        b"",
        b"   \n\t",
        bytes(rng.randrange(256) for _ in range(64)),
        bytes(rng.randrange(256) for _ in range(4096)),
        b"\xff\xfe\x00{",  # not UTF-8
        b"x" * 1_000_000,
        json.dumps({"transaction": 1, "pad": "y" * 1_000_000}).encode(),
        b"[" * 15_000,  # deeper than the JSON parser goes, under the size limit
        b'{"a":' * 3_000 + b"1" + b"}" * 3_000,
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"42",
        b"{bad json",
        '{"id": "\u00e9\u4e2d\U0001f600\u202e\u0000"}'.encode(),
        b'{"id": "\\ud800", "name": "\\udfff", "transaction": "\\ud83d"}',  # lone surrogates
        json.dumps({"transaction": {"nested": ["t"]}, "unknown": 1}).encode(),
    ]
    keys = ["id", "name", "into", "mac", "count", "since", "until", "limit", "options", "target"]
    keys += ["methods", "block", "confirm", "update_entity_ids", "transaction"]
    for _ in range(6):
        body = {rng.choice(keys): rng.choice(wrong_values) for _ in range(rng.randint(1, 4))}
        payloads.append(json.dumps(body).encode())
    return payloads


async def test_fuzzed_requests_on_every_command_get_clear_errors_and_the_service_stays_up(
    mosquitto: LocalMosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every command, and one that does not exist, gets each fuzzed payload once, paced at
    the rate limit on a virtual clock (time moves a twentieth of a second a request)."""
    caplog.set_level(logging.INFO, logger="netmon_mqtt")
    async with running(
        mosquitto.port, tmp_path / "netmon.db", topic=RESPONSES, virtual=True
    ) as world:
        await answered(world)
        assert world.requests is not None and world.virtual is not None
        async with world.requests.connected():
            unclear = await _fuzz_every_command(world, world.virtual)
            assert unclear == [], unclear[:5]
            await _fuzz_home_assistant_status(world)
            assert (await world.ask("info", {}))["status"] == "ok"
            printer = PRINTER[1].replace(":", "")
            assert (await world.ask("device/get", {"id": printer}))["status"] == "ok"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def _fuzz_every_command(
    world: InProcess, clock: VirtualClock
) -> list[tuple[str, bytes, Any]]:
    assert world.service is not None
    commands = [*world.service.bridge.names, "no/such/command"]
    payloads = _fuzz_payloads(seed=16)
    unclear: list[tuple[str, bytes, Any]] = []
    for command in commands:
        topic = f"netmon/bridge/response/{command}"
        for payload in payloads:
            before = len(_sub(world).on(topic))
            await _publish(world, f"netmon/bridge/request/{command}", payload)
            # In virtual time: a scan by request sweeps (and waits for ARP replies) first.
            await world.until(lambda t=topic, b=before: len(_sub(world).on(t)) > b, 30)  # type: ignore[misc]
            answers = [m.json() for m in _sub(world).on(topic)[before:]]
            empty = not payload.strip()
            fine = len(answers) == 1 and (
                (answers[0]["status"] == "error" and _clear(answers[0]["error"]))
                or (empty and answers[0]["status"] == "ok")  # empty is {}: valid for some
            )
            if not fine:
                unclear.append((command, payload[:60], answers))
                assert len(unclear) < 5, unclear  # stop early: the service may be gone
            clock.tick(1 / REQUEST_RATE)  # stay under the rate limit
    return unclear


async def _fuzz_home_assistant_status(world: InProcess) -> None:
    rng = random.Random(17)
    for payload in [b"", b"online", b"offline", b"ONLINE", b"x" * 1_000_000]:
        await _publish(world, "homeassistant/status", payload)
    for _ in range(20):
        noise = bytes(rng.randrange(256) for _ in range(40))
        await _publish(world, "homeassistant/status", noise)


def _clear(error: str) -> bool:
    """An error that names the problem (not a crash report)."""
    return bool(error) and not error.startswith("internal error") and len(error) < 500


async def test_slow_requests_never_hold_the_quick_ones_and_the_refused_hear_busy(
    running: InProcess,
) -> None:
    """32 pings of a host that does not answer (each waits out ten timeouts): four run, the
    others are answered busy at once, and ``info`` and ``device/get`` are answered meanwhile
    within a second (before, they held every place and later requests went unanswered)."""
    assert running.requests is not None and running.observe is not None
    observe, printer = running.observe, PRINTER[1].replace(":", "")
    running.hosts.down.add(PRINTER[0])
    async with running.requests.connected():
        for n in range(32):
            body = json.dumps({"id": printer, "count": 10, "transaction": f"ping-{n}"})
            await _publish(running, "netmon/bridge/request/device/ping", body)
        started = time.monotonic()
        assert (await running.ask("info", {}, timeout=1.0))["status"] == "ok"
        got = await running.ask("device/get", {"id": printer}, timeout=1.0)
        assert got["status"] == "ok" and time.monotonic() - started < 1.0

        def answers() -> list[dict[str, Any]]:
            return [m.json() for m in observe.sub.on("netmon/bridge/response/device/ping")]

        busy = await until(lambda: len(answers()) >= 28 and answers(), 5)
        refused = [a for a in busy if a["status"] == "error" and a["data"].get("busy")]
        assert len(refused) == 28, busy
        assert all(a["transaction"].startswith("ping-") for a in refused)
        assert all("busy" in a["error"] for a in refused)
