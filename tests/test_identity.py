"""MAC normalisation, device ids, randomized MACs and the offline OUI database."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from netmon_mqtt import cli
from netmon_mqtt.errors import NetmonError
from netmon_mqtt.identify import enterprises
from netmon_mqtt.identify.oui import OuiDatabase, build_database, default_database, parse_ieee_csv
from netmon_mqtt.macs import device_id_for, is_randomized, is_usable_mac, normalise_mac

from .lan import VENDORS


@pytest.mark.parametrize(
    "raw",
    [
        "B8:27:EB:01:02:03",
        "b8-27-eb-01-02-03",
        "b827.eb01.0203",
        "b827eb010203",
        " b8:27:eb:01:02:03 ",
    ],
)
def test_normalise_mac_accepts_common_notations(raw: str) -> None:
    assert normalise_mac(raw) == "b8:27:eb:01:02:03"


@pytest.mark.parametrize(
    "raw", ["", "b8:27:eb:01:02", "b8:27:eb:01:02:03:04", "zz:27:eb:01:02:03", "hello world!"]
)
def test_normalise_mac_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValueError, match="not a MAC"):
        normalise_mac(raw)


def test_device_ids() -> None:
    assert device_id_for("a4:b1:c2:d3:e4:f5", "10.0.0.5") == "a4b1c2d3e4f5"
    assert device_id_for(None, "10.0.5.7") == "ip_0a000507"
    assert device_id_for(None, "fe80::1").startswith("ip_fe80")
    with pytest.raises(ValueError, match="MAC or an IP"):
        device_id_for(None, None)


def test_randomized_and_unusable_macs() -> None:
    assert is_randomized("da:a1:19:00:00:01")  # locally administered bit set
    assert not is_randomized("b8:27:eb:00:00:01")
    assert not is_usable_mac("ff:ff:ff:ff:ff:ff")
    assert not is_usable_mac("00:00:00:00:00:00")
    assert not is_usable_mac("01:00:5e:00:00:fb")  # multicast
    assert is_usable_mac("b8:27:eb:00:00:01")


@pytest.mark.parametrize(("oui", "vendor"), VENDORS)
def test_packaged_oui_database_names_real_vendors(oui: str, vendor: str) -> None:
    assert default_database().lookup(f"{oui}:12:34:56") == vendor


def test_packaged_database_covers_ma_m_and_ma_s() -> None:
    database = default_database()
    assert len(database) > 40000
    # MA-S (36-bit) assignment inside the 70:B3:D5 block, and an MA-M (28-bit) one.
    assert database.lookup("70:b3:d5:f2:f0:01") == "TELEPLATFORMS"
    assert database.lookup("20:85:93:b0:00:01") == "IOG Products LLC"
    assert database.lookup("da:a1:19:00:00:01") is None


def test_build_database_from_ieee_csv(tmp_path: Path) -> None:
    oui = tmp_path / "oui.csv"
    oui.write_text(
        "Registry,Assignment,Organization Name,Organization Address\n"
        "MA-L,AABBCC,Example  Corp,Somewhere\n"
        "MA-L,XXYYZZ,Broken,\n"
    )
    mam = tmp_path / "mam.csv"
    mam.write_text(
        "Registry,Assignment,Organization Name,Organization Address\n"
        "MA-M,AABBCCD,Sub Block Inc,\nMA-M,AABBCCE,Private,\n"
    )
    out = tmp_path / "oui.tsv.gz"
    assert build_database([oui, mam], out) == 2
    database = OuiDatabase.from_file(out)
    assert database.lookup("aa:bb:cc:d1:00:00") == "Sub Block Inc"
    assert database.lookup("aa:bb:cc:e1:00:00") == "Example Corp"
    with gzip.open(out, "rt") as handle:
        assert "XXYYZZ" not in handle.read()


def test_build_database_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("just,some,text\n1,2,3\n")
    with pytest.raises(NetmonError, match="not an IEEE registry CSV"):
        parse_ieee_csv(bad.read_text())
    with pytest.raises(NetmonError, match="cannot read"):
        build_database([tmp_path / "missing.csv"], tmp_path / "out.gz")


def test_lookup_takes_the_longest_prefix_from_entries_in_any_order() -> None:
    database = OuiDatabase(
        [("B827EB", "Short"), ("001122", "Other"), ("B827EB123", "Long"), ("B827EB1", "Mid")]
    )
    assert len(database) == 4
    assert database.lookup("b8:27:eb:12:30:00") == "Long"
    assert database.lookup("b8:27:eb:1f:00:00") == "Mid"
    assert database.lookup("b8:27:eb:00:00:00") == "Short"
    assert database.lookup("00:11:22:33:44:55") == "Other"
    assert database.lookup("00:11:21:33:44:55") is None
    assert database.lookup("garbage") is None


def test_the_packaged_database_loads_without_a_memory_peak() -> None:
    # Read a line at a time into arrays and one buffer of names: a service's peak memory
    # is not set by its start-up (the whole file as text, or a dict of every name, took
    # 13 to 15 MB on the way).
    tracemalloc.start()
    try:
        database = OuiDatabase.from_file()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(database) > 40_000
    assert held < 2_500_000, held
    assert peak < 4_000_000, peak


IANA_EXCERPT = """PRIVATE ENTERPRISE NUMBERS

