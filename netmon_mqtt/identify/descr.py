"""Model, software version, serial number and hardware revision as a sysDescr tells them
(pure): for agents whose ENTITY-MIB says nothing (``entity.py`` comes first).

Vendors write sysDescr in their own ways; these are the common ones:
- keys: "MN:AP7902B HR:B2 SN: 5A1551..." (APC), "(MODEL: Aruba7010)", "(SN 1112...)";
- "... running on an Arista Networks DCS-7150S-52-CL";
- a model right after the company: "Juniper Networks, Inc. mx960 internet router";
- a word with letters, digits and a hyphen: "DES-3200-18 Fast Ethernet Switch",
  "Topsec NGFW4000-UF(...)", else one in brackets: "Routing Switch(S5750-24GT/12SFP)";
- a version after "Version", "PF:", "fw:", "JUNOS".
A general-purpose system ("Linux host 5.10 ...", "Hardware: x86 ... Software: Windows")
names a host and a kernel, never a model.
"""

from __future__ import annotations

import re

from ..text import meaningful

_MAX_TEXT = 64
_HOST_SYSTEM = re.compile(r"^\s*(Linux|Hardware:|Darwin|FreeBSD|Windows|Ubuntu|SunOS)\b", re.I)
_MODEL_WORD = r"[A-Za-z0-9][\w.+/-]{1,40}"
_MODEL_KEY = re.compile(rf"\b(?:MODEL|MN)\s*:\s*({_MODEL_WORD})", re.I)
_RUNNING_ON = re.compile(r"\brunning on an? (?:[A-Z][\w&.,]*\s+){0,3}([A-Z][\w/-]*\d[\w/-]*)")
_AFTER_COMPANY = re.compile(r"\b(?:Inc|Ltd|Corp|Co)\.?,?\s+([A-Za-z]{1,6}-?\d{2,6}[\w/-]*)")
# Letters first, a digit and a hyphen, standing alone ("DES-3200-18"), not a version
# ("VSOS-V0600R0705") and not inside brackets (an image name: "(C3560-IPSERVICESK9-M)").
_HYPHENATED = re.compile(r"(?<![\w.(/-])([A-Z][A-Z0-9]{0,9}-(?!V\d)[A-Z0-9][\w/-]{0,30})(?!\w)")
_BRACKETED = re.compile(r"(?<=\w)\(([A-Z]{1,6}-?\d{2,6}[\w/-]*)\)")  # "Switch(N18010)"
_SERIAL = re.compile(r"\b(?:SN|S/N|Serial Number)\s*:?\s*([A-Z0-9][\w-]{4,40})", re.I)
_HARDWARE = re.compile(r"\b(?:HR|HardWare Version)\s*:?\s*v?([\w.-]{1,20})", re.I)
_VERSION = re.compile(  # not the boot ROM's or the hardware's version
    r"(?<!BootRom )(?<!HardWare )\b(?:Version|PF|fw|JUNOS|EOS version)"
    r"\s*:?\s*([Vv]?\d[\w.()-]{0,40})"
)


def _model(descr: str) -> str | None:
    if found := _MODEL_KEY.search(descr):
        return found.group(1)
    if _HOST_SYSTEM.search(descr):
        return None
    for pattern in (_RUNNING_ON, _AFTER_COMPANY, _HYPHENATED, _BRACKETED):
        for found in pattern.finditer(descr):
            if any(c.isdigit() for c in found.group(1)):
                return found.group(1)
    return None


def descr_facts(descr: object) -> dict[str, str]:
    """``model``, ``sw_version``, ``serial_number``, ``hw_version`` a sysDescr tells ({} for
    none, or for anything that is not text)."""
    if not isinstance(descr, str) or not descr.strip():
        return {}
    text = descr[:512]
    facts = {
        "model": _model(text),
        "sw_version": _first(_VERSION, text),
        "serial_number": _first(_SERIAL, text),
        "hw_version": _first(_HARDWARE, text),
    }
    return {
        key: shown
        for key, value in facts.items()
        if value and (shown := meaningful(value, _MAX_TEXT))
    }


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1).rstrip(".,;") if found else None
