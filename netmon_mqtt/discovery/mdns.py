"""mDNS / DNS-SD browsing (python-zeroconf): every advertised service type, its instances,
host names and TXT facts such as the model.

mDNS records are names, not liveness: a host whose link drops keeps its records until their
TTL runs out, so sightings here feed identification, and count as presence evidence only
when they arrive (an announcement is a packet the device just sent).

And an answer can name any address: a service instance counts for the host at an address
only when that host sent the instance's records itself (``senders.py``: the raw link reads
who sent each mDNS response), and then it is that sender's MAC. Without raw sockets nobody
can tell, and mDNS answers only name devices already known by that address, never counting
as presence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import datetime

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from ..background import Supervisor, TaskSet
from ..clock import SYSTEM, Clock
from ..events import EventBus, OptionsChanged
from ..models import Observation
from ..text import plain
from .dns_wire import response_names
from .link import Link
from .networks import Target, WatchedNetworks
from .packets import MDNS_PORT
from .senders import Senders

_LOGGER = logging.getLogger(__name__)
TYPE_ENUMERATION = "_services._dns-sd._udp.local."
SERVICE_TYPE = re.compile(r"_[a-z0-9][a-z0-9-]{0,62}\._(tcp|udp)\.local\.", re.IGNORECASE)
ENUMERATE_EVERY = 60.0  # seconds between fresh queries for the service types
_RESOLVE_TIMEOUT_MS = 3000
_MAX_TYPES = 256
_TXT_FACTS = {  # keys compared in lower case (RFC 6763: TXT keys are case-insensitive)
    "md": "model",  # Google Cast
    "model": "model",  # _device-info, AirPlay ("MacBookPro18,3", "AppleTV6,2")
    "am": "model",  # RAOP (AirPlay audio)
    "rpmd": "model",  # Apple's companion link
    "ty": "model",  # printers (IPP, LPD): make and model
    "usb_mdl": "model",
    "fn": "friendly_name",
    "manufacturer": "manufacturer",
    "usb_mfg": "manufacturer",
}

# A trailing "[aa:bb:cc:dd:ee:ff]" (avahi's workstation names); ids of 12+ hex digits or UUIDs.
_BRACKETED = re.compile(r"\s*\[[^\]]*\]\s*$")
_GENERATED = re.compile(r"[0-9a-fA-F]{12,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-")

Observe = Callable[[Observation], Awaitable[None]]


def _text(value: bytes | None) -> str | None:
    return plain(value) if value else None


def friendly_instance(instance: str, host: str) -> str | None:
    """An instance name a person chose ("Kitchen Speaker"), or None for generated ones: the
    host name again ("h4", "h4 [aa:bb:...]" for workstations) or an id ("Chromecast-3f2a...")."""
    name = _BRACKETED.sub("", instance).strip()
    if not name or name.startswith("_") or name.casefold() == host.casefold():
        return None
    return None if _GENERATED.search(name) else name


def service_observations(
    info: AsyncServiceInfo, service_type: str, now: datetime
) -> list[Observation]:
    """One observation per IPv4 address of a resolved service instance."""
    host = (info.server or "").rstrip(".")
    host = host[: -len(".local")] if host.endswith(".local") else host
    instance = (
        info.name[: -len(service_type) - 1] if info.name.endswith(service_type) else info.name
    )
    attributes: dict[str, str] = {"instance": instance[:200]}
    for key, value in (info.properties or {}).items():
        name = _TXT_FACTS.get(
            (key.decode("utf-8", errors="replace") if isinstance(key, bytes) else str(key)).lower()
        )
        text = _text(value) if isinstance(value, bytes) else None
        if name and text:
            attributes.setdefault(name, text)
    friendly = friendly_instance(instance, host)
    if friendly:
        attributes.setdefault("friendly_name", friendly[:200])
    return [
        Observation(
            ip=address,
            source="mdns",
            seen_at=now,
            hostname=host or None,
            services=(service_type,),
            attributes=tuple(sorted(attributes.items())),
        )
        for address in info.parsed_addresses(IPVersion.V4Only)
    ]


def source_addresses(targets: Iterable[Target]) -> list[str]:
    """This machine's addresses on the on-link networks among ``targets``."""
    return sorted({t.source_ip for t in targets if t.interface and t.source_ip})


