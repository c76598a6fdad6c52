"""Vendor names as people say them: "Raspberry Pi", not "Raspberry Pi Trading Ltd" (pure).

The IEEE registry holds legal names; device names and Home Assistant's manufacturer field
read better without the company form and the generic words that follow a brand.
"""

from __future__ import annotations

import re

# Trailing words dropped, one at a time from the end (case-insensitive, punctuation aside).
_TRAILING = frozenset(
    [
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "co",
        "corp",
        "corporation",
        "company",
        "companies",
        "llc",
        "llp",
        "plc",
        "pty",
        "gmbh",
        "ag",
        "kg",
        "mbh",
        "bv",
        "nv",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "sl",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "kk",
        "sdn",
        "bhd",
        "pvt",
        "pte",
        "technologies",
        "technology",
        "tech",
        "trading",
        "electronics",
        "electronic",
        "international",
        "holdings",
        "holding",
        "group",
        "industries",
        "industry",
        "industrial",
        "ind",
        "manufacturing",
        "mfg",
        "enterprises",
        "corporate",
        "foundation",
        "communications",
        "networks",
        "network",
        "systems",
        "computer",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:[.'&+-][^\W_]+)*")
_PARENTHESES = re.compile(r"\([^)]*\)")


def short_vendor(name: str) -> str:
    """The brand part of a registry name; the name itself when nothing is left."""
    text = _PARENTHESES.sub(" ", name)
    words = _WORD.findall(text)
    while len(words) > 1 and words[-1].replace(".", "").casefold() in _TRAILING:
        words.pop()
    return " ".join(words) if words else name.strip()
