"""Home Assistant device-based discovery payloads (pure).

Component keys are part of every entity's ``unique_id``: never rename them.
"""

from __future__ import annotations

import json
from typing import Any

from ..identify import taxonomy
from ..models import Device
from ..vendors import short_vendor
from .payloads import manufacturer_of, versions
from .topics import BRIDGE_IDENTIFIER_PREFIX, Topics, device_identifier

ORIGIN_URL = "https://github.com/netmon-mqtt/netmon-mqtt"
DIAGNOSTIC = "diagnostic"
BRIDGE_EVENT_TYPES = ("device_joined", "device_removed", "new_device_flood")


def availability(topic: str) -> dict[str, str]:
    """An availability entry with its payloads spelled out (Home Assistant 2025.4 can set an
    entity up from an entry whose defaults were not filled in, and fails on the missing key)."""
    return {"topic": topic, "payload_available": "online", "payload_not_available": "offline"}


# What mosquitto publishes on a bridge's ``notification_topic`` (and registers as the
# bridge's Last Will on the remote broker, with ``notifications_local_only false``).
BRIDGE_UP, BRIDGE_DOWN = "1", "0"


def site_availability(topics: Topics) -> list[dict[str, str]]:
    """What says this probe is there: its ``bridge/state`` (its own Last Will), and where it
    reaches the central broker through a bridge, the bridge's state there (the Last Will the
    central broker holds: published when the whole site goes, broker included)."""
    found = [availability(topics.bridge_state)]
    if topics.bridge_connection:
        found.append(bridge_availability(topics.bridge_connection))
    return found


def bridge_availability(topic: str) -> dict[str, str]:
    """An availability entry for a bridge notification topic."""
    return {"topic": topic, "payload_available": BRIDGE_UP, "payload_not_available": BRIDGE_DOWN}


def origin(version: str) -> dict[str, str]:
    return {"name": "netmon-mqtt", "sw_version": version, "support_url": ORIGIN_URL}


def _value(key: str) -> str:
    # A JSON null renders as the literal None, which Home Assistant shows as unknown.
    return f"{{{{ value_json.{key} }}}}"


def sensor(uid: str, name: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "sensor",
        "unique_id": uid,
        "name": name,
        "value_template": _value(key),
        **extra,
    }


# Components netmon no longer publishes, and their platform: Home Assistant removes a
# component only when the config names it with its platform alone (omitting it is not
# enough), so these stay in every config. ``connectivity`` repeated the presence.
RETIRED_COMPONENTS: dict[str, str] = {"connectivity": "binary_sensor"}

# Device triggers (the automation editor's "went offline", ...): component key -> the event
# type on the device's event topic that fires it.
DEVICE_TRIGGERS: dict[str, str] = {
    "went_offline": "device_offline",
    "came_online": "device_online",
    "joined": "device_joined",
    "ip_changed": "ip_changed",
}


def _trigger(topics: Topics, device_id: str, key: str) -> dict[str, Any]:
    return {
        "platform": "device_automation",
        "automation_type": "trigger",
        "topic": topics.device_event(device_id),
        "type": key,
        "subtype": "device",
        "value_template": "{{ value_json.type }}",
        "payload": DEVICE_TRIGGERS[key],
        "qos": 1,
    }


