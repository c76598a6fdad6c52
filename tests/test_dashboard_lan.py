"""The example Home Assistant dashboard (examples/dashboard.yaml) in a real current `hass`,
next to the real service and a real mosquitto on a 3-host namespace LAN: Home Assistant loads
it as a YAML dashboard, every entity it names exists, its templates list the LAN's hosts,
and a headless Chromium renders it (the README's picture, docs/images/dashboard.png, is
written from that rendering when NETMON_WRITE_PICTURES=1).

The LAN is made to show something: the packet loss sensors are enabled through the entity
registry (they are disabled by default), one host drops a third of its packets and one is
cut off, so the dashboard has a host away and a loss to show.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import require
from .ha_shared import DASHBOARD_URL, SharedHomeAssistant
from .ha_tools import HomeAssistant, wait_for
from .lan import NetnsLan, have_root
from .service_tools import start_with_broker

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "dashboard.yaml"
PICTURE = ROOT / "docs" / "images" / "dashboard.png"
BROWSER_TOOLS = ROOT / ".browser-tools" / "node_modules"
CHROMIUM = "/usr/bin/chromium"
HOSTS = 3
BROKER_PORT = 1883
LOSSY, AWAY = 1, 2  # host indexes: drops a third of what it sends; cut off the LAN
LOSS_SHARE = 0.34
# The example's placeholders in the statistics graphs end with the role they stand for.
ROLES = ("_latency", "_packet_loss")


@dataclass
class World:
    lan: NetnsLan
    hass: HomeAssistant
    dashboard: Path  # the dashboard file Home Assistant reads
    entities: dict[str, dict[str, str]]  # device id -> role ("device_tracker", ...) -> entity
    names: dict[str, str]  # device id -> the tracker's friendly name
    tmp: Path


def _role(entity_id: str) -> str | None:
    if entity_id.startswith("device_tracker."):
        return "device_tracker"
    return next((r for r in ROLES if entity_id.endswith(r)), None)


def fill(dashboard: dict[str, Any], entities: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The example with each statistics graph's placeholders replaced by the LAN's sensors of
    the role they stand for (``sensor.my_phone_latency`` -> every host's latency sensor)."""
    filled = json.loads(json.dumps(dashboard))
    for card in all_cards(filled):
        if card["type"] != "statistics-graph":
            continue
        (role,) = {_role(e) for e in card["entities"]}
        assert role in ROLES, card
        card["entities"] = sorted(roles[role] for roles in entities.values())
    return filled


def all_cards(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every card of every view, those inside stacks too, in order."""
    found: list[dict[str, Any]] = []

    def visit(cards: list[dict[str, Any]]) -> None:
        for card in cards:
            found.append(card)
            visit(card.get("cards", []))

    for view in dashboard["views"]:
        visit(view["cards"])
    return found


def referenced_entities(node: Any) -> set[str]:
    """Every entity id a dashboard names (``entity:`` keys and ``entities:`` lists)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "entity" and isinstance(value, str):
                found.add(value)
            elif key == "entities" and isinstance(value, list):
                found |= {v for v in value if isinstance(v, str)}
            found |= referenced_entities(value)
    elif isinstance(node, list):
        for value in node:
            found |= referenced_entities(value)
    return found


def markdown_cards(dashboard: dict[str, Any]) -> dict[str, str]:
    """Title (or the first words) -> template of every markdown card."""
    cards = [c for c in all_cards(dashboard) if c["type"] == "markdown"]
    return {c.get("title") or c["content"].split("%}")[-1].split()[0]: c["content"] for c in cards}


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, home_assistant: SharedHomeAssistant
) -> Iterator[World]:
    require(have_root(), "needs root and iproute2 to build a LAN of network namespaces")
    require(shutil.which("tc") is not None, "needs tc (iproute2) for packet loss")
    require(shutil.which("mosquitto") is not None, "needs the mosquitto broker")
    tmp = tmp_path_factory.mktemp("dashboard")
    with ExitStack() as cleanup:  # undone in reverse, each step even when another fails
        lan = NetnsLan(HOSTS, tag=f"nmd{os.getpid() % 100000}", subnet="10.93.0.0/24")
        cleanup.callback(lan.destroy)
        lan.build()
        running = start_with_broker(
            lan,
            tmp,
            BROKER_PORT,
            consider_home=4.0,
            metrics_interval=3,
            mqtt_options={"birth_delay": 1},
        )
        cleanup.callback(running.close)
        dashboard = home_assistant.dashboard
        shutil.copy(EXAMPLE, dashboard)  # as shipped until the LAN's entities are known
        hass = cleanup.enter_context(home_assistant.attached(lan.service_ns, BROKER_PORT))
        entities = _entities(hass, lan, 60)
        for roles in entities.values():
            hass.enable_entity(roles["_packet_loss"])
        lan.set_loss(lan.hosts[LOSSY], LOSS_SHARE)
        lan.take_down(lan.hosts[AWAY])
        yield World(lan, hass, dashboard, entities, {}, tmp)


