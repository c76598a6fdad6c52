"""``netmon-mqtt watch``: a live terminal view of what netmon publishes, read from the broker.

Keys: ``s`` cycles the sort column, ``r`` reverses it, ``/`` filters (every word must match
the name, address, MAC or vendor; Escape clears), ``x`` saves an SVG screenshot, ``q`` quits.
Devices that joined while watching are marked ``new``, those whose presence or address
changed ``changed``, for a minute and half a minute.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Input, Static

from .. import __version__
from ..clock import SYSTEM
from ..config import MqttConfig
from ..identify import taxonomy
from ..publish.reader import LinkState, Reader
from ..text import shown
from .model import HISTORY_POINTS, Device, SortKey, WatchModel, parse_time

REFRESH_S = 0.5
HISTORY_ROWS = 60  # rows whose history is asked for, from the top of the table
HISTORY_PACE_S = 0.05  # between two history requests
SCREENSHOT = "netmon-watch.svg"
COLUMNS = (
    "", "name", "ip", "presence", "latency", "loss", "history", "vendor", "type", "last seen",
)  # fmt: skip
PRESENCE_STYLE = {"home": "bold green", "away": "red"}
MARK = {
    "new": ("★ new", "bold black on green"),
    "changed": ("● chg", "bold black on yellow"),
    "unknown": ("? unk", "bold magenta"),
}


class WatchApp(App[None]):
    """The device table, a filter box and a status line."""

    TITLE = "netmon-mqtt watch"
    CSS = """
    #devices { height: 1fr; }
    #filter { display: none; height: 3; }
    #filter.shown { display: block; }
    #status { height: 1; background: $panel; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "sort", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("x", "export", "Screenshot"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        model: WatchModel,
        reader: Reader,
        screenshots: Path,
    ) -> None:
        super().__init__()
        self.model = model
        self._reader = reader
        self._asking = False
        self._shown: list[str] = []
        self._screenshots = screenshots
        self.sort_key = SortKey.NAME
        self.reverse = False
        self.text_filter = ""
        self._dirty = True

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True, icon="●")
        yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)
        yield Input(placeholder="filter: words matching name, address, MAC or vendor", id="filter")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column or "mark")
        self.run_worker(self._feed(), name="mqtt")
        self.set_interval(REFRESH_S, self._tick)
        self._render_all()

    async def _feed(self) -> None:
        async for item in self._reader.follow():
            if isinstance(item, LinkState):
                self.model.link(item.connected, item.detail)
                self._dirty = True
            elif self.model.apply(item):
                self._dirty = True

    def _tick(self) -> None:
        highlighted = any(self.model.highlight(d) for d in self.model.devices.values())
        if self._dirty or highlighted:
            self._render_all()
        if self.model.bridge.connected and not self._asking:
            due = self.model.history_due(self._shown[:HISTORY_ROWS])
            if due:
                self._asking = True
                self.run_worker(self._ask_histories(due), name="history")

    async def _ask_histories(self, device_ids: list[str]) -> None:
        """Ask the service for the stored windows of the rows on top, paced; the answers
        arrive through the feed like any message."""
        try:
            for n, device_id in enumerate(device_ids):
                payload = json.dumps({"id": device_id, "limit": HISTORY_POINTS, "transaction": n})
                if not await self._reader.publish(self.model.history_request, payload):
                    return
                await SYSTEM.sleep(HISTORY_PACE_S)
        finally:
            self._asking = False

    # -- actions ------------------------------------------------------------------------
    def action_acknowledge(self) -> None:
        """Mark the selected device known (the service answers with its new info)."""
        selected = _selected_key(self.query_one(DataTable))
        if selected is not None and selected in self.model.devices:
            topic, payload = self.model.acknowledge(selected)
            self.run_worker(self._reader.publish(topic, payload), name="acknowledge")

    def action_sort(self) -> None:
        self.sort_key = self.sort_key.following()
        self._render_all()

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self._render_all()

    def action_filter(self) -> None:
        box = self.query_one(Input)
        box.add_class("shown")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one(Input)
        box.value = ""
        box.remove_class("shown")
        self.text_filter = ""
        self.query_one(DataTable).focus()
        self._render_all()

    def action_export(self) -> None:
        name = self.save_screenshot(SCREENSHOT, str(self._screenshots))
        self.notify(f"Saved {name}")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value
        self._render_all()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(Input).remove_class("shown")  # the status line shows the filter
        self.query_one(DataTable).focus()

    # -- drawing ------------------------------------------------------------------------
    def _render_all(self) -> None:
        self._dirty = False
        table = self.query_one(DataTable)
        selected = _selected_key(table)
        table.clear()
        now = SYSTEM.now()
        rows = self.model.rows(self.sort_key, self.reverse, self.text_filter)
        self._shown = [device.id for device in rows]
        for device in rows:
            table.add_row(*self._cells(device, now), key=device.id)
        if selected is not None and selected in self.model.devices:
            index = next((i for i, d in enumerate(rows) if d.id == selected), 0)
            table.move_cursor(row=index)
        self.query_one("#status", Static).update(self._status(len(rows)))

    def _cells(self, device: Device, now: datetime) -> list[Text]:
        mark, style = MARK.get(self.model.highlight(device), ("", ""))
        latency, loss = device.latency_ms, device.loss_pct
        # Every cell is plain text (never markup) of what any broker client may have sent.
        return [
            Text(mark, style=style),
            Text(shown(device.name), style="bold" if mark and mark != MARK["unknown"][0] else ""),
            Text(shown(device.ip)),
            Text(shown(device.presence), style=PRESENCE_STYLE.get(device.presence, "dim")),
            Text("-" if latency is None else f"{latency:.1f} ms", justify="right"),
            Text("-" if loss is None else f"{loss:.0f} %", justify="right"),
            Text(device.sparkline(), style="cyan"),
            Text(shown(device.info.get("vendor"))),
            Text(_type_label(device.info.get("device_type"))),
            Text(_ago(device.last_seen, now)),
        ]

    def _status(self, count: int) -> Text:
        b = self.model.bridge
        home, total = self.model.counts()
        parts: list[tuple[str, str]] = [
            (f"● {b.link}" if b.connected else f"○ {b.link}", "green" if b.connected else "red"),
            (f"bridge {shown(b.state)}", "green" if b.state == "online" else "red"),
        ]
        if b.health:
            healthy = bool(b.health.get("healthy"))
            parts.append(("healthy", "green") if healthy else ("UNHEALTHY", "bold red"))
        started = _age(str(b.info.get("started_at") or ""), SYSTEM.now())
        if started is not None:
            parts.append((f"up {_duration(started)}", ""))
        parts.append((f"{home}/{total} home", "bold"))
        unknown = self.model.unknown_present()
        if unknown:
            parts.append((f"{unknown} unknown", "bold magenta"))
        scan = b.health.get("last_scan_duration_s") or b.info.get("last_scan_duration_s")
        if isinstance(scan, int | float):
            parts.append((f"last scan {scan:.1f} s", ""))
        arrow = "↓" if self.reverse else "↑"
        parts.append((f"sort {self.sort_key.value} {arrow}", "cyan"))
        if self.text_filter:
            parts.append((f"filter '{self.text_filter}': {count} shown", "yellow"))
        status = Text()
        for i, (text, style) in enumerate(parts):
            if i:
                status.append(" │ ", style="dim")
            status.append(text, style=style)
        return status


def _selected_key(table: DataTable[Text | str]) -> str | None:
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # the cursor may point past the last row while the table rebuilds
        return None
    return key.value


def _age(stamp: str, now: datetime) -> float | None:
    then = parse_time(stamp)
    return None if then is None else (now - then).total_seconds()


def _ago(stamp: str, now: datetime) -> str:
    age = _age(stamp, now)
    return "" if age is None else f"{_duration(age)} ago"


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "?"
    s = max(0, int(seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def run(mqtt: MqttConfig, host: str, screenshots: Path) -> None:
    """Show the view until the user quits (a blocking call: Textual owns the loop)."""
    model = WatchModel(mqtt.base_topic)
    client_id = f"netmon-watch-{uuid.uuid4().hex[:8]}"
    app = WatchApp(model, Reader(mqtt, host, model.filters, client_id), screenshots)
    app.sub_title = f"{mqtt.base_topic} on {host}:{mqtt.port} · v{__version__}"
    app.run()


def _type_label(value: object) -> str:
    """The type as people call it ("Router / gateway"), or nothing for none yet."""
    return taxonomy.of(value).label if isinstance(value, str) and value else ""
