"""One device per phone, whatever its MAC: linking a new private MAC to a known device (pure).

Phones use private (locally administered) MACs and rotate them. A new private MAC is the
same device as a known one when what the device says about itself matches:
- the DHCP client identifier (option 61), when it does not simply repeat the new MAC;
- or the DHCP host name, parameter request list (option 55) and vendor class (option 60)
  together, the fingerprint DHCP servers and tools such as fingerbank use;
- or the mDNS host name (mDNS resolves conflicts, so two devices present at once never
  share one).
A match with more than one known device is ambiguous and links nothing; a MAC the user split
off a device (``device/unmerge``) is never linked to it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..macs import device_id_for, is_randomized
from ..models import Device, Observation

MAX_LINKS = 32  # linked MACs kept per device (a phone rotating daily): the newest


def bounded(linked: Mapping[str, str]) -> dict[str, str]:
    """The newest ``MAX_LINKS`` links (a mapping keeps the order they were made in)."""
    return dict(list(linked.items())[-MAX_LINKS:])


@dataclass(frozen=True)
class Fingerprint:
    """What a device says about itself, as far as linking goes."""

    client_id: str | None = None
    dhcp_hostname: str | None = None
    parameter_list: str | None = None
    vendor_class: str | None = None
    mdns_hostname: str | None = None

    @property
    def empty(self) -> bool:
        """True when there is nothing to match on."""
        return not (self.client_id or self.dhcp_hostname or self.mdns_hostname)


def of_device(device: Device) -> Fingerprint:
    """The fingerprint a known device left."""
    dhcp: Mapping[str, Any] = device.details.get("dhcp", {})
    return Fingerprint(
        client_id=_text(dhcp.get("client_id")),
        dhcp_hostname=device.names.get("dhcp"),
        parameter_list=_text(dhcp.get("parameter_list")),
        vendor_class=_text(dhcp.get("vendor_class")),
        mdns_hostname=device.names.get("mdns"),
    )


def of_observation(obs: Observation) -> Fingerprint:
    """The fingerprint in one sighting (DHCP or mDNS)."""
    facts = dict(obs.attributes)
    if obs.source == "dhcp":
        return Fingerprint(
            client_id=facts.get("client_id"),
            dhcp_hostname=obs.hostname,
            parameter_list=facts.get("parameter_list"),
            vendor_class=facts.get("vendor_class"),
        )
    if obs.source == "mdns":
        return Fingerprint(mdns_hostname=obs.hostname)
    return Fingerprint()


def _text(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _repeats_mac(client_id: str, mac: str) -> bool:
    """True for the common client id that is only the hardware type and the MAC."""
    return client_id.lower().endswith(mac.replace(":", "").lower())


def evidence(new: Fingerprint, new_mac: str, known: Fingerprint) -> str | None:
    """Why ``new`` (seen from ``new_mac``) is the device that left ``known``, or None."""
    if (
        new.client_id
        and new.client_id == known.client_id
        and not _repeats_mac(new.client_id, new_mac)
    ):
        return f"DHCP client id {new.client_id}"
    if (
        new.dhcp_hostname
        and new.parameter_list
        and (new.dhcp_hostname, new.parameter_list, new.vendor_class)
        == (known.dhcp_hostname, known.parameter_list, known.vendor_class)
    ):
        return f"DHCP host name {new.dhcp_hostname!r}, parameter list and vendor class"
    if new.mdns_hostname and new.mdns_hostname.casefold() == (known.mdns_hostname or "").casefold():
        return f"mDNS host name {new.mdns_hostname}"
    return None


def find(
    new: Fingerprint, new_mac: str, devices: Iterable[Device], exclude: str | None = None
) -> tuple[Device, str] | None:
    """The one known device a new private MAC belongs to, with the evidence; None when no
    device, or more than one, matches."""
    if not is_randomized(new_mac) or new.empty:
        return None
    matches = [
        (device, why)
        for device in devices
        if device.id != exclude
        and device.mac != new_mac
        and new_mac not in device.unlinked
        and (why := evidence(new, new_mac, of_device(device))) is not None
    ]
    return matches[0] if len(matches) == 1 else None


def id_for(obs: Observation, aliases: Mapping[str, str], devices: Iterable[Device]) -> str | None:
    """The id of the device a sighting is about (known or new); None for one with neither
    MAC nor address. A linked MAC is its device's; a MAC-less sighting of an address known by
    MAC belongs to that device (the one seen last, when a device on a new MAC took over the
    address)."""
    if obs.mac is not None and obs.mac in aliases:
        return aliases[obs.mac]
    if obs.mac is None and obs.ip is not None:
        holders = [d for d in devices if d.ip == obs.ip and d.mac]
        if holders:
            return max(holders, key=lambda d: d.last_seen).id
    if obs.mac is None and obs.ip is None:
        return None
    return device_id_for(obs.mac, obs.ip)
