"""The shipped examples stay in step with the topics the service really uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from netmon_mqtt.publish.topics import Topics

ROOT = Path(__file__).resolve().parent.parent
TOPICS = Topics("netmon", "homeassistant", "main")


def test_node_red_flow_uses_real_topics_and_payload_fields() -> None:
    flow = json.loads((ROOT / "examples" / "node-red-flow.json").read_text())
    mqtt_nodes = {n["name"]: n["topic"] for n in flow if n["type"] in {"mqtt in", "mqtt out"}}
    assert mqtt_nodes == {
        "device states": TOPICS.device_state("+"),
        "device info": TOPICS.device_info("+"),
        "bridge state": TOPICS.bridge_state,
        "bridge events": TOPICS.bridge_event,
        "scan request": f"{TOPICS.request_prefix}scan",
        "scan response": TOPICS.response("scan"),
    }
    switch = next(n for n in flow if n["type"] == "switch")
    assert [r["v"] for r in switch["rules"]] == ["device_joined", "device_offline", "device_online"]
    brokers = {n["id"] for n in flow if n["type"] == "mqtt-broker"}
    assert all(n["broker"] in brokers for n in flow if n["type"].startswith("mqtt "))


def test_mosquitto_acl_lets_the_service_publish_what_it_publishes() -> None:
    rules: dict[str, list[tuple[str, str]]] = {}
    user = ""
    for line in (ROOT / "examples" / "mosquitto.acl").read_text().splitlines():
        if line.startswith("user "):
            user = line.split()[1]
        elif line.startswith("topic "):
            _, access, pattern = line.split()
            rules.setdefault(user, []).append((access, pattern))

    def allowed(who: str, topic: str, access: str) -> bool:
        for granted, pattern in rules[who]:
            regex = "^" + re.escape(pattern).replace(r"\#", ".*").replace(r"\+", "[^/]+") + "$"
            if re.match(regex, topic) and granted in {access, "readwrite"}:
                return True
        return False

    published = [
        TOPICS.bridge_state,
        TOPICS.bridge_info,
        TOPICS.bridge_event,
        TOPICS.response("scan"),
        TOPICS.device_state("a4b1c2d3e4f5"),
        TOPICS.device_config("a4b1c2d3e4f5"),
        TOPICS.bridge_config,
    ]
    assert all(allowed("netmon", t, "write") for t in published)
    assert allowed("netmon", "homeassistant/status", "read")
    assert allowed("homeassistant", f"{TOPICS.request_prefix}scan", "write")
    assert not allowed("viewer", f"{TOPICS.request_prefix}scan", "write")


def test_readme_automation_example_is_valid_and_uses_the_components_event() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n(automation:.*?)```", readme, re.DOTALL)
    assert block is not None
    automation = yaml.safe_load(block.group(1))["automation"][0]
    assert automation["trigger"][0]["event_type"] == "netmon_device_joined"
    const = (ROOT / "custom_components" / "netmon" / "const.py").read_text()
    assert 'EVENT_DEVICE_JOINED: Final = "netmon_device_joined"' in const
