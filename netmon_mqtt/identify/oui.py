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

    Held compactly (about 1.2 MB for the 46,000 assignments, against 8 MB as a dict of
    strings), and built without a peak: per prefix length, a sorted array of prefixes as
    integers beside an array of where each vendor's name starts in one UTF-8 buffer.
    """

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        names = bytearray()
        tables = {n: (array("Q"), array("I")) for n in _PREFIX_LENGTHS}
        unsorted: set[int] = set()
        for prefix, vendor in entries:  # streamed: only the arrays and the buffer grow
            table = tables.get(len(prefix))
            if table is None or not _HEX.match(prefix):
                continue
            keys, starts = table
            key = int(prefix, 16)
            if keys and key <= keys[-1]:
                unsorted.add(len(prefix))
            keys.append(key)
            starts.append(len(names))
            names += vendor.encode() + b"\n"
        for length in unsorted:  # not in the order build_database writes
            rows = dict(zip(*tables[length], strict=True))  # a repeated prefix: the last
            order = sorted(rows)
            tables[length] = (array("Q", order), array("I", (rows[k] for k in order)))
        self._tables: dict[int, tuple[array[int], array[int]]] = tables
        self._names = bytes(names)
        self._count = sum(len(keys) for keys, _ in tables.values())

    def __len__(self) -> int:
        return self._count

    def lookup(self, mac: str) -> str | None:
        """Vendor of a normalised MAC, or None (unknown or locally administered)."""
        digits = mac.replace(":", "").upper()
        for length in _PREFIX_LENGTHS:
            head = digits[:length]
            if len(head) < length or not _HEX.match(head):
                continue
            prefixes, starts = self._tables[length]
            key = int(head, 16)
            at = bisect_left(prefixes, key)
            if at < len(prefixes) and prefixes[at] == key:
                start = starts[at]
                return self._names[start : self._names.index(b"\n", start)].decode()
        return None

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> OuiDatabase:
        """Load a database written by ``build_database``."""
        try:
            with gzip.open(path, "rb") as handle:
                return cls(_rows(handle))  # a line at a time: no copy of the whole file
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise NetmonError(f"cannot read the OUI database {path}: {err}") from err


def _rows(lines: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    for line in lines:
        prefix, _, vendor = line.rstrip(b"\n").partition(b"\t")
        yield prefix.decode("ascii", "replace"), vendor.decode()


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
