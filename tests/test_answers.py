"""Lookup answers (reverse DNS, NetBIOS) are kept an hour per address, and only so many."""

from __future__ import annotations

from netmon_mqtt.identify.answers import KEEP_SECONDS, MAX_ADDRESSES, Answers

from .virtual_time import VirtualClock


async def test_an_answer_is_kept_an_hour_and_the_oldest_go_first() -> None:
    clock = VirtualClock()
    answers: Answers[str | None] = Answers(clock)
    asked: list[str] = []

    async def ask(address: str) -> str | None:
        asked.append(address)
        return None if address.endswith(".9") else f"host-{address}"

    assert await answers.get("10.0.0.1", lambda: ask("10.0.0.1")) == "host-10.0.0.1"
    assert await answers.get("10.0.0.9", lambda: ask("10.0.0.9")) is None
    clock.tick(KEEP_SECONDS - 1)
    assert await answers.get("10.0.0.1", lambda: ask("10.0.0.1")) == "host-10.0.0.1"
    assert await answers.get("10.0.0.9", lambda: ask("10.0.0.9")) is None  # no name: kept too
    assert asked == ["10.0.0.1", "10.0.0.9"]
    clock.tick(1)
    await answers.get("10.0.0.1", lambda: ask("10.0.0.1"))
    assert asked == ["10.0.0.1", "10.0.0.9", "10.0.0.1"]  # an hour old: asked again
    for n in range(MAX_ADDRESSES):  # a sweep of a /16 cannot grow it past the bound
        await answers.get(f"10.1.{n // 256}.{n % 256}", lambda a=n: ask(f"x{a}"))  # type: ignore[misc]
    asked.clear()
    await answers.get("10.1.0.0", lambda: ask("10.1.0.0"))  # kept: among the newest
    await answers.get("10.0.0.9", lambda: ask("10.0.0.9"))  # the oldest went first
    assert asked == ["10.0.0.9"]
