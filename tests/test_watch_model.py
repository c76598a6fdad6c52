"""What ``netmon-mqtt watch`` makes of the broker's messages, without a terminal."""

from __future__ import annotations

import json
from typing import Any

from netmon_mqtt.publish.router import Message
from netmon_mqtt.watch.model import (
    CHANGED_FOR,
    HISTORY_POINTS,
    HISTORY_REFRESH,
    NEW_FOR,
    SortKey,
    WatchModel,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _msg(topic: str, payload: Any, retain: bool = False) -> Message:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return Message(topic, text, retain)


def _device(
    model: WatchModel, n: int, presence: str, latency: float | None, retain: bool = True
) -> None:
    info = {"id": f"d{n}", "name": f"host {n}", "ip": f"10.0.0.{n}", "vendor": "Acme"}
    model.apply(_msg(f"netmon/device/d{n}/info", info, retain))
    state = {"presence": presence, "latency_ms": latency, "packet_loss_pct": 0}
    model.apply(_msg(f"netmon/device/d{n}", state, retain))


def test_retained_state_is_shown_without_highlight_and_live_changes_are_marked() -> None:
    clock = Clock()
    model = WatchModel("netmon", clock)
    _device(model, 1, "home", 2.0)
    device = model.devices["d1"]
    assert (device.name, device.ip, device.presence, device.latency_ms) == (
        "host 1",
        "10.0.0.1",
        "home",
        2.0,
    )
    assert model.highlight(device) == ""

    model.apply(_msg("netmon/device/d1", {"presence": "not_home", "latency_ms": None}))
    assert model.highlight(device) == "changed"
    clock.now += CHANGED_FOR + 1
    assert model.highlight(device) == ""

    model.apply(_msg("netmon/device/d1/info", {"id": "d1", "name": "host 1", "ip": "10.0.0.9"}))
    assert model.highlight(device) == "changed"  # a new address is a change too


def test_a_device_that_joins_while_watching_is_new_for_a_minute() -> None:
    clock = Clock()
    model = WatchModel("netmon", clock)
    joined = {"type": "device_joined", "at": "2026-11-30T12:00:00+00:00", "data": {"id": "d7"}}
    assert model.apply(_msg("netmon/bridge/event", joined))
    _device(model, 7, "home", 1.0, retain=False)
    assert model.highlight(model.devices["d7"]) == "new"
    clock.now += NEW_FOR + 1
    assert model.highlight(model.devices["d7"]) == ""

    _device(model, 8, "home", 1.0, retain=False)  # first heard live: new as well
    assert model.highlight(model.devices["d8"]) == "new"


def test_cleared_retained_topics_remove_the_device() -> None:
    model = WatchModel("netmon")
    _device(model, 1, "home", 1.0)
    assert model.apply(_msg("netmon/device/d1", "", retain=True))
    assert "d1" not in model.devices
    assert not model.apply(_msg("netmon/device/d1/info", "", retain=True))  # already gone


def test_sparkline_scales_to_the_devices_own_range_and_marks_unanswered_windows() -> None:
    model = WatchModel("netmon")
    for latency in (1.0, 5.0, None, 9.0):
        model.apply(_msg("netmon/device/d1", {"presence": "home", "latency_ms": latency}))
    assert model.devices["d1"].sparkline() == "▁▅·█"
    for _ in range(HISTORY_POINTS * 2):
        model.apply(_msg("netmon/device/d1", {"presence": "home", "latency_ms": 3.0}))
    assert model.devices["d1"].sparkline() == "▁" * HISTORY_POINTS  # bounded, flat


def test_sorting_keeps_devices_without_a_value_last_and_filters_by_every_word() -> None:
    model = WatchModel("netmon")
    _device(model, 10, "home", 9.0)
    _device(model, 2, "not_home", None)
    _device(model, 3, "home", 1.0)
    names = [d.name for d in model.rows(SortKey.LATENCY)]
    assert names == ["host 3", "host 10", "host 2"]
    assert [d.name for d in model.rows(SortKey.LATENCY, reverse=True)] == [
        "host 10",
        "host 3",
        "host 2",
    ]
    assert [d.ip for d in model.rows(SortKey.IP)] == ["10.0.0.2", "10.0.0.3", "10.0.0.10"]
    assert [d.name for d in model.rows(SortKey.PRESENCE)][-1] == "host 2"
    assert [d.name for d in model.rows(SortKey.NAME, text="ACME 10.0.0.1")] == ["host 10"]
    assert model.rows(SortKey.NAME, text="nothing-matches") == []
    assert SortKey.LAST_SEEN.following() is SortKey.NAME


def test_bridge_topics_feed_the_status_and_hostile_payloads_change_nothing() -> None:
    model = WatchModel("netmon")
    model.apply(_msg("netmon/bridge/state", "online", retain=True))
    model.apply(_msg("netmon/bridge/health", {"healthy": True, "uptime_s": 61}, retain=True))
    assert model.bridge.state == "online"
    assert model.bridge.health["uptime_s"] == 61
    _device(model, 1, "home", 1.0)
    before = (dict(model.devices["d1"].state), list(model.devices["d1"].history))
    for payload in ("{not json", "[1, 2]", "null", '"text"', "\x00\xff"):
        assert not model.apply(_msg("netmon/device/d1", payload))
        assert not model.apply(_msg("netmon/device/d9/info", payload))
    assert not model.apply(_msg("netmon/device/d1/unknown/deeper", "{}"))
    assert not model.apply(_msg("netmon/bridge/event", {"type": "device_joined", "data": 5}))
    assert (model.devices["d1"].state, list(model.devices["d1"].history)) == before
    assert set(model.devices) == {"d1"}
    model.apply(_msg("netmon/device/d1", {"presence": "home", "latency_ms": "fast"}))
    assert model.devices["d1"].latency_ms is None  # a wrong type shows as no value
    model.apply(_msg("netmon/bridge/health", "garbage"))
    assert model.bridge.health == {}
    assert model.counts() == (1, 1)


def test_stored_history_replaces_the_live_one_and_is_asked_for_at_a_bounded_pace() -> None:
    clock = Clock()
    model = WatchModel("netmon", clock)
    _device(model, 1, "home", 7.0)
    assert "netmon/bridge/response/device/history" in model.filters
    assert model.history_request == "netmon/bridge/request/device/history"
    assert model.history_due(["d1", "unknown"]) == ["d1"]
    assert model.history_due(["d1"]) == []  # asked already
    clock.now += HISTORY_REFRESH
    assert model.history_due(["d1"]) == ["d1"]

    samples = [{"latency_ms": v} for v in (1.0, None, 2.0)]
    answer = {"status": "ok", "data": {"id": "d1", "samples": samples}}
    assert model.apply(_msg("netmon/bridge/response/device/history", answer))
    assert list(model.devices["d1"].history) == [1.0, None, 2.0]
    refused = {"status": "error", "error": "unknown device", "data": {"id": "d1"}}
    assert not model.apply(_msg("netmon/bridge/response/device/history", refused))
    other = {"status": "ok", "data": {"id": "nobody", "samples": samples}}
    assert not model.apply(_msg("netmon/bridge/response/device/history", other))
    assert list(model.devices["d1"].history) == [1.0, None, 2.0]


def test_a_steady_device_s_history_is_read_again_every_metrics_window() -> None:
    """Steady windows are stored but not published: the viewer reads the stored ones once
    per window (bounded), so a steady device's sparkline fills like a changing one's."""
    clock = Clock()
    model = WatchModel("netmon", clock)
    _device(model, 1, "home", 7.0)
    model.apply(_msg("netmon/bridge/info", {"metrics_interval": 10}))
    assert model.history_refresh == 10
    assert model.history_due(["d1"]) == ["d1"]
    clock.now += 9.9
    assert model.history_due(["d1"]) == []
    clock.now += 0.1
    assert model.history_due(["d1"]) == ["d1"]
    for interval, refresh in ((0.5, 5.0), (3600, 300.0), (0, HISTORY_REFRESH), ("x", 30.0)):
        model.apply(_msg("netmon/bridge/info", {"metrics_interval": interval}))
        assert model.history_refresh == refresh, interval


def test_presence_reads_as_words_and_last_seen_counts_stored_answers() -> None:
    model = WatchModel("netmon")
    model.apply(
        _msg(
            "netmon/device/d1",
            {"presence": "not_home", "last_seen": "2026-11-30T10:00:00+00:00"},
        )
    )
    device = model.devices["d1"]
    assert device.presence == "away"
    samples = [
        {"at": "2026-11-30T11:00:00+01:00", "latency_ms": 1.0},  # 10:00 UTC, no later
        {"at": "2026-11-30T10:30:00+00:00", "latency_ms": None},  # unanswered: not seen
    ]
    model.apply(
        _msg(
            "netmon/bridge/response/device/history",
            {"status": "ok", "data": {"id": "d1", "samples": samples}},
        )
    )
    assert device.last_seen == "2026-11-30T10:00:00+00:00"
    samples.append({"at": "2026-11-30T10:20:00+00:00", "latency_ms": 2.0})
    model.apply(
        _msg(
            "netmon/bridge/response/device/history",
            {"status": "ok", "data": {"id": "d1", "samples": samples}},
        )
    )
    assert device.last_seen == "2026-11-30T10:20:00+00:00"
    model.apply(_msg("netmon/device/d1", {"presence": "bogus"}))
    assert device.presence == "unknown"


def test_unknown_devices_are_marked_counted_and_acknowledged_by_request() -> None:
    clock = Clock()
    model = WatchModel("netmon", clock)
    _device(model, 1, "home", 2.0)
    _device(model, 2, "home", 2.0)
    model.apply(_msg("netmon/device/d1/info", {"id": "d1", "name": "host 1", "known": False}, True))
    model.apply(_msg("netmon/device/d2/info", {"id": "d2", "name": "host 2", "known": True}, True))
    assert model.highlight(model.devices["d1"]) == "unknown"
    assert model.highlight(model.devices["d2"]) == ""
    assert model.unknown_present() == 1
    topic, payload = model.acknowledge("d1")
    assert topic == "netmon/bridge/request/acknowledge" and json.loads(payload) == {"id": "d1"}
    # The service's answer: the info says known.
    model.apply(_msg("netmon/device/d1/info", {"id": "d1", "name": "host 1", "known": True}))
    clock.now += CHANGED_FOR + 1
    assert model.highlight(model.devices["d1"]) == "" and model.unknown_present() == 0
