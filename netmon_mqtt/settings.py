"""A setting is declared once, as a dataclass field that carries its validator.

``x: float = setting(Number(0, 60), 5.0)`` gives the setting's name, type, default and
limit in one line; everything else is derived from the declarations: the schema of a
section of the configuration file (unknown keys are errors), the typed value built from
the validated data, and (in ``options.py``) the ``options`` request's schema and what it
applies and saves. ``config.py`` holds the declarations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar

import voluptuous as vol

from .validators import Validator

_SETTING = "netmon_setting"
_SECTION = "netmon_section"
T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """How one setting is checked, and where else it may be set than in the file."""

    check: Validator
    device: bool = False  # a device may override it (the file's ``devices`` section)
    in_file: bool = True  # False: only the ``options`` request sets it
    request_check: Validator | None = None  # stricter for the ``options`` request

    @property
    def request(self) -> Validator:
        """What the ``options`` request demands of a value."""
        return self.request_check or self.check


@dataclass(frozen=True)
class Section:
    """A section of the file (``mqtt:``) built into its own dataclass; ``inputs`` are keys
    the file may hold there that are read once while loading, not kept."""

    kind: type
    inputs: Mapping[str, Validator]


def setting(
    check: Validator,
    default: Any = MISSING,
    *,
    factory: Any = MISSING,
    device: bool = False,
    in_file: bool = True,
    request: Validator | None = None,
    secret: bool = False,
) -> Any:
    """The field of a setting: its validator and default (``factory`` for a mutable one);
    a ``secret`` is left out of the value's repr, so no log line shows it."""
    declared = {_SETTING: Setting(check, device, in_file, request)}
    if factory is not MISSING:
        return field(default_factory=factory, repr=not secret, metadata=declared)
    return field(default=default, repr=not secret, metadata=declared)


def section(kind: type, **inputs: Validator) -> Any:
    """The field of a section: absent or ``null`` in the file gives its defaults."""
    return field(default_factory=kind, metadata={_SECTION: Section(kind, inputs)})


def declared(kind: type) -> dict[str, Setting]:
    """The settings a dataclass declares, by name, in declaration order (not its sections)."""
    return {f.name: f.metadata[_SETTING] for f in fields(kind) if _SETTING in f.metadata}


def setting_at(kind: type, path: tuple[str, ...]) -> Setting:
    """The setting at a key path of the file (``("mqtt", "port")``)."""
    *sections, name = path
    for key in sections:
        kind = next(f for f in fields(kind) if f.name == key).metadata[_SECTION].kind
    return declared(kind)[name]


def file_schema(kind: type, inputs: Mapping[str, Validator] | None = None) -> vol.Schema:
    """The schema of a section of the file: its settings, its sections and its inputs."""
    keys: dict[Any, Validator] = {}
    for item in fields(kind):
        if _SECTION in item.metadata:
            part: Section = item.metadata[_SECTION]
            keys[vol.Optional(item.name)] = vol.Any(None, file_schema(part.kind, part.inputs))
        elif _SETTING in item.metadata and item.metadata[_SETTING].in_file:
            keys[vol.Optional(item.name)] = item.metadata[_SETTING].check
    keys.update({vol.Optional(name): check for name, check in (inputs or {}).items()})
    return vol.Schema(keys)


def device_schema(kind: type) -> vol.Schema:
    """What a device may override: the settings declared with ``device=True``."""
    return vol.Schema({vol.Optional(n): s.check for n, s in declared(kind).items() if s.device})


def request_schema(kind: type) -> vol.Schema:
    """The ``options`` request's schema: every setting of ``kind``, each optional."""
    return vol.Schema({vol.Optional(n): s.request for n, s in declared(kind).items()})


def build(kind: type[T], raw: Mapping[str, Any]) -> T:
    """The typed value of validated data: absent settings at their defaults, lists as
    tuples (the value is frozen), sections built the same way; inputs are left out."""
    values: dict[str, Any] = {}
    for item in fields(kind):  # type: ignore[arg-type]  # kind is a dataclass
        if item.name not in raw:
            continue
        if _SECTION in item.metadata:
            values[item.name] = build(item.metadata[_SECTION].kind, raw[item.name] or {})
        elif _SETTING in item.metadata:
            values[item.name] = frozen(raw[item.name])
    return kind(**values)


def frozen(value: Any) -> Any:
    """A validated value as a frozen dataclass keeps it: a list becomes a tuple."""
    return tuple(value) if isinstance(value, list) else value
