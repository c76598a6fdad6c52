"""Command line: run, scan, devices, check-config, interfaces, oui-update."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .clock import iso
from .config import Config, load, with_overrides
from .discovery.networks import (
    InterfaceAddress,
    candidate_networks,
    local_addresses,
    resolve_targets,
)
from .errors import ConfigError, NetmonError
from .identify.oui import build_database
from .inventory.store import Store
from .publish.payloads import info_payload, model_of
from .scan import SCAN_METHODS, in_memory, scan

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

    history = sub.add_parser("history", help="recent latency and presence changes of a device")
    _add_common(history)
    history.add_argument("device", help="device id, MAC, IP address or name")
    history.add_argument("--limit", type=int, default=20, help="rows of each kind (default 20)")
    history.add_argument("--json", action="store_true", help="print JSON instead of tables")

    check = sub.add_parser("check-config", help="validate a configuration file")
    check.add_argument("file", nargs="?", default=None, metavar="FILE")

    sub.add_parser("interfaces", help="show the networks this machine is attached to")

    oui = sub.add_parser("oui-update", help="rebuild the vendor database from IEEE CSV files")
    oui.add_argument(
        "csv",
        nargs="+",
        type=Path,
        help="IEEE registry CSV files (oui.csv, mam.csv, oui36.csv, iab.csv)",
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
        "history": _history,
        "check-config": _check_config,
        "interfaces": _interfaces,
        "oui-update": _oui_update,
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
    targets = resolve_targets(config.networks, addresses)
    if not targets:
        raise ConfigError("no IPv4 network to watch after resolving these entries", "networks")
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


class _ProgressLine:
    """A one-line progress display on a terminal; silent elsewhere."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._started = time.monotonic()

    def __call__(self, done: int, total: int, what: str) -> None:
        if not self._tty:
            return
        width = 24
        filled = width * done // max(total, 1)
        elapsed = time.monotonic() - self._started
        self._out.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what:<20} {elapsed:5.1f}s"
        )
        self._out.flush()
        if done >= total:
            self._out.write("\n")


async def _scan(args: argparse.Namespace) -> int:
    config = with_overrides(load(args.config), networks=[args.network])
    config = in_memory(config, args.database)
    _setup_logging(args.log_level or "warning")
    targets = resolve_targets(config.networks, await local_addresses())
    devices = await scan(
        config,
        targets,
        args.methods,
        listen=max(0.0, args.listen),
        progress=_ProgressLine(sys.stderr),
    )
    if args.json:
        print(json.dumps([info_payload(d) for d in devices], indent=2))
        return 0
    rows = [
        {
            "ip": d.ip,
            "mac": d.mac,
            "name": d.display_name,
            "type": d.device_type,
            "vendor": d.vendor,
            "model": model_of(d),
        }
        for d in devices
    ]
    _print_table(rows, ["ip", "mac", "name", "type", "vendor", "model"])
    print(f"{len(rows)} host(s) found on {', '.join(str(t.network) for t in targets)}")
    return 0


async def _open_store(args: argparse.Namespace) -> Store:
    config = _config(args)
    if not await asyncio.to_thread(Path(config.database).exists):
        raise NetmonError(f"no inventory at {config.database} (run the service first)")
    store = Store(config.database)
    await store.open()
    return store


async def _history(args: argparse.Namespace) -> int:
    store = await _open_store(args)
    try:
        devices = await store.load_devices()
        wanted = args.device.lower()
        match = [
            d
            for d in devices
            if wanted in {d.id, (d.mac or "").lower(), d.ip or "", d.display_name.lower()}
        ]
        if not match:
            raise NetmonError(f"no device {args.device!r} in the inventory")
        device = match[0]
        samples, changes = await store.history(device.id, max(1, args.limit))
    finally:
        await store.close()
    sample_rows = [
        dict(
            zip(
                (
                    "at",
                    "presence",
                    "latency_ms",
                    "latency_min_ms",
                    "latency_max_ms",
                    "jitter_ms",
                    "packet_loss_pct",
                    "probes",
                ),
                s,
                strict=True,
            )
        )
        for s in samples
    ]
    change_rows = [dict(zip(("at", "presence", "reason"), c, strict=True)) for c in changes]
    if args.json:
        print(
            json.dumps(
                {"device": device.id, "samples": sample_rows, "changes": change_rows}, indent=2
            )
        )
        return 0
    print(f"{device.display_name} ({device.id}, {device.ip or 'no address'})\n")
    _print_table(sample_rows, ["at", "presence", "latency_ms", "jitter_ms", "packet_loss_pct"])
    print()
    _print_table(change_rows, ["at", "presence", "reason"])
    return 0


async def _devices(args: argparse.Namespace) -> int:
    store = await _open_store(args)
    try:
        devices = await store.load_devices()
    finally:
        await store.close()
    rows = [
        {
            "id": d.id,
            "name": d.display_name,
            "ip": d.ip,
            "mac": d.mac,
            "vendor": d.vendor,
            "hostname": d.hostname,
            "status": d.status.value,
            "first_seen": iso(d.first_seen),
            "last_seen": iso(d.last_seen),
        }
        for d in devices
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows, ["id", "name", "ip", "vendor", "status", "last_seen"])
        print(f"{len(rows)} device(s)")
    return 0


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
