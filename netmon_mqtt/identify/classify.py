"""A device type guess from the evidence, with the evidence and a confidence kept (pure).

Types are those of ``taxonomy.py``; what each kind of evidence says is in ``signs.py``.
Each piece of evidence votes for a type with a weight: what the device says of itself
(advertised services, DHCP vendor class, the model it announces, SNMP sysDescr, the MIBs its
agent implements) is strong; the maker its agent's sysObjectID names and its DHCP parameter
list are fair; its MAC's vendor, the layers its agent serves and a randomized MAC are weak;
"Linux", HOST-RESOURCES-MIB and a NetBIOS name only hint. The guess is None when nothing
points anywhere. A type the owner set (``device/options``) is kept whatever the evidence
says.

The confidence (0-100) is how much of the evidence agrees, scaled down while the winner has
less than one strong piece: one strong piece alone is 100, a vendor alone 33.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..macs import is_randomized
from ..models import Device
from . import signs
from .taxonomy import TYPES

OWNER = "owner"  # details the owner set: {"device_type": ...}

STRONG = 6
FAIR = 3
WEAK = 2
HINT = 1  # less than any vendor: "Linux" runs on routers, radios, NAS and cameras too
_MODEL_SOURCES = ("mdns", "ssdp", "snmp")


@dataclass(frozen=True)
class Guess:
    """A type with the evidence for it and how sure the guess is (0-100)."""

    kind: str | None
    evidence: tuple[str, ...] = ()
    confidence: int | None = None


class _Votes:
    def __init__(self) -> None:
        self.by_kind: dict[str, list[tuple[int, str]]] = defaultdict(list)

    def __call__(self, kind: str | None, weight: int, why: str) -> None:
        if kind:
            self.by_kind[kind].append((weight, why))

    def guess(self) -> Guess:
        if not self.by_kind:
            return Guess(None)
        scores = {kind: sum(w for w, _ in votes) for kind, votes in self.by_kind.items()}
        strongest = {kind: max(w for w, _ in votes) for kind, votes in self.by_kind.items()}
        kind = max(scores, key=lambda k: (scores[k], strongest[k]))  # then the first voted
        share = scores[kind] / sum(scores.values())
        confidence = round(100 * share * min(1.0, scores[kind] / STRONG))
        return Guess(kind, tuple(why for _, why in self.by_kind[kind]), confidence)


def classify(device: Device) -> Guess:
    """The most supported type, its evidence and confidence; the owner's choice wins."""
    chosen = device.details.get(OWNER, {}).get("device_type")
    if chosen in TYPES:
        return Guess(str(chosen), ("set by the owner",), 100)
    vote = _Votes()
    for source, facts in device.details.items():
        for service in facts.get("services", ()):
            vote(signs.match(signs.SERVICES, str(service)), STRONG, f"{source} service {service}")
    for source in _MODEL_SOURCES:
        facts = device.details.get(source, {})
        if facts.get("model"):
            model = str(facts["model"])
            vote(signs.match(signs.MODELS, model), STRONG, f"{source} model {model}")
        if source != "snmp" and facts.get("manufacturer"):
            maker = str(facts["manufacturer"])
            vote(signs.match(signs.VENDORS, maker), WEAK, f"{source} manufacturer {maker}")
    _dhcp(device, vote)
    _snmp(device.details.get("snmp", {}), vote)
    if device.names.get("netbios"):
        vote("computer", HINT, "answers NetBIOS")
    if device.vendor:
        vote(signs.match(signs.VENDORS, device.vendor), WEAK, f"vendor {device.vendor}")
    if device.mac and is_randomized(device.mac):
        vote("phone", WEAK, "randomized MAC (privacy address, typical of phones)")
    return vote.guess()


def _dhcp(device: Device, vote: _Votes) -> None:
    dhcp = device.details.get("dhcp", {})
    if dhcp.get("vendor_class"):
        vendor_class = str(dhcp["vendor_class"])
        vote(
            signs.match(signs.DHCP_CLASS, vendor_class), STRONG, f"DHCP vendor class {vendor_class}"
        )
    known = signs.parameter_list_kind(str(dhcp.get("parameter_list", "")))
    if known:
        vote(known[0], FAIR, f"DHCP parameter list of {known[1]}")


def _snmp(snmp: Mapping[str, Any], vote: _Votes) -> None:
    descr = str(snmp.get("sysDescr") or "")
    if descr:
        why = f"SNMP sysDescr {descr[:60]}"
        kind = signs.match(signs.SNMP_DESCR, descr)
        vote(kind, STRONG, why)
        if kind is None and re.search(signs.SNMP_LINUX, descr):
            vote("computer", HINT, why)
    maker = snmp.get("manufacturer")
    if maker:
        vote(signs.match(signs.MAKERS, str(maker)), FAIR, f"SNMP agent made by {maker}")
    answered = str(snmp.get("mibs") or "").split(",")
    for mib in answered:
        vote(signs.MIBS.get(mib), STRONG, f"SNMP agent implements {mib}")
    if "HOST-RESOURCES-MIB" in answered:
        vote("computer", HINT, "SNMP agent implements HOST-RESOURCES-MIB")
    kind, why = _layers(snmp.get("sysServices"))
    if "BRIDGE-MIB" in answered and kind in (None, "switch"):
        kind, why = "switch", "SNMP agent implements BRIDGE-MIB"  # a bridge, counted once
    vote(kind, HINT if kind == "computer" else WEAK, why)


def _layers(value: object) -> tuple[str | None, str]:
    """sysServices: a bridge that serves no applications is a switch, a router that forwards
    and serves none a router, an agent serving only applications a host."""
    try:
        layers = int(str(value))
    except ValueError:
        return None, ""
    why = f"SNMP sysServices {layers}"
    if layers & signs.LAYER7:
        forwards = layers & (signs.LAYER2 | signs.LAYER3)
        return (None if forwards else "computer"), why
    if layers & signs.LAYER2:
        return "switch", why
    return ("router" if layers & signs.LAYER3 else None), why