def _entities(hass: HomeAssistant, lan: NetnsLan, timeout: float) -> dict[str, dict[str, str]]:
    """Every host's tracker, latency and packet loss entities once all are registered."""
    found: dict[str, dict[str, str]] = {}

    def complete() -> bool:
        registered = hass.netmon_entities()
        for host in lan.hosts:
            roles = {_role(e): e for e in registered.get(host.device_id, [])}
            roles.pop(None, None)
            if len(roles) < 1 + len(ROLES):
                return False
            found[host.device_id] = {str(k): v for k, v in roles.items()}
        return True

    assert wait_for(complete, timeout), (hass.netmon_entities(), hass.log()[-3000:])
    return found


def _settled(world: World) -> dict[str, dict[str, Any]]:
    """The states once the LAN shows what the fixture did to it: the cut-off host away, the
    others home with a latency, every packet loss sensor enabled with a value, the lossy
    host's above zero."""
    hass, lan = world.hass, world.lan
    states: dict[str, dict[str, Any]] = {}

    def ready() -> bool:
        states.clear()
        states.update(hass.states())
        for index, host in enumerate(lan.hosts):
            roles = world.entities[host.device_id]
            tracker = states[roles["device_tracker"]]["state"]
            if tracker != ("not_home" if index == AWAY else "home"):
                return False
            loss = states[roles["_packet_loss"]]["state"]
            if index != AWAY and not _number(states[roles["_latency"]]["state"]):
                return False
            if not _number(loss) or (index == LOSSY and float(loss) <= 0):
                return False
        return True

    assert wait_for(ready, 90), (
        {e: states.get(e, {}).get("state") for r in world.entities.values() for e in r.values()},
        hass.log()[-3000:],
    )
    world.names.update(
        {
            d: states[r["device_tracker"]]["attributes"]["friendly_name"]
            for d, r in world.entities.items()
        }
    )
    return states


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def filled(world: World) -> dict[str, Any]:
    """The example filled for this LAN, written where Home Assistant reads the dashboard."""
    example = yaml.safe_load(EXAMPLE.read_text())
    dashboard = fill(example, world.entities)
    world.dashboard.write_text(yaml.safe_dump(dashboard, sort_keys=False, allow_unicode=True))
    _settled(world)
    return dashboard


def _lovelace(world: World) -> dict[str, Any]:
    command = {"type": "lovelace/config", "url_path": DASHBOARD_URL, "force": True}
    return dict(world.hass.websocket(command))


@pytest.mark.netns
def test_home_assistant_loads_the_example_as_a_yaml_dashboard(world: World) -> None:
    """Registered in configuration.yaml, the file as shipped loads unchanged; the filled
    copy replaces only the statistics graphs' placeholders."""
    example = yaml.safe_load(EXAMPLE.read_text())
    dashboards = world.hass.websocket({"type": "lovelace/dashboards/list"})
    assert {"url_path": DASHBOARD_URL, "mode": "yaml"}.items() <= {
        k: v for d in dashboards if d["url_path"] == DASHBOARD_URL for k, v in d.items()
    }.items(), dashboards
    assert _lovelace(world) == example
    dashboard = fill(example, world.entities)
    world.dashboard.write_text(yaml.safe_dump(dashboard, sort_keys=False, allow_unicode=True))
    loaded = _lovelace(world)
    assert loaded == dashboard != example
    graphs = [c for c in all_cards(loaded) if c["type"] == "statistics-graph"]
    assert [g["title"] for g in graphs] == ["Latency", "Packet loss"]
    for graph, role in zip(graphs, ROLES, strict=True):
        assert graph["entities"] == sorted(r[role] for r in world.entities.values())


