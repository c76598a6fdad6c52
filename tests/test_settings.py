"""Each setting is declared once (``config.py``): the file's schema, the typed defaults,
the ``options`` request, what a device may override and what ``Options`` applies and shows
are all derived from that one declaration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, fields

import pytest
import voluptuous as vol

from netmon_mqtt.commands import OPTIONS
from netmon_mqtt.config import ROOT, Config, RuntimeOptions, validate
from netmon_mqtt.options import DECLARED, from_config, shown
from netmon_mqtt.settings import (
    declared,
    device_schema,
    file_schema,
    request_schema,
    setting,
    setting_at,
)
from netmon_mqtt.validators import Number, translate

SECTIONS = ("mqtt", "discovery", "snmp", "embedded_broker")


def _every_setting() -> list[tuple[str, object, object]]:
    """(key path, default, validator) of every setting of the file and the request with a
    plain default (lists, credentials and overrides are checked by the example file's)."""
    found = [(name, f.default, DECLARED[name].check) for name, f in _fields(RuntimeOptions)]
    found += [(n, f.default, declared(Config)[n].check) for n, f in _fields(Config)]
    for part in SECTIONS:
        kind = type(getattr(Config(), part))
        found += [(f"{part}.{n}", f.default, declared(kind)[n].check) for n, f in _fields(kind)]
    return [item for item in found if not isinstance(item[1], tuple | Mapping | type(MISSING))]


def _fields(kind: type) -> list[tuple[str, Field[object]]]:
    own = {f.name for f in fields(RuntimeOptions)} if kind is Config else set()
    return [(f.name, f) for f in fields(kind) if f.name in declared(kind) and f.name not in own]


EVERY = _every_setting()


@pytest.mark.parametrize(("path", "default", "check"), EVERY, ids=[path for path, *_ in EVERY])
def test_every_default_passes_its_own_validator(path: str, default: object, check: object) -> None:
    assert callable(check)
    assert check(default) == default, path
    if isinstance(check, Number):
        assert check.low <= default <= check.high, path  # type: ignore[operator]


def test_the_request_the_file_and_the_response_know_every_run_time_option() -> None:
    names = [f.name for f in fields(RuntimeOptions)]
    assert list(DECLARED) == names
    assert list(shown(from_config(Config()))) == names
    top = {str(key) for key in ROOT.schema}
    assert {n for n in names if DECLARED[n].in_file} <= top
    assert "snmp_credentials" not in top  # set by the request only
    assert from_config(validate({"consider_home": 42})).consider_home == 42


def test_a_request_checks_networks_harder_than_the_file() -> None:
    assert validate({"networks": []}).networks == ()  # the command line may add them
    with pytest.raises(vol.Invalid) as caught:
        OPTIONS({"options": {"networks": []}})
    assert str(translate(caught.value, {})).startswith("options.networks: ")


def test_one_declaration_makes_a_run_time_option_everywhere() -> None:
    """What adding a run-time option takes: one field declared in ``RuntimeOptions``."""

    @dataclass(frozen=True)
    class More(RuntimeOptions):
        sweep_pause: float = setting(Number(0, 9), 3.0, device=True)

    assert More().sweep_pause == 3.0
    assert request_schema(More)({"sweep_pause": 4})["sweep_pause"] == 4.0
    assert device_schema(More)({"sweep_pause": 1}) == {"sweep_pause": 1.0}
    with pytest.raises(vol.Invalid) as caught:
        file_schema(More)({"sweep_pause": 10})
    assert str(translate(caught.value, {})) == "sweep_pause: expected a number from 0 to 9, got 10"


def test_a_setting_is_found_by_its_key_path() -> None:
    port = setting_at(Config, ("mqtt", "port")).check
    assert isinstance(port, Number) and (port.low, port.high) == (1, 65535)
    assert setting_at(Config, ("consider_home",)) is DECLARED["consider_home"]


def test_secrets_stay_out_of_the_typed_values_repr() -> None:
    community = {"version": "2c", "community": "hush-hush"}
    options = RuntimeOptions(snmp_credentials=(community,))
    assert "hush-hush" not in repr(options)
    assert shown(options)["snmp_credentials"] == [{"version": "2c", "community": "***"}]
    assert "pw-secret" not in repr(validate({"mqtt": {"password": "pw-secret"}}))
