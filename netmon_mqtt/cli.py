"""Command line: run, scan, devices, topology, history, watch, check-config, interfaces,
addon-config, oui-update, enterprise-update."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import __version__, reports
from .config import Config, load, with_overrides
from .discovery.networks import (
    InterfaceAddress,
    Target,
    candidate_networks,
    local_addresses,
    resolve_targets,
    too_many_addresses,
)
from .errors import ConfigError, NetmonError
from .identify import enterprises
from .identify.oui import build_database
from .scan import SCAN_METHODS, in_memory, scan
from .topology import render

EXIT_ERROR = 2
_QUIET_LOGGERS = ("amqtt", "transitions", "aiosqlite", "zeroconf")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netmon-mqtt",
        description="Find, watch and publish every device of your LAN over MQTT.",
    )
    parser.add_argument("--version", action="version", version=f"netmon-mqtt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the service")
    _add_common(run)
    run.add_argument(
        "--network",
        action="append",
        metavar="CIDR",
        help="network to watch (CIDR, interface or 'auto'); repeatable",
    )
    run.add_argument(
        "--broker", metavar="URL", help="external broker, mqtt://user@host:port or mqtts://..."
    )
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])

    scan = sub.add_parser(
        "scan",
        help="one-shot discovery and identification of a network (nothing published)",
    )
    scan.add_argument("network", metavar="CIDR", help="network to sweep, e.g. 192.168.1.0/24")
    _add_common(scan)
    scan.add_argument(
        "--methods",
        type=_methods,
        metavar="M[,M...]",
        help=f"sources to use (default all): {', '.join(sorted(SCAN_METHODS))}",
    )
    scan.add_argument(
        "--listen",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="listen for mDNS and DHCP at least this long (default 3)",
    )
    scan.add_argument("--json", action="store_true", help="print JSON instead of a table")
    scan.add_argument("--log-level", choices=["debug", "info", "warning", "error"])

    devices = sub.add_parser("devices", help="list the inventory")
    _add_common(devices)
    devices.add_argument("--json", action="store_true", help="print JSON instead of a table")

    topology = sub.add_parser(
        "topology", help="switches and the port each device is plugged into (SNMP)"
    )
    _add_common(topology)
    topology.add_argument(
        "--format", choices=render.FORMATS, default="json", help="output format (default json)"
    )

    history = sub.add_parser("history", help="recent latency and presence changes of a device")
    _add_common(history)
    history.add_argument("device", help="device id, MAC, IP address or name")
    history.add_argument("--limit", type=int, default=20, help="rows of each kind (default 20)")
    history.add_argument("--json", action="store_true", help="print JSON instead of tables")

    watch = sub.add_parser(
        "watch", help="live terminal view of the devices a netmon instance publishes"
    )
    watch.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    watch.add_argument(
        "--broker", metavar="URL", help="broker to read, mqtt://user@host:port or mqtts://..."
    )
    watch.add_argument("--base-topic", metavar="TOPIC", help="netmon's base topic (default netmon)")
    watch.add_argument(
        "--screenshots",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="where the x key saves netmon-watch.svg (default: the current directory)",
    )

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", nargs="?", default=None, metavar="FILE")

    sub.add_parser("interfaces", help="show the networks this machine is attached to")

    addon = sub.add_parser(
        "addon-config", help="turn Home Assistant add-on options into a configuration file"
    )
    addon.add_argument("options", type=Path, help="the add-on's options.json")
    addon.add_argument(
        "--mqtt-service", type=Path, help="JSON of the broker the Supervisor provides"
    )

    oui = sub.add_parser("oui-update", help="rebuild the vendor database from IEEE CSV files")
    oui.add_argument(
        "csv",
        nargs="+",
        type=Path,
        help="IEEE registry CSV files (oui.csv, mam.csv, oui36.csv, iab.csv)",
    )
    registry = sub.add_parser(
        "enterprise-update",
        help="rebuild the SNMP enterprise registry from IANA's enterprise-numbers file",
    )
    registry.add_argument(
        "registry", type=Path, help="enterprise-numbers.txt from iana.org (or number<TAB>name)"
    )
    return parser


def _methods(text: str) -> frozenset[str]:
    chosen = frozenset(m.strip() for m in text.split(",") if m.strip())
    unknown = sorted(chosen - SCAN_METHODS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown method(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(sorted(SCAN_METHODS))}"
        )
    return chosen


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="configuration file (YAML)")
    parser.add_argument("--database", metavar="PATH", help="SQLite inventory file")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``netmon-mqtt`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "watch":  # Textual runs its own event loop
            return _watch(args)
        return int(asyncio.run(_dispatch(args)) or 0)
    except ConfigError as err:
        print(f"netmon-mqtt: configuration error: {err}", file=sys.stderr)
    except NetmonError as err:
        print(f"netmon-mqtt: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return EXIT_ERROR


async def _dispatch(args: argparse.Namespace) -> int:
    handlers = {
        "run": _run,
        "scan": _scan,
        "devices": _devices,
        "topology": _topology,
        "history": _history,
        "check-config": _check_config,
        "interfaces": _interfaces,
        "addon-config": _addon_config,
        "oui-update": _oui_update,
        "enterprise-update": _enterprise_update,
    }
    return await handlers[args.command](args)


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _config(args: argparse.Namespace) -> Config:
    config = load(args.config)
    return with_overrides(
        config,
        networks=getattr(args, "network", None),
        broker=getattr(args, "broker", None),
        database=getattr(args, "database", None),
    )


async def _run(args: argparse.Namespace) -> int:
    from .app import Service, run_until_signalled

    config = _config(args)
    _setup_logging(args.log_level or config.log_level)
    addresses = await local_addresses()
    if not config.networks:
        _explain_networks(addresses, sys.stderr)
        return EXIT_ERROR
    targets = _watchable(resolve_targets(config.networks, addresses))
    await run_until_signalled(Service(config, targets))
    return 0


def _explain_networks(addresses: list[InterfaceAddress], out: TextIO) -> None:
    print(
        "netmon-mqtt: configuration error: networks: no networks configured; "
        "netmon-mqtt never scans a network you did not name.",
        file=out,
    )
    found = candidate_networks(addresses)
    if found:
        print("\nNetworks detected on this machine:", file=out)
        for item in found:
            print(
                f"  {item.address.network!s:20} on {item.interface} "
                f"(this machine is {item.address.ip})",
                file=out,
            )
    else:
        print("\nNo suitable IPv4 network was detected on this machine.", file=out)
    print(
        "\nName them with --network CIDR (repeatable), or in the configuration file:\n"
        "  networks:\n    - 192.168.1.0/24   # a CIDR\n    - eth0             # an interface\n"
        "    - auto             # every network listed above",
        file=out,
    )


async def _check_config(args: argparse.Namespace) -> int:
    config = load(args.file)
    if not config.networks:
        raise ConfigError(
            "expected at least one network (CIDR, interface or 'auto'), got none", "networks"
        )
    print(
        f"{args.file or '(defaults)'}: configuration is valid "
        f"({len(config.networks)} network(s), broker: "
        f"{config.mqtt.host or 'embedded'})"
    )
    return 0


async def _interfaces(_args: argparse.Namespace) -> int:
    for item in await local_addresses():
        print(f"{item.interface:16} {item.address}")
    return 0


async def _oui_update(args: argparse.Namespace) -> int:
    count = build_database(args.csv)
    print(f"OUI database rebuilt with {count} assignments")
    return 0


async def _enterprise_update(args: argparse.Namespace) -> int:
    count = enterprises.build_database(args.registry)
    print(f"Enterprise registry rebuilt with {count} numbers")
    return 0


def _watchable(targets: list[Target]) -> list[Target]:
    """The resolved networks, if there is something to sweep and not too much."""
    if not targets:
        raise ConfigError("no IPv4 network to watch after resolving these entries", "networks")
    too_many = too_many_addresses(t.network for t in targets)
    if too_many:
        raise ConfigError(too_many, "networks")
    return targets


async def _scan(args: argparse.Namespace) -> int:
    config = with_overrides(load(args.config), networks=[args.network])
    config = in_memory(config, args.database)
    _setup_logging(args.log_level or "warning")
    targets = _watchable(resolve_targets(config.networks, await local_addresses()))
    listen = max(0.0, args.listen)
    progress = reports.ProgressLine(sys.stderr)
    devices = await scan(config, targets, args.methods, listen=listen, progress=progress)
    reports.print_scan(devices, targets, as_json=args.json)
    return 0


async def _history(args: argparse.Namespace) -> int:
    return await reports.print_history(_config(args), args.device, args.limit, as_json=args.json)


async def _devices(args: argparse.Namespace) -> int:
    return await reports.print_devices(_config(args), as_json=args.json)


async def _addon_config(args: argparse.Namespace) -> int:
    from .addon import config_from_options, validated

    options = _json_file(args.options)
    service = _json_file(args.mqtt_service) if args.mqtt_service else None
    validated(options, service)  # a bad option fails here, naming the key
    print(yaml.safe_dump(config_from_options(options, service), sort_keys=False), end="")
    return 0


def _json_file(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read {path}: {err}", str(path)) from err
    if not isinstance(value, dict):
        raise ConfigError(f"expected a JSON object in {path}", str(path))
    return value


def _watch(args: argparse.Namespace) -> int:
    from .watch.app import run as watch

    mqtt = _config(args).client_mqtt
    if args.base_topic:
        mqtt = replace(mqtt, base_topic=args.base_topic)
    watch(mqtt, mqtt.host or "127.0.0.1", args.screenshots)
    return 0


async def _topology(args: argparse.Namespace) -> int:
    return await reports.print_topology(_config(args), args.format)


if __name__ == "__main__":
    sys.exit(main())
