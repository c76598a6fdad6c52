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
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from ..errors import NetmonError

_LOGGER = logging.getLogger(__name__)
DATA_FILE = Path(__file__).with_name("data") / "oui.tsv.gz"
# Assignment lengths in hex digits: MA-S/IAB (36 bits), MA-M (28 bits), MA-L (24 bits).
_PREFIX_LENGTHS = (9, 7, 6)
_HEX = re.compile(r"^[0-9A-F]+$")


class OuiDatabase:
    """Longest-prefix lookup of a MAC address in the IEEE registries."""

    def __init__(self, entries: dict[str, str]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, mac: str) -> str | None:
        """Vendor of a normalised MAC, or None (unknown or locally administered)."""
        digits = mac.replace(":", "").upper()
        for length in _PREFIX_LENGTHS:
            vendor = self._entries.get(digits[:length])
            if vendor:
                return vendor
        return None

    @classmethod
    def from_file(cls, path: Path = DATA_FILE) -> OuiDatabase:
        """Load a database written by ``build_database``."""
        entries: dict[str, str] = {}
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                for line in handle:
                    prefix, _, vendor = line.rstrip("\n").partition("\t")
                    entries[prefix] = vendor
        except (OSError, EOFError) as err:
            raise NetmonError(f"cannot read the OUI database {path}: {err}") from err
        return cls(entries)


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
