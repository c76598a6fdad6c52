"""Walks recorded from real devices (the ``snmpsim-data`` package, served by snmpsim in the
tests that need an agent): each ``.snmprec`` line is ``OID|TYPE|VALUE`` (``4x``: hex)."""

from __future__ import annotations

import bz2
from collections.abc import Iterator, Mapping
from pathlib import Path

import snmpsim_data

DATA = Path(snmpsim_data.__file__).parent / "data"
_OCTETS, _INTEGER = "4", "2"


def recordings() -> Iterator[Path]:
    """Every recording of the corpus, by path."""
    yield from sorted(p for p in DATA.rglob("*.snmprec*") if p.is_file())


def text_of(path: Path) -> str:
    """A recording's text, decompressed."""
    if path.name.endswith(".bz2"):
        return bz2.decompress(path.read_bytes()).decode("utf-8", "replace")
    return path.read_text("utf-8", "replace")


def records(path: Path, prefixes: tuple[str, ...] = ("",)) -> dict[str, object]:
    """OID -> value under ``prefixes``: octet strings as bytes, integers as int (other types
    left out)."""
    found: dict[str, object] = {}
    for line in text_of(path).splitlines():
        if not line.startswith(prefixes):
            continue
        oid, _, rest = line.partition("|")
        tag, _, value = rest.partition("|")
        try:
            if tag == _OCTETS:
                found[oid] = value.encode()
            elif tag == f"{_OCTETS}x":
                found[oid] = bytes.fromhex(value)
            elif tag == _INTEGER:
                found[oid] = int(value)
        except ValueError:
            continue
    return found


def columns(
    recorded: Mapping[str, object], wanted: Mapping[str, str]
) -> dict[str, dict[str, object]]:
    """The rows of the ``wanted`` columns (name -> OID), as a walk finds them."""
    found: dict[str, dict[str, object]] = {}
    for name, column in wanted.items():
        prefix = f"{column}."
        found[name] = {o[len(prefix) :]: v for o, v in recorded.items() if o.startswith(prefix)}
    return found
