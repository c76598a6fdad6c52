"""Builds the components, starts them in a fixed order and stops them in reverse."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from . import __version__, startup
from .alerts.service import Alerts
from .background import Supervisor
from .bridge import Bridge, RequestLimit
from .broker import EmbeddedBroker
from .clock import Clock
from .commands import Commands
from .config import Config
from .discovery.networks import Target
from .events import EventBus
from .inventory.store import Store
from .mesh.watcher import MeshWatcher
from .models import Device
from .monitor.bandwidth import BandwidthPoller
from .monitor.service import Monitor, MonitorSettings
from .options import Options
from .pipeline import Boundary, Component, Pipeline
from .publish.homeassistant import HomeAssistantDiscovery, HomeAssistantSettings
from .publish.link import MqttLink
from .publish.publisher import Publisher
from .publish.topics import Topics
from .sealing import Sealing, key_path
from .status import HealthReporter, Status
from .topology.service import TopologyPoller

_LOGGER = logging.getLogger(__name__)


class Service:
    """One netmon-mqtt instance."""

    def __init__(
        self, config: Config, targets: list[Target], boundary: Boundary | None = None
    ) -> None:
        edge = boundary or Boundary()
        self.clock = clock = edge.clock
        self.loops = loops = Supervisor(clock)
        self.privileges = edge.privileges
        self._summary = startup.summary(config, targets, edge.privileges, __version__)
        bus = EventBus()
        store = Store(config.database)
        self.options = Options(config, targets, store, bus)
        self.sealing = Sealing(key_path(config.database))
        networks = self.options.networks
        self.pipeline = p = Pipeline(config, networks, bus, store, edge, loops=loops)
        self.inventory = p.inventory
        self.retention = p.retention
        arp = p.arp if config.arp_probe else None
        self.monitor = Monitor(
            bus,
            edge.pinger,
            MonitorSettings.from_config(config),
            p.inventory,
            arp_probe=arp.probe if arp else None,
            loops=loops,
        )
        interval = config.snmp.interfaces_interval
        self.bandwidth = (
            BandwidthPoller(bus, p.inventory, p.snmp.reader, interval, loops=loops)
            if p.snmp and interval
            else None
        )
        snmp = config.snmp
        self.topology = (
            TopologyPoller(
                bus,
                p.inventory,
                p.snmp.reader,
                snmp.topology_interval,
                uplink_macs=snmp.uplink_macs,
                networks=networks,
                loops=loops,
            )
            if p.snmp and snmp.topology_interval
            else None
        )
        self.broker = (
            EmbeddedBroker(config.embedded_broker, config.mqtt.base_topic)
            if config.uses_embedded_broker
            else None
        )
        m = config.mqtt
        topics = Topics(m.base_topic, m.discovery_prefix, config.instance_id, m.bridge_topic)
        self.mqtt = self._link(config, topics, clock)
        limit = RequestLimit(clock=clock)
        self.mesh = MeshWatcher(
            self.mqtt, topics, bus, m.probes_topic, m.retained_wait, clock=clock
        )
        self.status = Status(
            __version__,
            topics,
            p.inventory,
            p.discovery,
            self.options,
            database=p.retention,
            loops=loops,
            limit=limit,
            crowding=p.inventory.admission.health,
            sealing=self.sealing,
            probes_gone=self.mesh.gone,
        )
        publisher = Publisher(self.mqtt, topics, bus, p.inventory, self.status.info, clock=clock)
        self.home_assistant = HomeAssistantDiscovery(
            self.mqtt,
            topics,
            bus,
            p.inventory,
            HomeAssistantSettings(
                m.ha_status_topic, m.birth_delay, __version__, wait_for_probes=True
            ),
            clock=clock,
        )
        commands = Commands(
            p.inventory,
            p.discovery,
            self.options,
            self.status,
            self.home_assistant,
            pinger=edge.pinger,
            monitor=self.monitor,
            history=p.history,
            clock=clock,
            sealing=self.sealing,
        )
        self.bridge = Bridge(self.mqtt, topics, commands.table(), limit)
        self._order: list[Component | None] = [
            self.broker,
            *p.storage(),
            self.options,  # saved options apply before anything sweeps or probes
            self.sealing,
            *p.rooms(),
            publisher,
            self._alerts(config, bus, loops, p.inventory.get, clock),
            self.home_assistant,
            self.mesh,
            self.mqtt,
            self.bridge,
            self.monitor,
            self.bandwidth,
            self.topology,
            *p.listeners(),
            p.discovery,
            HealthReporter(self.status, bus, loops),
        ]
        self._started: list[Component] = []

    @staticmethod
    def _alerts(
        config: Config,
        bus: EventBus,
        loops: Supervisor,
        devices: Callable[[str], Device | None],
        clock: Clock,
    ) -> Alerts | None:
        """Notifications without Home Assistant, where the file names targets."""
        if not config.alerts.targets:
            return None
        return Alerts(config.alerts, bus, loops, devices, clock=clock)

    @staticmethod
    def _link(config: Config, topics: Topics, clock: Clock) -> MqttLink:
        """The connection to the configured broker, or to the embedded one."""
        mqtt = config.client_mqtt
        host = mqtt.host or config.embedded_broker.host
        return MqttLink(mqtt, host, f"netmon-{config.instance_id}", topics.bridge_state, clock)

    async def start(self) -> None:
        """Start every component in order; on failure stop what had started."""
        for line in self._summary:
            _LOGGER.info("%s", line)
        self.privileges.log_summary()
        try:
            for component in self._order:
                if component is not None:
                    await component.start()
                    self._started.append(component)
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
