"""Model, versions and serial number from ENTITY-MIB, over walks recorded from real devices
(``snmpsim-data``): the pure reading of every walk, and the identification of one device
whose agent answers from its recording."""

from __future__ import annotations

from pathlib import Path

from netmon_mqtt.clock import utcnow
from netmon_mqtt.identify.entity import COLUMNS, entity_facts
from netmon_mqtt.identify.snmp import SnmpIdentifier
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.identify.snmp_walk import Walk, Walked
from netmon_mqtt.models import Device
from netmon_mqtt.publish import payloads

from .snmprec import DATA, columns, recordings, records

# What the issue names, and a few more: the device's own model, never a module's.
EXPECTED = {
    "network/switch/cisco-c3560": "WS-C3560G-48TS-E",
    "network/switch/cisco-c3750": "WS-C3750G-12S-S",
    "network/firewall/paloalto-pa5050": "PA-5050",
    "network/wifi/aruba-s2500-24p": "ArubaS2500-24P",
}


def _name(path: Path) -> str:
    return str(path.relative_to(DATA)).split(".snmprec")[0]


def test_every_walk_that_names_a_model_gives_one() -> None:
    named, read = 0, {}
    for path in recordings():
        recorded = records(path, ("1.3.6.1.2.1.47.1.1.1.1.",))
        walked = columns(recorded, COLUMNS)
        facts = entity_facts(walked)
        if any(
            str(v).strip() for v in walked["model"].values() if isinstance(v, bytes) and v.strip()
        ):
            named += 1
            assert facts.get("model"), _name(path)
        read[_name(path)] = facts
    assert named >= 25, named  # the corpus has them
    for name, model in EXPECTED.items():
        if name in read:
            assert read[name]["model"] == model, (name, read[name])
    assert sum(name in read for name in EXPECTED) >= 2, sorted(read)[:10]


def test_garbage_in_every_object_gives_nothing() -> None:
    garbage = {
        "class": {"1": b"\xff\x00", "2": 3},
        "model": {"1": 7, "2": b"\x00\x1b\x07", "3": None},
        "serial_number": {"1": b"\x00" * 300},
        "software": {"2": [1, 2]},
    }
    assert entity_facts(garbage) == {}  # type: ignore[arg-type]
    assert entity_facts({}) == {}


class _RecordedAgent:
    """An SNMP client answering from a recorded walk (the plain probe, the system group,
    the ENTITY walk), as the real client would from the device's agent."""

    def __init__(self, recorded: dict[str, object]) -> None:
        self.recorded = recorded

    async def answers(self, _ip: str, _credential: SnmpCredential) -> bool:
        return True

    async def agent_there(self, _ip: str) -> bool:
        return True

    async def get(
        self, _ip: str, _credential: SnmpCredential, oids: list[str]
    ) -> dict[str, object]:
        return {oid: _Octets(v) if isinstance(v, bytes) else v
                for oid in oids if (v := self.recorded.get(oid)) is not None}  # fmt: skip

    async def walk(self, _ip: str, _credential: SnmpCredential, walk: Walk) -> Walked:
        return Walked(None, columns(self.recorded, walk.columns))


class _Octets:
    """An octet string as pysnmp gives it."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def asOctets(self) -> bytes:
        return self.raw


async def test_identification_tells_model_software_and_serial() -> None:
    recorded = records(DATA / "network" / "switch" / "cisco-c3560.snmprec.bz2")
    now = utcnow()
    device = Device("001b2b000001", "00:1b:2b:00:00:01", "127.0.0.1", now, now)
    credential = SnmpCredential(version="2c", community="c3560", devices=(device.id,))
    client = _RecordedAgent(recorded)
    found = await SnmpIdentifier(client, Keyring((credential,))).identify(device)  # type: ignore[arg-type]
    assert found is not None
    facts = dict(found.attributes)
    assert facts["model"] == "WS-C3560G-48TS-E", facts
    assert facts.get("serial_number") and facts.get("sw_version"), facts
    # ... and they reach the device block Home Assistant shows, and /info.
    seen = Device(device.id, device.mac, device.ip, now, now, details={"snmp": facts})
    versions = payloads.versions(seen)
    assert versions["model"] == "WS-C3560G-48TS-E"
    assert {"sw_version", "serial_number"} <= set(versions)
    assert payloads.info_payload(seen)["serial_number"] == facts["serial_number"]
