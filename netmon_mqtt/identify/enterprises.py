"""Offline IANA Private Enterprise Numbers: who made an SNMP agent, from its sysObjectID.

An agent's sysObjectID is ``1.3.6.1.4.1.<enterprise>...``; the enterprise number names its
maker ("9": Cisco, "318": APC, "41112": Ubiquiti). The registry ships inside the package
(``data/enterprises.tsv.gz``, about 64,000 numbers), so nothing is downloaded at run time;
``build_database`` rebuilds it from the registry the user downloads (IANA's
``enterprise-numbers.txt``, or a ``number<TAB>name`` file such as Wireshark's
``enterprises.tsv``): ``netmon-mqtt enterprise-update FILE``.
"""

from __future__ import annotations

import gzip
import logging
import re
from array import array
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from ..errors import NetmonError
from ..text import plain

_LOGGER = logging.getLogger(__name__)
DATA_FILE = Path(__file__).with_name("data") / "enterprises.tsv.gz"
PREFIX = "1.3.6.1.4.1."
MAX_NUMBER = 2**22  # the registry is at about 65,000: a number past this is no entry
MAX_NAME = 64
_NUMBER = re.compile(r"^(\d{1,7})\s*$")
_TSV = re.compile(r"^(\d{1,7})\s+(\S.*)$")
_ORGANISATION = re.compile(r"^  \S")  # IANA's text: contacts and e-mails are indented deeper
# What follows a registrant's name: a web address, e-mail or earlier name in brackets, or
# after a "#" (Wireshark's copy: "# formerly 'Geist Manufacturing, Inc'").
_NOISE = re.compile(
    r"\s+#.*$|\s*[(\[][^)\]]*(https?:|www\.|@|&|formerly|abbr)[^)\]]*[)\]]?", re.IGNORECASE
)


def enterprise_of(sys_object_id: str | None) -> int | None:
    """The enterprise number of a sysObjectID (``1.3.6.1.4.1.N...``), or None."""
    if not sys_object_id or not sys_object_id.startswith(PREFIX):
        return None
    head = sys_object_id[len(PREFIX) :].split(".", 1)[0]
    if not head.isdigit() or len(head) > 7:
        return None
    number = int(head)
    return number if number < MAX_NUMBER else None


def clean_name(name: str) -> str | None:
    """A registrant's name as shown: without bracketed addresses, plain, bounded."""
    return plain(_NOISE.sub("", name).strip(" ,;-"), MAX_NAME)


class EnterpriseRegistry:
    """Number -> organisation, held as one UTF-8 buffer and an array of where each name
    starts (numbers are dense, so the array is indexed by number)."""

    def __init__(self, entries: Iterable[tuple[int, str]]) -> None:
        starts = array("I")
        names = bytearray(b"\n")  # an empty name first: where numbers without one point
        for number, name in sorted(entries):
            if not 0 <= number < MAX_NUMBER:
                continue
            while len(starts) <= number:
                starts.append(0)
            starts[number] = len(names)
            names += name.encode() + b"\n"
        self._starts = starts
        self._names = bytes(names)

    def __len__(self) -> int:
        return self._names.count(b"\n") - 1

    def lookup(self, number: int | None) -> str | None:
        """The organisation holding ``number``, or None."""
        if number is None or not 0 <= number < len(self._starts):
            return None
        start = self._starts[number]
        end = self._names.find(b"\n", start)
        if end <= start:
            return None
        return self._names[start:end].decode()

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> EnterpriseRegistry:
        """Load a registry written by ``build_database``."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                return cls(parse_registry(handle))
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise NetmonError(f"cannot read the enterprise registry {path}: {err}") from err


def parse_registry(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(number, name) from IANA's ``enterprise-numbers`` text (a number alone on a line,
    the organisation on the next, indented by two spaces) or from ``number<TAB>name`` lines;
    "Reserved" and "Unassigned" entries are left out."""
    number: int | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        if match := _NUMBER.match(line):
            number = int(match.group(1))
            continue
        if number is not None and _ORGANISATION.match(line):
            entry = (number, line)
        elif match := _TSV.match(line):
            entry = (int(match.group(1)), match.group(2))
        else:
            continue
        number = None
        name = clean_name(entry[1])
        if name and name.casefold() not in ("reserved", "unassigned", "none"):
            yield entry[0], name


@lru_cache(maxsize=1)
def default_registry() -> EnterpriseRegistry:
    """The packaged registry, loaded once (at the first agent that answers)."""
    registry = EnterpriseRegistry.from_file()
    _LOGGER.debug("Loaded %s enterprise numbers", len(registry))
    return registry


def manufacturer(sys_object_id: str | None) -> str | None:
    """The organisation an agent's sysObjectID names, or None."""
    return default_registry().lookup(enterprise_of(sys_object_id))


def build_database(path: Path, output: Path = DATA_FILE) -> int:
    """Rebuild the packaged registry from a downloaded one; return the entry count."""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as handle:
            entries = dict(parse_registry(handle))
    except OSError as err:
        raise NetmonError(f"cannot read {path}: {err.strerror}") from err
    if not entries:
        raise NetmonError(f"no enterprise numbers found in {path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(output, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.writelines(f"{number}\t{name}\n" for number, name in sorted(entries.items()))
    default_registry.cache_clear()
    return len(entries)
