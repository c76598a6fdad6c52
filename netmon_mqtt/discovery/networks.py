"""Which networks to watch, and on which interface each one lies."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import DiscoveryError
from ..schema import MAX_SWEEP_ADDRESSES

_LOGGER = logging.getLogger(__name__)
AUTO_MIN_PREFIX = 22


@dataclass(frozen=True)
class InterfaceAddress:
    """One IPv4 address of a local interface."""

    interface: str
    address: ipaddress.IPv4Interface


@dataclass(frozen=True)
class Target:
    """A network to sweep; ``interface`` None means not on-link (routed)."""

    network: ipaddress.IPv4Network
    interface: str | None
    source_ip: str | None

    @property
    def on_link(self) -> bool:
        """True when ARP reaches the hosts directly."""
        return self.interface is not None

    def contains(self, ip: str) -> bool:
        """True when ``ip`` (any text) is an IPv4 address inside this target's network."""
        try:
            return ipaddress.IPv4Address(ip) in self.network
        except ValueError:
            return False


async def local_addresses() -> list[InterfaceAddress]:
    """IPv4 addresses of the machine's interfaces, from ``ip -j addr``."""
    try:
        process = await asyncio.create_subprocess_exec(
            "ip",
            "-j",
            "-4",
            "addr",
            "show",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    except OSError as exc:
        raise DiscoveryError(f"cannot list interfaces (is iproute2 installed?): {exc}") from exc
    if process.returncode != 0:
        raise DiscoveryError(f"cannot list interfaces: {err.decode(errors='replace').strip()}")
    return parse_ip_addr(out.decode())


class WatchedNetworks:
    """The networks watched now, as targets: one holder shared by every component that
    sweeps, listens or scopes by network, instead of a copy in each. Only ``Options``
    changes it (``watch``), before it announces ``OptionsChanged``: a handler reading it
    never depends on the order in which the others heard the change."""

    def __init__(self, targets: Iterable[Target] = ()) -> None:
        self._targets = tuple(targets)

    @property
    def targets(self) -> tuple[Target, ...]:
        """The targets in force."""
        return self._targets

    def watch(self, targets: Iterable[Target]) -> None:
        """Watch ``targets`` from now on (``Options`` alone calls this)."""
        self._targets = tuple(targets)


def parse_ip_addr(text: str) -> list[InterfaceAddress]:
    """Parse the JSON of ``ip -j -4 addr show``."""
    result: list[InterfaceAddress] = []
    try:
        links = json.loads(text or "[]")
    except json.JSONDecodeError as err:
        raise DiscoveryError(f"unexpected output from ip addr: {err}") from err
    for link in links:
        for info in link.get("addr_info", []):
            if info.get("family") != "inet":
                continue
            try:
                address = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            except (KeyError, ValueError):
                continue
            result.append(InterfaceAddress(str(link.get("ifname")), address))
    return result


def candidate_networks(addresses: list[InterfaceAddress]) -> list[InterfaceAddress]:
    """Addresses whose networks ``auto`` would watch: not loopback, link-local or huge."""
    return [
        a
        for a in addresses
        if not a.address.is_loopback
        and not a.address.is_link_local
        and a.address.network.prefixlen >= AUTO_MIN_PREFIX
        and a.address.network.prefixlen < 32
    ]


def resolve_targets(specs: tuple[str, ...], addresses: list[InterfaceAddress]) -> list[Target]:
    """Turn configured networks (CIDR, interface name, ``auto``) into sweep targets."""
    targets: dict[ipaddress.IPv4Network, Target] = {}
    for spec in specs:
        for target in _resolve_one(spec, addresses):
            targets.setdefault(target.network, target)
    return list(targets.values())


def too_many_addresses(networks: Iterable[ipaddress.IPv4Network]) -> str | None:
    """Why ``networks`` are too many to sweep (``MAX_SWEEP_ADDRESSES`` in all), or None."""
    swept = sum(network.num_addresses for network in networks)
    if swept <= MAX_SWEEP_ADDRESSES:
        return None
    return (
        f"{swept} addresses in all these networks, more than {MAX_SWEEP_ADDRESSES} "
        "(two /16): watch fewer or smaller networks"
    )


def _resolve_one(spec: str, addresses: list[InterfaceAddress]) -> list[Target]:
    if spec == "auto":
        return [_on_link(a) for a in candidate_networks(addresses)]
    if "/" not in spec:
        found = [_on_link(a) for a in addresses if a.interface == spec]
        if not found:
            raise DiscoveryError(f"interface {spec!r} has no IPv4 address")
        return found
    network = ipaddress.ip_network(spec, strict=False)
    if network.version != 4:
        _LOGGER.warning("IPv6 network %s is not swept yet; its hosts come from neighbours", spec)
        return []
    for local in addresses:
        if isinstance(network, ipaddress.IPv4Network) and network.subnet_of(local.address.network):
            return [Target(network, local.interface, str(local.address.ip))]
    assert isinstance(network, ipaddress.IPv4Network)
    return [Target(network, None, None)]


def _on_link(address: InterfaceAddress) -> Target:
    return Target(address.address.network, address.interface, str(address.address.ip))


def in_scope(ip: str | None, targets: Sequence[Target]) -> bool:
    """False for an IPv4 address outside every target: a device outside the configured
    networks (seen passively, by mDNS or SSDP) is none of this instance's business.
    Sightings without an IPv4 address (a DHCP request, IPv6 only) are in scope."""
    if not ip or ":" in ip:
        return True
    return any(target.contains(ip) for target in targets)
