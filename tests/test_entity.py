"""Identification of one SNMP agent: model, versions and serial number from ENTITY-MIB (pure
reading and through identification from a walk recorded from a real device), and an agent
answering garbage in every object identification reads. The whole corpus of recorded walks
is read in ``test_corpus.py``."""

from __future__ import annotations

import logging

import pytest

from netmon_mqtt.clock import utcnow
from netmon_mqtt.identify.classify import classify
from netmon_mqtt.identify.entity import COLUMNS, entity_facts
from netmon_mqtt.identify.mibs import MIBS
from netmon_mqtt.identify.snmp import SYSTEM_OIDS, SnmpIdentifier
from netmon_mqtt.identify.snmp_credentials import Keyring, SnmpCredential
from netmon_mqtt.models import Device
from netmon_mqtt.publish import payloads

from .snmprec import DATA, RecordedAgent, records


def _device() -> tuple[Device, Keyring]:
    now = utcnow()
    device = Device("001b2b000001", "00:1b:2b:00:00:01", "127.0.0.1", now, now)
    credential = SnmpCredential(version="2c", community="c3560", devices=(device.id,))
    return device, Keyring((credential,))


def test_garbage_entity_rows_give_nothing() -> None:
    garbage = {
        "class": {"1": b"\xff\x00", "2": 3},
        "model": {"1": 7, "2": b"\x00\x1b\x07", "3": None},
        "serial_number": {"1": b"\x00" * 300},
        "software": {"2": [1, 2]},
    }
    assert entity_facts(garbage) == {}  # type: ignore[arg-type]
    assert entity_facts({}) == {}


async def test_identification_tells_model_software_and_serial() -> None:
    recorded = records(DATA / "network" / "switch" / "cisco-c3560.snmprec.bz2")
    device, keyring = _device()
    found = await SnmpIdentifier(RecordedAgent(recorded), keyring).identify(device)  # type: ignore[arg-type]
    assert found is not None
    facts = dict(found.attributes)
    assert facts["model"] == "WS-C3560G-48TS-E", facts
    assert facts["manufacturer"] == "ciscoSystems"
    assert facts["sysServices"] == "6"
    assert "BRIDGE-MIB" in facts["mibs"].split(",")
    assert facts.get("serial_number") and facts.get("sw_version"), facts
    # ... and they reach the device block Home Assistant shows, and /info.
    seen = Device(device.id, device.mac, device.ip, device.first_seen, device.last_seen,
                  details={"snmp": facts})  # fmt: skip
    versions = payloads.versions(seen)
    assert versions["model"] == "WS-C3560G-48TS-E"
    assert {"sw_version", "serial_number"} <= set(versions)
    assert payloads.info_payload(seen)["serial_number"] == facts["serial_number"]
    assert classify(seen).kind == "switch"


class _Null:
    """A value of the wrong type (pysnmp's Null)."""


GARBAGE: dict[str, object] = {
    SYSTEM_OIDS["sysDescr"]: b"\x00\x1b[2J\x07\xff" * 40,
    SYSTEM_OIDS["sysObjectID"]: "1.3.6.1.4.1.; rm -rf /",
    SYSTEM_OIDS["sysUpTime"]: b"yesterday",
    SYSTEM_OIDS["sysContact"]: b"\x00",
    SYSTEM_OIDS["sysName"]: b"\x1b]0;owned\x07",
    SYSTEM_OIDS["sysLocation"]: -1,
    SYSTEM_OIDS["sysServices"]: 99999,
    **{f"{root}.1.0": _Null() for root in MIBS.values()},
    **{f"{column}.1": b"\x00\xff\x1b" for column in COLUMNS.values()},
    f"{COLUMNS['class']}.2": b"chassis",
}


@pytest.mark.parametrize("sys_object_id", ["1.3.6.1.4.1.; rm -rf /", "1.3.6.1.4.1.99999999999.1"])
async def test_an_agent_answering_garbage_everywhere_gives_no_type_and_logs_nothing(
    caplog: pytest.LogCaptureFixture, sys_object_id: str
) -> None:
    caplog.set_level(logging.DEBUG)
    device, keyring = _device()
    agent = RecordedAgent({**GARBAGE, SYSTEM_OIDS["sysObjectID"]: sys_object_id})
    found = await SnmpIdentifier(agent, keyring).identify(device)  # type: ignore[arg-type]
    facts = dict(found.attributes) if found else {}
    # What is left is text that shows as it reads: no model, version, maker or MIB.
    assert set(facts) <= {"sysObjectID", "sysDescr", "sysName"}, facts
    assert all(value.isprintable() and len(value) <= 255 for value in facts.values()), facts
    seen = Device(device.id, device.mac, device.ip, device.first_seen, device.last_seen,
                  details={"snmp": facts})  # fmt: skip
    assert classify(seen).kind is None
    assert payloads.versions(seen) == {}
    assert [r for r in caplog.records if r.levelno > logging.DEBUG] == []
