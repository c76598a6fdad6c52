"""The topology as JSON (the retained ``bridge/topology`` topic and ``netmon-mqtt topology``),
Mermaid or Graphviz dot (pure).

Devices keep their placement in ``details["port"]`` and switches their uplinks in
``details["switch"]``, so the inventory alone draws the picture: the command line reads it
from the database, with or without the service running.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..models import Device
from .infer import Placement, Topology

FORMATS = ("json", "mermaid", "dot")
PORT, SWITCH = "port", "switch"


def store(topology: Topology, device: Device) -> dict[str, Any] | None:
    """``device.details`` with its placement and switch facts from ``topology`` (the whole
    picture: what it does not place has no port); None when they are what it holds."""
    details = dict(device.details)
    placement = topology.placement(device.id)
    if placement:
        details[PORT] = placement.as_dict()
    else:
        details.pop(PORT, None)
    uplinks = dict(topology.uplinks)
    if device.id in uplinks:
        details[SWITCH] = {"uplinks": list(uplinks[device.id]), "root": topology.root == device.id}
    else:
        details.pop(SWITCH, None)
    return None if details == dict(device.details) else details


def from_devices(devices: Iterable[Device]) -> Topology:
    """The topology the inventory holds."""
    placements: list[Placement] = []
    uplinks: list[tuple[str, tuple[str, ...]]] = []
    root = None
    for device in sorted(devices, key=lambda d: d.id):
        stored = device.details.get(PORT)
        if isinstance(stored, Mapping) and (p := Placement.from_dict(device.id, stored)):
            placements.append(p)
        switch = device.details.get(SWITCH)
        if isinstance(switch, Mapping):
            ports = switch.get("uplinks", [])
            uplinks.append((device.id, tuple(str(p) for p in ports if isinstance(p, str))))
            root = device.id if switch.get("root") else root
    return Topology(tuple(placements), tuple(uplinks), root)


def as_json(topology: Topology, devices: Iterable[Device]) -> dict[str, Any]:
    """Switches (with their uplinks and parent) and devices with their port."""
    named = {d.id: d for d in devices}
    uplinks = dict(topology.uplinks)

    def node(device_id: str) -> dict[str, Any]:
        device = named.get(device_id)
        placement = topology.placement(device_id)
        return {
            "id": device_id,
            "name": device.display_name if device else device_id,
            "ip": device.ip if device else None,
            **(placement.as_dict() if placement else {SWITCH: None, PORT: None}),
        }

    switches = [
        {**node(s), "uplinks": list(uplinks[s]), "root": s == topology.root}
        for s in topology.switches
    ]
    others = [node(p.device) for p in topology.placements if p.device not in uplinks]
    return {"root": topology.root, "switches": switches, "devices": others}


def as_mermaid(topology: Topology, devices: Iterable[Device]) -> str:
    """A Mermaid flowchart: switches as boxes, devices as rounded nodes, ports on edges."""
    picture = as_json(topology, devices)
    lines = ["flowchart TD"]
    for s in picture["switches"]:
        lines.append(f'  {_id(s["id"])}["{_label(s)}"]')
    for d in picture["devices"]:
        lines.append(f'  {_id(d["id"])}("{_label(d)}")')
    for n in [*picture["switches"], *picture["devices"]]:
        if n[SWITCH]:
            lines.append(f'  {_id(n[SWITCH])} -- "{_quote(n[PORT])}" --- {_id(n["id"])}')
    return "\n".join(lines) + "\n"


def as_dot(topology: Topology, devices: Iterable[Device]) -> str:
    """A Graphviz digraph: switches as boxes, devices as ellipses, ports on edges."""
    picture = as_json(topology, devices)
    lines = ["digraph netmon {", "  rankdir=LR;"]
    for s in picture["switches"]:
        lines.append(f'  "{s["id"]}" [shape=box, label="{_label(s)}"];')
    for d in picture["devices"]:
        lines.append(f'  "{d["id"]}" [label="{_label(d)}"];')
    for n in [*picture["switches"], *picture["devices"]]:
        if n[SWITCH]:
            lines.append(f'  "{n[SWITCH]}" -> "{n["id"]}" [label="{_quote(n[PORT])}"];')
    return "\n".join(lines) + "\n}\n"


def render(fmt: str, topology: Topology, devices: Iterable[Device]) -> str:
    """The topology in ``fmt`` (one of ``FORMATS``)."""
    listed = list(devices)
    if fmt == "mermaid":
        return as_mermaid(topology, listed)
    if fmt == "dot":
        return as_dot(topology, listed)
    return json.dumps(as_json(topology, listed), indent=2, ensure_ascii=False) + "\n"


def _id(device_id: str) -> str:
    return "n_" + re.sub(r"\W", "_", device_id)


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "'")


def _label(node: Mapping[str, Any]) -> str:
    ip = f" {node['ip']}" if node.get("ip") else ""
    return _quote(f"{node['name']}{ip}")