def device_components(device_id: str, topics: Topics) -> dict[str, dict[str, Any]]:
    """The components of one device, keyed by their frozen component keys.

    Enabled by default: the presence tracker (the facts are its attributes) and the latency.
    The rest is diagnostic and disabled by default, so the recorder stores two entities per
    device unless the user asks for more.
    """
    uid = device_identifier(device_id)
    info = topics.device_info(device_id)
    hidden = {"entity_category": DIAGNOSTIC, "enabled_by_default": False}
    components: dict[str, dict[str, Any]] = {
        "presence": {
            "platform": "device_tracker",
            "unique_id": f"{uid}_presence",
            "name": None,
            "source_type": "router",
            "payload_home": "home",
            "payload_not_home": "not_home",
            "value_template": _value("presence"),
            "json_attributes_topic": info,
        },
        "latency": sensor(
            f"{uid}_latency",
            "Latency",
            "latency_ms",
            device_class="duration",
            unit_of_measurement="ms",
            state_class="measurement",
            suggested_display_precision=1,
        ),
        "packet_loss": sensor(
            f"{uid}_packet_loss",
            "Packet loss",
            "packet_loss_pct",
            unit_of_measurement="%",
            state_class="measurement",
            icon="mdi:lan-disconnect",
            **hidden,
        ),
        "jitter": sensor(
            f"{uid}_jitter",
            "Jitter",
            "jitter_ms",
            device_class="duration",
            unit_of_measurement="ms",
            state_class="measurement",
            **hidden,
        ),
        "last_seen": sensor(
            f"{uid}_last_seen", "Last seen", "last_seen", device_class="timestamp", **hidden
        ),
        "ip": sensor(
            f"{uid}_ip", "IP address", "ip", state_topic=info, icon="mdi:ip-network", **hidden
        ),
        "hostname": sensor(
            f"{uid}_hostname", "Hostname", "hostname", state_topic=info, icon="mdi:dns", **hidden
        ),
        "vendor": sensor(
            f"{uid}_vendor", "Vendor", "vendor", state_topic=info, icon="mdi:factory", **hidden
        ),
        "ping": {
            "platform": "button",
            "unique_id": f"{uid}_ping",
            "name": "Ping",
            "command_topic": f"{topics.request_prefix}device/ping",
            "payload_press": json.dumps({"id": device_id}, separators=(",", ":")),
            "icon": "mdi:lan-pending",
            **hidden,
        },
        # The owner knows this device: it leaves the unknown-devices sensor.
        "acknowledge": {
            "platform": "button",
            "unique_id": f"{uid}_acknowledge",
            "name": "Acknowledge",
            "command_topic": f"{topics.request_prefix}acknowledge",
            "payload_press": json.dumps({"id": device_id}, separators=(",", ":")),
            "icon": "mdi:check-decagram",
            "entity_category": "config",
        },
    }
    for key in DEVICE_TRIGGERS:
        components[key] = _trigger(topics, device_id, key)
    for component in components.values():
        component.setdefault("qos", 1)  # releases before 2026.5.2 ignore the root's qos
    for key, platform in RETIRED_COMPONENTS.items():
        components[key] = {"platform": platform}
    return components


def without_triggers(config: dict[str, Any]) -> dict[str, Any]:
    """A device config whose device triggers are removed (each named by its platform alone)."""
    components = {
        key: {"platform": "device_automation"} if c.get("platform") == "device_automation" else c
        for key, c in dict(config.get("components") or {}).items()
    }
    return {**config, "components": components}


def device_block(device: Device, topics: Topics) -> dict[str, Any]:
    """The device as Home Assistant's device registry shows it."""
    block: dict[str, Any] = {
        "identifiers": [device_identifier(device.id)],
        "name": device.display_name,
        "via_device": _via(device, topics),
    }
    if device.mac:
        block["connections"] = [["mac", mac] for mac in device.macs]
    maker = manufacturer_of(device)
    if maker:
        block["manufacturer"] = short_vendor(maker)
    for key, value in versions(device).items():
        block[key] = value
    return block


def _via(device: Device, topics: Topics) -> str:
    """The switch the device is plugged into (``details["port"]``), else netmon's bridge."""
    switch = device.details.get("port", {}).get("switch")
    if isinstance(switch, str) and switch != device.id:
        return device_identifier(switch)
    return topics.bridge_id


