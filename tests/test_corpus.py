"""Every walk recorded from real devices (``snmpsim-data``) through the real pipeline: the
identification a service runs (system group, maker, MIB probe, ENTITY-MIB, GETs and GETBULK
walks answered from the recording), the classifier, the interface reader and the switch
table walk. The expected type of each walk is in ``corpus_expected.py``;
``python -m tests.corpus_report`` prints the confusion table of ``docs/discovery.md``."""

from __future__ import annotations

import pytest

from netmon_mqtt.identify import mibs
from netmon_mqtt.identify.entity import COLUMNS as ENTITY_COLUMNS
from netmon_mqtt.identify.interfaces import IF_TABLE
from netmon_mqtt.identify.snmp import SYSTEM_OIDS
from netmon_mqtt.identify.snmp_reader import MAX_INTERFACES
from netmon_mqtt.text import plain

from .corpus_expected import DESCR_MODELS, EXPECTED_TYPES
from .corpus_report import Outcome, outcomes, share_right

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SYS_NAME = SYSTEM_OIDS["sysName"]


@pytest.fixture(scope="module")
def corpus() -> dict[str, Outcome]:
    return outcomes()


def test_every_recording_has_an_expected_type(corpus: dict[str, Outcome]) -> None:
    assert sorted(corpus) == sorted(EXPECTED_TYPES)
    assert len(corpus) >= 100


def test_the_expected_type_for_at_least_90_percent(corpus: dict[str, Outcome]) -> None:
    right, covered = share_right(corpus)
    wrong = {n: (o.expected, o.kind) for n, o in corpus.items() if o.expected and not o.right}
    assert covered >= 90, covered
    assert right / covered >= 0.90, (right, covered, wrong)


def test_every_recorded_sys_name_is_shown(corpus: dict[str, Outcome]) -> None:
    named = 0
    for name, outcome in corpus.items():
        recorded = outcome.recorded.get(SYS_NAME)
        shown = plain(recorded, 255) if isinstance(recorded, bytes) else None
        if shown:
            named += 1
            assert outcome.hostname == shown, name
    assert named >= 100


def test_a_model_for_every_walk_that_names_one(corpus: dict[str, Outcome]) -> None:
    entity_named = 0
    for name, outcome in corpus.items():
        model_column = f"{ENTITY_COLUMNS['model']}."
        raw = [v for o, v in outcome.recorded.items() if o.startswith(model_column)]
        if any(isinstance(v, bytes) and plain(v, 64) for v in raw):
            entity_named += 1
            assert outcome.versions.get("model"), name
        if name in DESCR_MODELS and not raw:
            assert outcome.versions.get("model") == DESCR_MODELS[name], name
    assert entity_named >= 25
    # What the issue names: the device's own model, never a module's.
    assert corpus["network/firewall/paloalto-pa-5000"].versions["model"] == "PA-5050"
    assert corpus["network/wifi/aruba-7210"].versions["model"] == "ArubaS2500-24P"
    assert corpus["network/switch/cisco-c3560"].versions["model"] == "WS-C3560G-48TS-E"
    assert corpus["network/switch/cisco-c3560"].versions["sw_version"] == "12.2(55)SE3"
    assert corpus["UPS/apc-8641"].versions == {
        "model": "AP8641",
        "sw_version": "v6.7.2",
        "serial_number": "5A26833B4526",
        "hw_version": "02",
    }


def test_interfaces_for_every_walk_with_an_if_table(corpus: dict[str, Outcome]) -> None:
    with_table = 0
    for name, outcome in corpus.items():
        indexes = {
            o.rsplit(".", 1)[1]
            for o in outcome.recorded
            if o.startswith(f"{IF_TABLE}.2.")  # ifDescr: one per interface
        }
        if indexes:
            with_table += 1
            assert outcome.interfaces == min(len(indexes), MAX_INTERFACES), name
    assert with_table >= 90
    assert corpus["network/switch/cisco-c3560"].interfaces == 57
    assert corpus["network/switch/hpe-procurve-516733-b21"].interfaces == 42


def test_forwarding_and_lldp_tables_parse_for_every_walk_that_has_them(
    corpus: dict[str, Outcome],
) -> None:
    for name, outcome in corpus.items():
        assert outcome.tables is not None, name
        assert outcome.tables.malformed == 0, name
    procurve = corpus["network/switch/hpe-procurve-516733-b21"].tables
    dlink = corpus["network/switch/dlink-des3200"].tables
    assert procurve is not None and procurve.fdb and procurve.neighbours
    assert dlink is not None and dlink.fdb
    with_lldp = [n for n, o in corpus.items() if o.tables and o.tables.neighbours]
    assert len(with_lldp) >= 5, with_lldp


def test_the_mib_probe_is_one_request(corpus: dict[str, Outcome]) -> None:
    """Identification asks a bounded number of questions, whatever the agent holds."""
    for name, outcome in corpus.items():
        assert outcome.identify_requests <= 1 + 1 + 4, name  # GET, the MIB probe, ENTITY walk
    assert "UPS-MIB" in corpus["UPS/huawei-gse200m"].facts["mibs"]
    assert set(corpus["network/wifi/ubiquiti-m5"].facts["mibs"].split(",")) <= set(mibs.MIBS)
