"""Each recorded walk of ``snmpsim-data`` through the real pipeline, and the confusion table
of the type guesses (``uv run python -m tests.corpus_report`` prints it as in
``docs/discovery.md``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from netmon_mqtt.identify import mibs
from netmon_mqtt.identify.classify import classify
from netmon_mqtt.identify.snmp import SnmpIdentifier
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.identify.snmp_reader import SnmpReader
from netmon_mqtt.models import Device
from netmon_mqtt.publish import payloads
from netmon_mqtt.topology import service as topology
from netmon_mqtt.topology.tables import SwitchTables, switch_tables

from .corpus_expected import EXPECTED_TYPES
from .snmprec import DATA, RecordedAgent, recordings, records

# What identification, the interface reader and the switch tables read.
KEPT = (
    "1.3.6.1.2.1.1.",
    "1.3.6.1.2.1.2.2.1.",
    "1.3.6.1.2.1.31.1.1.1.",
    "1.3.6.1.2.1.47.1.1.1.1.",
    "1.3.6.1.2.1.17.",
    "1.0.8802.1.1.2.1.",
    *(f"{root}." for root in mibs.MIBS.values()),
)
_T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Outcome:
    """What the pipeline made of one walk."""

    expected: str | None
    kind: str | None = None
    confidence: int | None = None
    evidence: tuple[str, ...] = ()
    hostname: str | None = None
    facts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    interfaces: int | None = None
    tables: SwitchTables | None = None
    recorded: dict[str, object] = field(default_factory=dict)
    identify_requests: int = 0

    @property
    def right(self) -> bool:
        return self.expected is not None and self.kind == self.expected


def name_of(path: Path) -> str:
    return str(path.relative_to(DATA)).split(".snmprec")[0]


async def run(path: Path) -> Outcome:
    """One walk through identification, classification, the interface reader and the
    switch table walk, its agent answering from the recording."""
    recorded = records(path, KEPT)
    agent = RecordedAgent(recorded)
    device = Device("0000c0a80001", "00:00:c0:a8:00:01", "192.0.2.1", _T0, _T0)
    credential = SnmpCredential(version="2c", community="public", devices=(device.id,))
    keyring = Keyring((credential,))
    found = await SnmpIdentifier(agent, keyring).identify(device)  # type: ignore[arg-type]
    outcome = Outcome(EXPECTED_TYPES.get(name_of(path)), recorded=recorded)
    outcome.identify_requests = agent.requests
    if found is not None:
        outcome.hostname = found.hostname
        outcome.facts = dict(found.attributes)
    seen = Device(device.id, device.mac, device.ip, _T0, _T0, details={"snmp": outcome.facts})
    guess = classify(seen)
    outcome.kind, outcome.confidence, outcome.evidence = (
        guess.kind,
        guess.confidence,
        guess.evidence,
    )
    outcome.versions = payloads.versions(seen)
    keyring.answered(device, credential)
    reading = await SnmpReader(agent, keyring).read_interfaces(device)  # type: ignore[arg-type]
    outcome.interfaces = len(reading.interfaces) if reading else None
    walked = await agent.walk(device.ip or "", credential, topology.WALK)
    outcome.tables = switch_tables(device.id, walked.found if walked else {})
    return outcome


def outcomes() -> dict[str, Outcome]:
    """Every walk of the corpus, by name."""

    async def all_of_them() -> dict[str, Outcome]:
        return {name_of(path): await run(path) for path in recordings()}

    return asyncio.run(all_of_them())


def share_right(found: dict[str, Outcome]) -> tuple[int, int]:
    """(walks given their expected type, walks of devices the taxonomy covers)."""
    covered = [o for o in found.values() if o.expected]
    return sum(o.right for o in covered), len(covered)


def confusion_table(found: dict[str, Outcome]) -> str:
    """Expected type (rows) against the guess (columns), as Markdown."""
    pairs = Counter((o.expected, o.kind or "none") for o in found.values() if o.expected)
    expected = sorted({e for e, _ in pairs if e})
    guessed = sorted({g for _, g in pairs})
    lines = [
        "| expected \\ guessed | " + " | ".join(guessed) + " | right |",
        "|---|" + "---|" * (len(guessed) + 1),
    ]
    for kind in expected:
        row = [str(pairs.get((kind, g), "")) for g in guessed]
        total = sum(pairs[(kind, g)] for g in guessed)
        lines.append(f"| {kind} | " + " | ".join(row) + f" | {pairs[(kind, kind)]}/{total} |")
    right, covered = share_right(found)
    lines.append("")
    lines.append(f"{right} of {covered} walks of covered devices ({100 * right / covered:.0f} %).")
    return "\n".join(lines)


def main() -> None:
    found = outcomes()
    print(confusion_table(found))
    print()
    for name, outcome in found.items():
        if outcome.expected and not outcome.right:
            print(f"- `{name}`: {outcome.expected} guessed as {outcome.kind} {outcome.evidence}")


if __name__ == "__main__":
    main()