def device_config(
    device: Device, topics: Topics, version: str, *, shared: bool = False
) -> dict[str, Any]:
    """The retained discovery config of one device.

    Available while netmon runs (the bridge's state) and the device is tracked with a known
    presence (its own availability topic): an untracked device is unavailable, not home.
    A device other probes see too (``shared``) takes its presence from the merged view
    this instance publishes on the device's ``probes`` topic.
    """
    components = device_components(device.id, topics)
    if device.device_type:  # the tracker wears its type's icon
        icon = taxonomy.of(device.device_type).icon
        components["presence"] = {**components["presence"], "icon": icon}
    if shared:
        components["presence"] = {
            **components["presence"],
            "state_topic": topics.device_probes(device.id),
        }
    return {
        "device": device_block(device, topics),
        "origin": origin(version),
        "availability": [
            *site_availability(topics),
            availability(topics.device_availability(device.id)),
        ],
        "availability_mode": "all",
        "state_topic": topics.device_state(device.id),
        "qos": 1,
        "components": {**components, **interface_components(device, topics)},
    }


def interface_components(device: Device, topics: Topics) -> dict[str, dict[str, Any]]:
    """Bandwidth sensors of a device whose SNMP agent reports interfaces: in and out (data
    rate, enabled when the interface carried traffic when first seen) and errors plus
    discards (diagnostic, disabled). Keys ``if<index>_in`` / ``_out`` / ``_errors``."""
    uid = device_identifier(device.id)
    topic = topics.device_interfaces(device.id)
    components: dict[str, dict[str, Any]] = {}
    for key, facts in sorted(device.details.get("interfaces", {}).items(), key=_if_order):
        label = str(facts.get("alias") or facts.get("name") or key)
        enabled = {} if facts.get("active") else {"enabled_by_default": False}
        rate = {
            "state_topic": topic,
            "device_class": "data_rate",
            "unit_of_measurement": "bit/s",  # a data rate: the user may show it in Mbit/s
            "state_class": "measurement",
            "suggested_display_precision": 0,
            **enabled,
        }
        components[f"{key}_in"] = {
            **sensor(f"{uid}_{key}_in", f"{label} in", "", **rate),
            "value_template": _interface_value(key, "in_bps"),
            "json_attributes_topic": topic,
            "json_attributes_template": _interface_value(key, None),
        }
        components[f"{key}_out"] = {
            **sensor(f"{uid}_{key}_out", f"{label} out", "", **rate),
            "value_template": _interface_value(key, "out_bps"),
        }
        components[f"{key}_errors"] = {
            **sensor(
                f"{uid}_{key}_errors",
                f"{label} errors",
                "",
                state_topic=topic,
                unit_of_measurement="1/s",
                state_class="measurement",
                icon="mdi:alert-circle-outline",
                entity_category=DIAGNOSTIC,
                enabled_by_default=False,
            ),
            "value_template": _interface_value(key, "errors_per_s"),
        }
    return components


def _if_order(item: tuple[str, Any]) -> int:
    digits = item[0][2:]
    return int(digits) if digits.isdigit() else 0


def _interface_value(key: str, field: str | None) -> str:
    """One interface's value (all of them as JSON without ``field``); ``None`` (unknown)
    while it has none or is gone."""
    facts = f"value_json.interfaces.get('{key}', {{}})"
    return f"{{{{ {facts} | tojson }}}}" if field is None else f"{{{{ {facts}.get('{field}') }}}}"


def owned_by(payload: dict[str, Any], topics: Topics) -> bool:
    """True when a retained discovery config was published by this instance."""
    if not isinstance(payload, dict):
        return False
    device, available = payload.get("device"), payload.get("availability")
    via = device.get("via_device") if isinstance(device, dict) else None
    if not isinstance(via, str) or via.startswith(BRIDGE_IDENTIFIER_PREFIX):
        return via == topics.bridge_id
    # A device behind a switch hangs from the switch: the bridge's availability tells.
    first = available[0] if isinstance(available, list) and available else None
    return isinstance(first, dict) and first.get("topic") == topics.bridge_state