(last updated 2026-11-30)

Decimal
| Organization
| | Contact
| | | Email
| | | |
0
  Reserved
    Internet Assigned Numbers Authority
      iana&iana.org
9
  ciscoSystems
    Dave Jones
      davej&cisco.com
318
  American Power Conversion Corp. (https://www.apc.com)
    Someone
      someone&apc.com
41112
  Ubiquiti Networks, Inc.
    Contact
      contact&ui.com
77777
  \x1b]0;owned\x07
    Mallory
      m&example.com
"""


def test_the_packaged_enterprise_registry_names_makers() -> None:
    assert enterprises.manufacturer("1.3.6.1.4.1.9.1.617") == "ciscoSystems"
    assert enterprises.manufacturer("1.3.6.1.4.1.318.1.3.4.6") == "American Power Conversion Corp."
    assert enterprises.manufacturer("1.3.6.1.4.1.41112.1.4") == "Ubiquiti Networks, Inc."
    assert enterprises.manufacturer("1.3.6.1.4.1.21239.42.1.31") == "Vertiv"  # "# formerly" cut
    assert len(enterprises.default_registry()) > 60000
    for nothing in (None, "", "1.3.6.1.2.1.1", "1.3.6.1.4.1.", "1.3.6.1.4.1.x", "1.3.6.1.4.1.0",
                    "1.3.6.1.4.1.99999999", "1.3.6.1.4.1.9999999"):  # fmt: skip
        assert enterprises.manufacturer(nothing) is None, nothing


def test_enterprise_update_reads_iana_text_and_tab_separated_files(tmp_path: Path) -> None:
    iana = tmp_path / "enterprise-numbers.txt"
    iana.write_text(IANA_EXCERPT)
    out = tmp_path / "enterprises.tsv.gz"
    assert enterprises.build_database(iana, out) == 4  # "Reserved" left out
    registry = enterprises.EnterpriseRegistry.from_file(out)
    assert registry.lookup(9) == "ciscoSystems"
    assert registry.lookup(318) == "American Power Conversion Corp."  # the address dropped
    assert registry.lookup(77777) == "]0;owned"  # text that shows as it reads
    assert registry.lookup(0) is None and registry.lookup(10) is None
    tsv = tmp_path / "enterprises.tsv"
    tsv.write_text("# comment\n9\tciscoSystems\n11\tHewlett-Packard # formerly 'HP'\nnot a line\n")
    assert enterprises.build_database(tsv, out) == 2
    assert enterprises.EnterpriseRegistry.from_file(out).lookup(11) == "Hewlett-Packard"


def test_enterprise_update_refuses_other_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("nothing here\n")
    with pytest.raises(NetmonError, match="no enterprise numbers"):
        enterprises.build_database(empty, tmp_path / "out.gz")
    assert cli.main(["enterprise-update", str(tmp_path / "missing.txt")]) != 0
    assert "cannot read" in capsys.readouterr().err
    assert not (tmp_path / "out.gz").exists()
