"""Builds the components, starts them in a fixed order and stops them in reverse."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace
from typing import Any, Protocol

from . import __version__, commands
from .background import TaskSet
from .bridge import Bridge, RequestError
from .broker import EmbeddedBroker
from .config import RUNTIME_OPTIONS, Config, credentials_from
from .discovery.arp import ArpProber
from .discovery.link import Link
from .discovery.mdns import MdnsBrowser
from .discovery.networks import Target, local_addresses, resolve_targets, scoped
from .discovery.passive import PassiveListener
from .discovery.service import Discovery
from .discovery.sweep import Sweeper
from .errors import DiscoveryError
from .events import EventBus
from .health import Health
from .identify.dns import Identifier, ReverseResolver
from .identify.oui import default_database
from .identify.snmp import SnmpCredential, SnmpIdentifier
from .inventory.service import Inventory
from .inventory.store import Store
from .monitor.icmp import Pinger
from .monitor.service import Monitor, MonitorSettings
from .privileges import Privileges
from .privileges import check as check_privileges
from .publish.mqtt import MqttLink
from .publish.service import Publisher, PublisherSettings
from .publish.topics import Topics

_LOGGER = logging.getLogger(__name__)


class Component(Protocol):
    """The common lifecycle."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Service:
    """One netmon-mqtt instance."""

    def __init__(
        self, config: Config, targets: list[Target], privileges: Privileges | None = None
    ) -> None:
        self.config = config
        self.privileges = privileges or check_privileges()
        self.bus = EventBus()
        self.store = Store(config.database)
        d = config.discovery
        # One list shared by discovery, the scope filter and the ARP prober, so that an
        # ``options`` request changing the networks reaches all of them.
        self.targets = targets
        self._dns = ReverseResolver(d.dns_timeout) if d.use_dns else None
        self.snmp: SnmpIdentifier | None = None
        self._side = TaskSet()
        self.inventory = Inventory(
            self.store,
            self.bus,
            default_database() if d.use_oui else None,
            self._identifiers(config.snmp.credentials),
            history_days=config.history_days,
        )
        self.inventory.track_new_devices = config.track_new_devices
        self.link = Link()
        self.pinger = Pinger(batched=True)
        self.monitor = Monitor(
            self.bus,
            self.pinger,
            MonitorSettings(
                config.monitor_interval,
                config.ping_timeout,
                config.consider_home,
                config.metrics_interval,
                wake_probe=config.wake_probe,
                overrides=config.devices,
            ),
            arp_probe=(
                ArpProber(self.link, targets).probe
                if config.arp_probe and self.privileges.raw
                else None
            ),
        )
        self.broker = (
            EmbeddedBroker(config.embedded_broker) if config.uses_embedded_broker else None
        )
        mqtt = config.mqtt
        if self.broker is not None:
            mqtt = replace(mqtt, host=config.embedded_broker.host, port=config.embedded_broker.port)
        topics = Topics(config.mqtt.base_topic, config.mqtt.discovery_prefix, config.instance_id)
        self.publisher = Publisher(
            MqttLink(mqtt, f"netmon-{config.instance_id}", topics.bridge_state),
            topics,
            self.bus,
            self.inventory.devices,
            PublisherSettings(
                host=mqtt.host or config.embedded_broker.host,
                ha_status_topic=config.mqtt.ha_status_topic,
                birth_delay=config.mqtt.birth_delay,
                retained_wait=config.mqtt.retained_wait,
                version=__version__,
                bridge_facts={
                    "networks": [str(t.network) for t in targets],
                    "discovery_interval": config.discovery_interval,
                    "monitor_interval": config.monitor_interval,
                },
            ),
            handle_request=self._handle_request,
            on_config_deleted=self._config_deleted,
        )
        self.discovery = Discovery(
            Sweeper(
                d,
                self.link,
                Pinger() if self.privileges.icmp else None,
                config.ping_timeout,
                raw=self.privileges.raw,
            ),
            targets,
            self.inventory,
            self.bus,
            config.discovery_interval,
        )
        observe = scoped(self.inventory.observe, targets)
        on_link = sorted({t.interface for t in targets if t.interface})
        sources = sorted({t.source_ip for t in targets if t.source_ip})
        self.mdns = (
            _Optional(MdnsBrowser(sources, observe), "mDNS browsing")
            if d.use_mdns and sources
            else None
        )
        self.passive = (
            _Optional(
                PassiveListener(self.link, on_link, observe),
                "passive ARP/DHCP listening",
            )
            if d.passive and on_link and self.privileges.raw
            else None
        )
        self._started: list[Component] = []
        self._options: dict[str, Any] = {}
        self.health = Health(
            self.discovery, self.inventory, config.discovery_interval, self.publisher.set_health
        )
        self.bridge = Bridge(
            commands.build(
                commands.Components(
                    self.inventory,
                    self.discovery,
                    self.publisher.bridge_info,
                    self.health.snapshot,
                    lambda ip: self.pinger.ping(ip, config.ping_timeout),
                    self.publisher.republish_discovery,
                    self.publisher.recreate_discovery,
                    self.current_options,
                    self.set_options,
                )
            )
        )

    def current_options(self) -> dict[str, Any]:
        """The run-time options in force (saved ones over the configuration file); SNMP
        secrets are never shown, only what each credential applies to."""
        defaults = {
            **{k: getattr(self.config, k, None) for k in RUNTIME_OPTIONS},
            "networks": list(self.config.networks),
            "snmp_credentials": [],
        }
        current = {key: self._options.get(key, defaults[key]) for key in RUNTIME_OPTIONS}
        current["snmp_credentials"] = [_redacted(c) for c in current["snmp_credentials"] or ()]
        return current

    async def set_options(self, options: dict[str, Any], *, persist: bool = True) -> dict[str, Any]:
        """Apply run-time options to the running components; save them unless loading.

        Everything that can fail is checked first: a refused request changes nothing.
        """
        targets = await self._resolve(options["networks"]) if "networks" in options else None
        monitor_keys = {
            "monitor_interval": "interval",
            "ping_timeout": "timeout",
            "consider_home": "consider_home",
            "metrics_interval": "metrics_interval",
            "wake_probe": "wake_probe",
        }
        self.monitor.update_settings(
            **{monitor_keys[k]: v for k, v in options.items() if k in monitor_keys}
        )
        if "discovery_interval" in options:
            self.discovery.set_interval(options["discovery_interval"])
        if "history_days" in options:
            self.inventory.set_history_days(options["history_days"])
        if "track_new_devices" in options:
            self.inventory.track_new_devices = options["track_new_devices"]
        if "snmp_credentials" in options:
            credentials = credentials_from(options["snmp_credentials"])
            self.inventory.set_identifiers(
                self._identifiers(credentials + self.config.snmp.credentials)
            )
        if targets is not None:
            self._retarget(targets, sweep=persist)
        self.publisher.update_facts(
            {k: v for k, v in options.items() if k in ("discovery_interval", "monitor_interval")}
        )
        self._options.update(options)
        if persist and options:
            await self.store.save_settings(options)
            _LOGGER.info("Options changed: %s", _loggable(options))
        return self.current_options()

    async def _load_options(self) -> None:
        saved = {
            k: v for k, v in (await self.store.load_settings()).items() if k in RUNTIME_OPTIONS
        }
        if not saved:
            return
        _LOGGER.info("Applying saved options: %s", _loggable(saved))
        try:
            await self.set_options(saved, persist=False)
        except RequestError as err:  # the saved networks are gone from this machine
            _LOGGER.error(  # noqa: TRY400 (an expected condition, not a crash)
                "Saved networks not applied (%s); using the configuration file's", err
            )
            await self.set_options(
                {k: v for k, v in saved.items() if k != "networks"}, persist=False
            )

    async def _config_deleted(self, device_id: str) -> None:
        await self.inventory.update(device_id, ha_discovery=False)

    async def _handle_request(self, command: str, payload: str) -> dict[str, Any]:
        return await self.bridge.handle(command, payload)

    async def start(self) -> None:
        """Start every component in order; on failure stop what had started."""
        self.privileges.log_summary()
        order: list[Component | None] = [
            self.broker,
            _StoreComponent(self.store),
            _LinkComponent(self.link),
            self.inventory,
            self.publisher,
            self.monitor,
            self.passive,
            self.mdns,
            self.discovery,
            self.health,
        ]
        try:
            for component in order:
                if component is self.monitor:
                    for device in self.inventory.devices():
                        self.monitor.watch(device)
                if component is not None:
                    await component.start()
                    self._started.append(component)
                if isinstance(component, _StoreComponent):
                    # Saved options (networks too) apply before anything sweeps or probes.
                    await self._load_options()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop in reverse order; errors are logged, every component gets its stop."""
        while self._started:
            component = self._started.pop()
            try:
                await component.stop()
            except Exception:
                _LOGGER.exception("Error while stopping %s", type(component).__name__)
        await self._side.cancel()
        if self.snmp:
            self.snmp.close()

    def _identifiers(self, credentials: tuple[SnmpCredential, ...]) -> list[Identifier]:
        """Reverse DNS and SNMP as configured; SNMP only with credentials to try."""
        settings = self.config.snmp
        if self.snmp is not None:
            self.snmp.close()
        use_snmp = self.config.discovery.use_snmp and credentials
        self.snmp = (
            SnmpIdentifier(credentials, settings.timeout, settings.retries) if use_snmp else None
        )
        return [i for i in (self._dns, self.snmp) if i is not None]

    @staticmethod
    async def _resolve(networks: list[str]) -> list[Target]:
        try:
            return resolve_targets(tuple(networks), await local_addresses())
        except DiscoveryError as err:
            raise RequestError(f"networks: {err}") from err

    def _retarget(self, targets: list[Target], *, sweep: bool) -> None:
        """Watch other networks from now on (``options``); sweep them at once."""
        self.targets[:] = targets
        if self.privileges.raw:
            for interface in sorted({t.interface for t in targets if t.interface}):
                try:
                    self.link.open(interface)  # passive listening there too
                except DiscoveryError as err:
                    _LOGGER.warning("Cannot listen on %s: %s", interface, err)
        self.publisher.update_facts({"networks": [str(t.network) for t in targets]})
        if sweep:
            self._side.spawn(self.discovery.scan())


class _StoreComponent:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def start(self) -> None:
        await self._store.open()

    async def stop(self) -> None:
        await self._store.close()


class _LinkComponent:
    """Closes the shared link sockets last (opened lazily by sweeps and the listener)."""

    def __init__(self, link: Link) -> None:
        self._link = link

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._link.close()


class _Optional:
    """A component whose failure to start (missing privileges) is logged, not fatal."""

    def __init__(self, inner: Component, what: str) -> None:
        self._inner = inner
        self._what = what
        self._running = False

    async def start(self) -> None:
        try:
            await self._inner.start()
        except DiscoveryError as err:
            _LOGGER.warning("No %s: %s", self._what, err)
            return
        self._running = True

    async def stop(self) -> None:
        if self._running:
            await self._inner.stop()


async def run_until_signalled(service: Service) -> None:
    """Run until SIGINT or SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    _LOGGER.info("netmon-mqtt %s running", __version__)
    try:
        await stop.wait()
    finally:
        _LOGGER.info("Stopping")
        await service.stop()


def _loggable(options: dict[str, Any]) -> dict[str, Any]:
    """Options fit for a log line: SNMP secrets masked."""
    if "snmp_credentials" not in options:
        return options
    return {**options, "snmp_credentials": [_redacted(c) for c in options["snmp_credentials"]]}


def _redacted(credential: dict[str, Any]) -> dict[str, Any]:
    """A saved SNMP credential without its secrets."""
    secrets = {"community", "auth_key", "priv_key"}
    return {k: ("***" if k in secrets else v) for k, v in credential.items()}