@pytest.mark.netns
def test_every_entity_it_names_exists_and_graphs_have_statistics(
    world: World, filled: dict[str, Any]
) -> None:
    """Every entity the filled dashboard names exists in Home Assistant; the graphed ones are
    measurements the recorder keeps long-term statistics of."""
    hass = world.hass
    states = hass.states()
    named = referenced_entities(filled)
    assert named and not named - set(states), sorted(named - set(states))
    graphed = {
        e for c in all_cards(filled) if c["type"] == "statistics-graph" for e in c["entities"]
    }
    assert len(graphed) == HOSTS * len(ROLES)
    for entity in graphed:
        assert states[entity]["attributes"].get("state_class") == "measurement", states[entity]
    listed = hass.websocket({"type": "recorder/list_statistic_ids", "statistic_type": "mean"})
    assert graphed <= {s["statistic_id"] for s in listed}, listed


def _render(hass: HomeAssistant, template: str) -> str:
    """A template rendered the way the markdown card asks for it (websocket render_template)."""
    event = hass.websocket(
        {"type": "render_template", "template": template, "report_errors": True}, event=True
    )
    assert "result" in event, event
    return str(event["result"])


@pytest.mark.netns
def test_the_markdown_cards_list_the_lan(world: World, filled: dict[str, Any]) -> None:
    """Who's home, recent joins and the packet loss note render from the LAN as it is."""
    hass, hosts = world.hass, world.lan.hosts
    cards = markdown_cards(filled)
    assert set(cards) == {"Who's home", "Recent joins", "Packet"}, set(cards)
    home = _render(hass, cards["Who's home"])
    assert f"**{HOSTS - 1} of {HOSTS} devices home**" in home, home
    table, _, away = home.partition("**Away**")
    for index, host in enumerate(hosts):
        name = world.names[host.device_id]
        if index == AWAY:
            assert name not in table and f"- {name}: away since " in away, home
        else:
            row = next(line for line in table.splitlines() if f"| {name} |" in line)
            assert f"| {host.ip} |" in row and row.rstrip().endswith(" ms |"), home
    joins = _render(hass, cards["Recent joins"])
    lines = [line for line in joins.splitlines() if line.startswith("- **")]
    assert len(lines) == HOSTS, joins
    for host in hosts:
        line = next(line for line in lines if world.names[host.device_id] in line)
        assert host.ip in line and host.vendor in line and " ago" in line, joins
    note = _render(hass, cards["Packet"])
    assert f"Packet loss is measured for {HOSTS} device(s)." in note, note


@pytest.mark.netns
def test_the_browser_renders_the_dashboard(world: World, filled: dict[str, Any]) -> None:
    """Headless Chromium, logged in as the test user, shows every card with the LAN's hosts
    and both graphs drawn; its screenshot is the README's picture."""
    require(shutil.which("node") is not None, "needs Node.js for playwright-core")
    require(os.path.exists(CHROMIUM), "needs Debian's chromium (apt-get install chromium)")
    require(
        (BROWSER_TOOLS / "playwright-core").is_dir(),
        "needs playwright-core in .browser-tools (scripts/browser-tools installs it)",
    )
    hass = world.hass
    _settled(world)
    hass.call("lan_test_hooks", "compile_statistics", {})
    latency = sorted(r["_latency"] for r in world.entities.values())

    def compiled() -> bool:
        found = hass.websocket(
            {
                "type": "recorder/statistics_during_period",
                "start_time": "2000-01-01T00:00:00Z",
                "statistic_ids": latency,
                "period": "5minute",
                "types": ["mean"],
            }
        )
        return set(found) >= set(latency[:1])

    assert wait_for(compiled, 30), hass.log()[-3000:]
    hass.login()  # a fresh access token for the browser (they last 30 minutes)
    screenshot = world.tmp / "dashboard.png"
    result = _browse(world, screenshot)
    cards = result["cards"]
    titles = [c["title"] for c in cards]
    for title in ("Who's home", "Recent joins", "Latency", "Packet loss", "netmon"):
        assert title in titles, result
    text = {c["title"]: c["text"] for c in cards}
    for name in world.names.values():
        assert name in text["Who's home"] and name in text["Recent joins"], text
    graphs = [c for c in cards if c["tag"] == "hui-statistics-graph-card"]
    assert len(graphs) == 2 and all(g["drawn"] for g in graphs), graphs
    for graph in graphs:  # the title and the legend (each sensor), no message
        assert not re.search("disabled|No statistics|error", graph["text"], re.I), graphs
    assert screenshot.stat().st_size > 20_000
    if os.environ.get("NETMON_WRITE_PICTURES") == "1":
        PICTURE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, PICTURE)


