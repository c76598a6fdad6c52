"""From packets to the inventory: discovery and identification, as the service runs them and
as ``netmon-mqtt scan`` runs them in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .background import Supervisor
from .clock import Clock, LoopClock
from .config import Config, SnmpConfig
from .discovery.arp import ArpProber
from .discovery.check import ProofCheck
from .discovery.link import Link
from .discovery.networks import WatchedNetworks
from .discovery.passive import PassiveListener
from .discovery.service import Discovery
from .discovery.sweep import Sweeper
from .events import EventBus
from .identify.dns import Identifier, ReverseResolver
from .identify.netbios import NETBIOS_TIMEOUT, NetbiosIdentifier
from .identify.oui import default_database
from .identify.snmp import SnmpIdentifier
from .identify.snmp_client import SnmpClient
from .identify.snmp_credentials import Keyring
from .identify.snmp_reader import SnmpReader
from .inventory.admission import Admission
from .inventory.enrichment import Enrichment
from .inventory.history import History
from .inventory.retention import Retention
from .inventory.service import Inventory
from .inventory.store import Store
from .monitor.icmp import Pinger
from .options import from_config
from .privileges import Privileges
from .privileges import check as check_privileges

if TYPE_CHECKING:
    from .discovery.mdns import MdnsBrowser


class Component(Protocol):
    """The common lifecycle."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Boundary:
    """What touches the world below MQTT: link-layer sockets, the monitor's pinger, the
    sweeps' pinger (one of their own by default), what the process may open, and the clock
    (tests replace them: a fake link and pinger, a virtual clock)."""

    privileges: Privileges = field(default_factory=check_privileges)
    link: Link = field(default_factory=Link)
    pinger: Pinger = field(default_factory=lambda: Pinger(batched=True))
    sweep_pinger: Pinger | None = None
    clock: Clock = field(default_factory=LoopClock)


@dataclass(frozen=True)
class Snmp:
    """SNMP's parts around one client and one keyring: the identifier (for the inventory)
    and the reader (for the bandwidth and topology pollers). The client holds pysnmp's
    engines; ``Pipeline.storage()`` starts and stops it, nothing else does."""

    client: SnmpClient
    identifier: SnmpIdentifier
    reader: SnmpReader

    @classmethod
    def build(cls, settings: SnmpConfig, bus: EventBus, clock: Clock) -> Snmp:
        """The parts for ``settings`` (credentials, timeout, retries)."""
        client = SnmpClient(settings.timeout, settings.retries)
        keyring = Keyring(settings.credentials, bus)
        reader = SnmpReader(client, keyring, bus, clock)
        return cls(client, SnmpIdentifier(client, keyring, clock), reader)


class Pipeline:
    """Sweeps, passive listening and mDNS feeding the inventory, which classifies devices
    (and names their vendor); enrichment identifies them (reverse DNS, NetBIOS, SNMP),
    history and retention write and let go of what the inventory holds."""

    def __init__(
        self,
        config: Config,
        networks: WatchedNetworks,
        bus: EventBus,
        store: Store,
        edge: Boundary,
        *,
        loops: Supervisor | None = None,
    ) -> None:
        self.loops = loops = loops or Supervisor(edge.clock)
        clock = loops.clock
        d = config.discovery
        self.store = store
        self.link = link = edge.link
        privileges = edge.privileges
        sweep_pinger = edge.sweep_pinger or (Pinger(clock=clock) if privileges.icmp else None)
        self.snmp = Snmp.build(config.snmp, bus, clock) if d.use_snmp else None
        identifiers: list[Identifier] = (
            [ReverseResolver(d.dns_timeout, clock=clock)] if d.use_dns else []
        )
        identifiers += [NetbiosIdentifier(NETBIOS_TIMEOUT, clock=clock)] if d.use_netbios else []
        identifiers += [self.snmp.identifier] if self.snmp else []
        options = from_config(config)
        oui = default_database() if d.use_oui else None
        # Single ARP requests: the monitor's fallback, and the check of a new MAC.
        self.arp = ArpProber(link, networks, clock) if privileges.raw else None
        check = ProofCheck(networks, clock, self.arp, edge.pinger if privileges.icmp else None)
        admission = Admission(
            clock, config.flood_threshold, config.max_devices, check, check.reaches
        )
        self.inventory = inventory = Inventory(
            store,
            bus,
            oui,
            scope=networks,
            options=options,
            clock=clock,
            admission=admission,
            types=config.device_types,
        )
        self.enrichment = Enrichment(inventory, bus, identifiers, clock=clock)
        self.history = History(store, bus, options, clock=clock)
        self.retention = Retention(inventory, self.history, bus, options, loops=loops)
        sweeper = Sweeper(
            d, link, sweep_pinger, config.ping_timeout, raw=privileges.raw, clock=clock
        )
        self.discovery = Discovery(
            sweeper,
            networks,
            inventory,
            bus,
            config.discovery_interval,
            identities=self.enrichment,
            loops=loops,
        )
        observe = self.inventory.observe
        self.mdns: MdnsBrowser | None = None
        if d.use_mdns:
            from .discovery.mdns import MdnsBrowser  # zeroconf is slow to import

            raw_link = link if privileges.raw else None
            self.mdns = MdnsBrowser(networks, observe, bus, clock, link=raw_link, loops=loops)
        passive = d.passive and privileges.raw
        self.passive = (
            PassiveListener(link, networks, observe, bus, loops=loops) if passive else None
        )

    def rooms(self) -> list[Component | None]:
        """The inventory, then what works on it: the periodic flush and forgetting, and
        identification (stopped first, so nothing is merged after the last flush)."""
        return [self.inventory, self.retention, self.enrichment]

    def listeners(self) -> list[Component | None]:
        """What listens while sweeps run: passive ARP/DHCP, mDNS."""
        return [self.passive, self.mdns]

    def storage(self) -> list[Component | None]:
        """The database, the link sockets and SNMP's client (closed last, in this order)."""
        snmp = self.snmp.client if self.snmp else None
        return [_StoreComponent(self.store), _LinkComponent(self.link), snmp]


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
