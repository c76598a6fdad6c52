"""Run-time options: the one owner of their current values, validation and persistence.

The configuration file gives the starting values; an ``options`` request changes them at
run time and they are saved in the database, so they survive restarts (saved values are
applied before anything sweeps or probes). Every change is announced as ``OptionsChanged``
and each component applies what concerns it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Final

import voluptuous as vol

from .config import Config, RuntimeOptions
from .discovery.networks import (
    Target,
    WatchedNetworks,
    local_addresses,
    resolve_targets,
    too_many_addresses,
)
from .errors import DiscoveryError, NetmonError
from .events import EventBus, OptionsChanged
from .inventory.store import Store
from .schema import MIN_IPV4_PREFIX
from .settings import declared, frozen, request_schema
from .validators import SECRET_KEYS

_LOGGER = logging.getLogger(__name__)

Resolver = Callable[[tuple[str, ...]], Awaitable[list[Target]]]


class OptionsError(NetmonError):
    """Options that cannot be applied (networks that do not resolve here)."""


async def resolve_networks(networks: tuple[str, ...]) -> list[Target]:
    """The targets of ``networks`` on this machine; ``OptionsError`` when they do not resolve."""
    try:
        targets = resolve_targets(networks, await local_addresses())
    except DiscoveryError as err:
        raise OptionsError(f"networks: {err}") from err
    if not targets:
        raise OptionsError("networks: no IPv4 network to watch in these entries")
    return targets


class Confinement:
    """Which networks the ``options`` request may set (over MQTT, anyone on the broker):
    none larger than ``/MIN_IPV4_PREFIX``, and each inside a network of the configuration
    file or inside ``allowed_networks`` (none by default: a request narrows what the file
    watches, it does not reach VPN or container networks the file does not name)."""

    def __init__(self, allowed: tuple[str, ...], configured: list[Target]) -> None:
        self._allowed = [ipaddress.ip_network(a) for a in allowed]
        self._allowed += [t.network for t in configured]
        self._shown = ", ".join([*(str(t.network) for t in configured), *allowed])

    def check(self, targets: list[Target]) -> None:
        """``OptionsError`` naming the first target that is too large or not allowed, or
        saying they are too many together."""
        for target in targets:
            network = target.network
            where = f"{network} (on {target.interface})" if target.interface else str(network)
            if network.prefixlen < MIN_IPV4_PREFIX:
                raise OptionsError(
                    f"networks: {where} is larger than /{MIN_IPV4_PREFIX}; "
                    "watch a part of it, or set it in the configuration file"
                )
            if not any(_inside(network, allowed) for allowed in self._allowed):
                raise OptionsError(
                    f"networks: {where} is outside the networks a request may watch "
                    f"({self._shown}); add it to allowed_networks in the configuration file"
                )
        too_many = too_many_addresses(t.network for t in targets)
        if too_many:
            raise OptionsError(f"networks: {too_many}")


def _inside(
    network: ipaddress.IPv4Network, allowed: ipaddress.IPv4Network | ipaddress.IPv6Network
) -> bool:
    return isinstance(allowed, ipaddress.IPv4Network) and network.subnet_of(allowed)


# Every run-time option by name (those ``RuntimeOptions`` declares), and the schema of
# the ``options`` request derived from them.
DECLARED: Final = declared(RuntimeOptions)
REQUEST: Final = request_schema(RuntimeOptions)


def from_config(config: Config) -> RuntimeOptions:
    """The options as the configuration file sets them."""
    return RuntimeOptions(**{name: getattr(config, name) for name in DECLARED})


def shown(options: RuntimeOptions) -> dict[str, Any]:
    """Options as responses show them: lists, secrets masked."""
    return {name: _shown(getattr(options, name)) for name in DECLARED}


def _shown(value: Any) -> Any:
    """A value fit for a response or a log line: every secret masked, at any depth."""
    if isinstance(value, list | tuple):
        return [_shown(item) for item in value]
    if isinstance(value, Mapping):
        return {k: ("***" if k in SECRET_KEYS else _shown(v)) for k, v in value.items()}
    return value


class Options:
    """The run-time options in force and the networks they resolve to."""

    def __init__(
        self,
        config: Config,
        targets: list[Target],
        store: Store,
        bus: EventBus,
        resolve: Resolver = resolve_networks,
    ) -> None:
        self._store = store
        self._bus = bus
        self._resolve = resolve
        self._confinement = Confinement(config.allowed_networks, targets)
        self.current = from_config(config)
        self.networks = WatchedNetworks(targets)  # what components read; changed here only

    @property
    def targets(self) -> tuple[Target, ...]:
        """The targets of the networks watched now."""
        return self.networks.targets

    async def start(self) -> None:
        """Apply the saved options (the store is open by now)."""
        saved = _valid(await self._store.load_settings())
        if not saved:
            return
        _LOGGER.info("Applying saved options: %s", _loggable(saved))
        try:
            await self.update(saved, persist=False)
        except OptionsError as err:  # the saved networks are gone from this machine
            _LOGGER.error(  # noqa: TRY400 (an expected condition, not a crash)
                "Saved networks not applied (%s); using the configuration file's", err
            )
            saved.pop("networks")
            await self.update(saved, persist=False)

    async def stop(self) -> None:
        """Nothing to release."""

    async def update(self, changes: Mapping[str, Any], *, persist: bool = True) -> RuntimeOptions:
        """Apply validated ``changes``; save them unless loading. Everything that can fail
        is checked first: a refused change changes nothing."""
        values = {k: frozen(v) for k, v in changes.items()}
        targets = self.targets
        if "networks" in values:
            resolved = await self._resolve(values["networks"])
            self._confinement.check(resolved)
            targets = tuple(resolved)
        if persist and changes:
            await self._store.save_settings(dict(changes))
            _LOGGER.info("Options changed: %s", _loggable(changes))
        self.current = replace(self.current, **values)
        self.networks.watch(targets)
        await self._bus.emit(OptionsChanged(self.current, frozenset(values)))
        return self.current


def _valid(saved: Mapping[str, Any]) -> dict[str, Any]:
    """Saved options that still pass validation; others are dropped with a warning."""
    valid: dict[str, Any] = {}
    for key, value in saved.items():
        if key not in DECLARED:
            continue
        try:
            valid[key] = DECLARED[key].request(value)
        except vol.Invalid as err:
            _LOGGER.warning("Ignoring the saved option %s: %s", key, err.msg)
    return valid


def _loggable(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options fit for a log line: secrets masked."""
    return {key: _shown(value) for key, value in options.items()}