BROWSE = r"""
const { chromium } = require('playwright-core');
const [origin, tokensJson, page_path, out, profile] = process.argv.slice(2);
(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 700 },
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1'],
  });
  try {
    // Only Home Assistant's own origin is fetched; anything else fails in the browser.
    await context.route('**/*', (route) =>
      route.request().url().startsWith(origin + '/') ? route.continue() : route.abort());
    await context.addInitScript(([tokens]) => {
      localStorage.setItem('hassTokens', tokens);
      localStorage.setItem('dockedSidebar', '"always_hidden"');
    }, [tokensJson]);
    const page = await context.newPage();
    const log = [];  // what went wrong in the page, for the test's failure message
    page.on('console', (m) => { if (m.type() === 'error') log.push(m.text()); });
    page.on('pageerror', (e) => log.push(String(e)));
    page.on('requestfailed', (r) => log.push(`failed: ${r.url()} ${r.failure().errorText}`));
    await page.goto(origin + page_path);
    const cards = ['hui-markdown-card', 'hui-statistics-graph-card', 'hui-entities-card'];
    // Charts are drawn and markdown rendered (the who's-home card starts with its count).
    const deadline = Date.now() + 45000;
    let found = [];
    while (Date.now() < deadline) {
      found = await page.evaluate((tags) => {
        const all = [];
        const walk = (root) => {
          for (const el of root.querySelectorAll('*')) {
            if (tags.includes(el.localName)) all.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
          }
        };
        walk(document);
        const text = (node) => {
          let s = '';
          const visit = (n) => {
            if (n.nodeType === Node.TEXT_NODE) s += n.textContent + ' ';
            if (n.shadowRoot) visit(n.shadowRoot);
            for (const c of n.childNodes) visit(c);
          };
          visit(node);
          return s.replace(/\s+/g, ' ').trim();
        };
        const deep = (node, name) => {  // elements named name under node, shadows too
          const hits = [];
          const visit = (n) => {
            if (n.localName === name) hits.push(n);
            if (n.shadowRoot) visit(n.shadowRoot);
            for (const c of n.children || []) visit(c);
          };
          visit(node);
          return hits;
        };
        return all.map((el) => {
          const card = el.shadowRoot ? el.shadowRoot.querySelector('ha-card') : null;
          return {
            tag: el.localName,
            title: (card && card.header) || (el._config && el._config.title) || '',
            text: text(el),
            // A chart drawn: the card's chart element holds a canvas with a size.
            drawn: deep(el, 'ha-chart-base').some((chart) =>
              deep(chart, 'canvas').some((c) => c.width > 100 && c.height > 50)),
          };
        });
      }, cards);
      const markdown = found.filter((c) => c.tag === 'hui-markdown-card');
      const graphs = found.filter((c) => c.tag === 'hui-statistics-graph-card');
      if (markdown.length >= 3 && markdown.every((c) => c.text.length > 20) &&
          graphs.length === 2 && graphs.every((g) => g.drawn)) break;
      await page.waitForTimeout(500);
    }
    await page.waitForTimeout(1500);  // the charts' entry animation
    await page.screenshot({ path: out, fullPage: true });
    const body = await page.evaluate(() => document.body.innerText);
    console.log(JSON.stringify({ url: page.url(), body, log, cards: found }));
  } finally {
    await context.close();
  }
})().catch((err) => { console.error(err); process.exit(1); });
"""


def _browse(world: World, screenshot: Path) -> dict[str, Any]:
    """Open the dashboard in headless Chromium inside Home Assistant's namespace (where it
    listens on loopback): the cards found, with their text; a screenshot."""
    hass = world.hass
    origin = f"http://127.0.0.1:{hass.port}"
    tokens = {
        "hassUrl": origin,
        "clientId": f"{origin}/",
        "access_token": hass.token,
        "refresh_token": hass.refresh_token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires": int(time.time() * 1000) + 1_800_000,
    }
    script = world.tmp / "browse.js"
    script.write_text(BROWSE)
    profile = world.tmp / "chromium-profile"
    profile.mkdir()
    started = time.monotonic()
    proc = subprocess.run(
        world.lan.exec_args(
            hass.namespace,
            "node",
            str(script),
            origin,
            json.dumps(tokens),
            f"/{DASHBOARD_URL}/network",
            str(screenshot),
            str(profile),
        ),
        capture_output=True,
        text=True,
        timeout=150,
        env={**os.environ, "NODE_PATH": str(BROWSER_TOOLS)},
        check=False,
    )
    assert proc.returncode == 0, (proc.stderr[-3000:], time.monotonic() - started)
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