class MdnsBrowser:
    """Browses every service type on this machine's addresses in the watched networks, and
    follows the networks an ``options`` request changes."""

    def __init__(
        self,
        networks: WatchedNetworks,
        observe: Observe,
        bus: EventBus,
        clock: Clock = SYSTEM,
        *,
        link: Link | None = None,
        loops: Supervisor | None = None,
    ) -> None:
        self._clock = clock
        self._link = link
        self._senders = Senders(clock, MDNS_PORT, self._names) if link else None
        loops = loops or Supervisor(clock)
        self._types = loops.loop(
            "mdns-types", self._enumerate_again, every=ENUMERATE_EVERY, first=ENUMERATE_EVERY
        )
        self._networks = networks
        self._addresses: list[str] = []  # browsed on, once started
        self._observe = observe
        self._running = False
        self._zeroconf: AsyncZeroconf | None = None
        self._browsers: dict[str, AsyncServiceBrowser] = {}
        self._tasks = TaskSet()
        bus.subscribe(OptionsChanged, self._on_options)

    @property
    def addresses(self) -> list[str]:
        """The local addresses browsed on (once started)."""
        return list(self._addresses) if self._zeroconf else []

    async def start(self) -> None:
        """Open the multicast sockets and start browsing (when a watched network is on-link);
        sockets that cannot open are logged, not fatal."""
        self._running = True
        self._addresses = source_addresses(self._networks.targets)
        if not self._addresses:
            _LOGGER.info("No mDNS browsing: no watched network is on-link")
            return
        try:
            self._zeroconf = AsyncZeroconf(interfaces=self._addresses, ip_version=IPVersion.V4Only)
        except OSError as err:
            _LOGGER.warning("No mDNS browsing: cannot open mDNS sockets: %s", err)
            return
        self._browse(TYPE_ENUMERATION)
        self._listen_to_senders()
        await self._types.start()
        _LOGGER.info("Browsing mDNS services on %s", ", ".join(self._addresses))

    def _listen_to_senders(self) -> None:
        if self._link is None or self._senders is None:
            return
        interfaces = (t.interface for t in self._networks.targets if t.interface)
        for error in self._senders.listen(self._link, interfaces):
            _LOGGER.warning("Cannot read who sends mDNS on %s", error)

    async def _on_options(self, event: OptionsChanged) -> None:
        if not self._running or source_addresses(self._networks.targets) == self._addresses:
            return
        await self._close()
        await self.start()

    async def stop(self) -> None:
        """Stop browsing and close the sockets."""
        self._running = False
        await self._close()

    async def _close(self) -> None:
        await self._types.stop()
        await self._tasks.cancel()
        for browser in self._browsers.values():
            await browser.async_cancel()
        self._browsers.clear()
        if self._zeroconf:
            await self._zeroconf.async_close()
            self._zeroconf = None

    def _names(self, payload: bytes) -> list[str]:
        """The names of an mDNS response from the raw link; a service type among them that
        is new is browsed at once (a device announcing a type nobody had at start)."""
        names = response_names(payload)
        for name in names:
            if SERVICE_TYPE.fullmatch(name):
                self._browse(name.lower())  # (once: a type browsed already is left alone)
        return names

    async def _enumerate_again(self) -> None:
        """Ask for the service types again: the browser's own queries back off towards an
        hour, and a type that appears later (without raw sockets to hear it) waits for it."""
        browser = self._browsers.pop(TYPE_ENUMERATION, None)
        if browser is not None:
            await browser.async_cancel()
        if self._zeroconf is not None:
            self._browse(TYPE_ENUMERATION)

    def _browse(self, service_type: str) -> None:
        if self._zeroconf is None:
            return
        if service_type in self._browsers or len(self._browsers) >= _MAX_TYPES:
            return
        self._browsers[service_type] = AsyncServiceBrowser(
            self._zeroconf.zeroconf, service_type, handlers=[self._on_change]
        )

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            return
        if service_type == TYPE_ENUMERATION:
            if name.endswith(".local.") and name.startswith("_"):
                self._browse(name.lower())
            return
        self._tasks.spawn(self._resolve(service_type, name))

    async def _resolve(self, service_type: str, name: str) -> None:
        assert self._zeroconf is not None
        info = AsyncServiceInfo(service_type, name)
        try:
            if not await info.async_request(self._zeroconf.zeroconf, _RESOLVE_TIMEOUT_MS):
                _LOGGER.debug("mDNS service %s did not resolve", name)
                return
            for obs in service_observations(info, service_type, self._clock.now()):
                attributed = self._attributed(obs, name)
                if attributed is not None:
                    await self._observe(attributed)
        except Exception as err:  # a malformed record must never stop browsing
            _LOGGER.debug("Ignoring mDNS service %s: %s", name, err)

    def _attributed(self, obs: Observation, instance: str) -> Observation | None:
        """The sighting as its sender vouches for it: from that sender's MAC, as presence
        only when just sent; None when the address never sent the instance's records."""
        if self._senders is None:  # no raw link: names for the address, not presence
            return replace(obs, confirmed=False)
        assert obs.ip is not None
        vouched = self._senders.vouch(obs.ip, instance)
        if vouched is None:
            _LOGGER.debug("Ignoring mDNS %s for %s: not announced from there", instance, obs.ip)
            return None
        return replace(obs, mac=vouched.mac, confirmed=vouched.fresh)
