"""Offline IEEE vendor lookup covering the MA-L, MA-M and MA-S (and IAB) registries.

The data ships inside the package (``data/oui.tsv.gz``, built from the IEEE CSV files), so
nothing is downloaded at run time. ``build_database`` rebuilds it from CSV files the user
provides.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from ..errors import NetmonError

_LOGGER = logging.getLogger(__name__)
DATA_FILE = Path(__file__).with_name("data") / "oui.tsv.gz"
# Assignment lengths in hex digits: MA-S/IAB (36 bits), MA-M (28 bits), MA-L (24 bits).
_PREFIX_LENGTHS = (9, 7, 6)
_HEX = re.compile(r"^[0-9A-F]+$")


class OuiDatabase:
    """Longest-prefix lookup of a MAC address in the IEEE registries.

    Held compactly (about 1.5 MB for the 46,000 assignments, against 8 MB as a dict of
    strings): per prefix length, a sorted array of prefixes as integers beside an array of
    vendor numbers, and every distinct vendor name once, in one string.
    """

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        numbers: dict[str, int] = {}  # vendor name -> its number, in first-seen order
        groups: dict[int, list[tuple[int, int]]] = {n: [] for n in _PREFIX_LENGTHS}
        for prefix, vendor in entries:
            group = groups.get(len(prefix))
            if group is not None and _HEX.match(prefix):
                group.append((int(prefix, 16), numbers.setdefault(vendor, len(numbers))))
        self._tables: dict[int, tuple[array[int], array[int]]] = {}
        for length, rows in groups.items():
            rows.sort()  # already in order when read from our own file: a quick pass
            unique = dict(rows)  # a repeated prefix keeps its last vendor
            self._tables[length] = (array("Q", unique), array("I", unique.values()))
        self._names = "\n".join(numbers)
        self._starts = array("I", [0])
        for name in numbers:
            self._starts.append(self._starts[-1] + len(name) + 1)
        self._count = sum(len(keys) for keys, _ in self._tables.values())

    def __len__(self) -> int:
        return self._count

    def lookup(self, mac: str) -> str | None:
        """Vendor of a normalised MAC, or None (unknown or locally administered)."""
        digits = mac.replace(":", "").upper()
        for length in _PREFIX_LENGTHS:
            head = digits[:length]
            if len(head) < length or not _HEX.match(head):
                continue
            prefixes, vendors = self._tables[length]
            key = int(head, 16)
            at = bisect_left(prefixes, key)
            if at < len(prefixes) and prefixes[at] == key:
                number = vendors[at]
                return self._names[self._starts[number] : self._starts[number + 1] - 1]
        return None

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> OuiDatabase:
        """Load a database written by ``build_database``."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise NetmonError(f"cannot read the OUI database {path}: {err}") from err
        return cls(_rows(text))


def _rows(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        prefix, _, vendor = line.partition("\t")
        yield prefix, vendor


@lru_cache(maxsize=1)
def default_database() -> OuiDatabase:
    """The packaged database, loaded once."""
    database = OuiDatabase.from_file()
    _LOGGER.debug("Loaded %s OUI assignments", len(database))
    return database


def parse_ieee_csv(text: str) -> dict[str, str]:
    """Parse one IEEE registry CSV (Registry,Assignment,Organization Name,...)."""
    entries: dict[str, str] = {}
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or len(header) < 3 or header[1].strip().lower() != "assignment":
        raise NetmonError("not an IEEE registry CSV (expected an 'Assignment' column)")
    for row in reader:
        if len(row) < 3:
            continue
        prefix = row[1].strip().upper()
        vendor = " ".join(row[2].split())
        valid = len(prefix) in _PREFIX_LENGTHS and _HEX.match(prefix)
        if valid and vendor and vendor.lower() != "private":
            entries[prefix] = vendor
    return entries


def build_database(csv_files: Iterable[Path], output: Path = DATA_FILE) -> int:
    """Merge IEEE CSV files into the compressed lookup file; return the entry count."""
    entries: dict[str, str] = {}
    for path in csv_files:
        try:
            entries.update(parse_ieee_csv(Path(path).read_text(encoding="utf-8")))
        except OSError as err:
            raise NetmonError(f"cannot read {path}: {err.strerror}") from err
    if not entries:
        raise NetmonError("no OUI assignments found in the given files")
    lines = "".join(f"{prefix}\t{vendor}\n" for prefix, vendor in sorted(entries.items()))
    output.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(output, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write(lines)
    default_database.cache_clear()
    return len(entries)
