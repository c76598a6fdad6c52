"""Validators for configuration and requests, and the translation of their errors.

Every failure reads ``expected <what>, got <value>``; ``translate`` adds the key path, e.g.
``mqtt.port: expected an integer from 1 to 65535, got 70000``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import voluptuous as vol

from .errors import ConfigError

Validator = Callable[[Any], Any]
# Keys whose values never appear in an error, a log line or a response.
SECRET_KEYS = frozenset({"password", "community", "auth_key", "priv_key"})


def hide_secret(path: list[Any], message: str) -> str:
    """``message`` without the value it shows (``got ...``) when ``path`` names a secret."""
    if path and path[-1] in SECRET_KEYS and ", got " in message:
        return message.split(", got ", 1)[0] + ", got a value not shown here (a secret)"
    return message


def describe(value: Any) -> str:
    """A value as an error message shows it."""
    return repr(value) if isinstance(value, str) else str(value)


def check(expected: str, test: Validator) -> Validator:
    """A validator that returns ``test(value)`` or fails with 'expected ..., got ...'."""

    def validate(value: Any) -> Any:
        try:
            return test(value)
        except (ValueError, TypeError) as err:
            raise vol.Invalid(f"expected {expected}, got {describe(value)}") from err

    return validate


@dataclass(frozen=True)
class Number:
    """A number (or integer) between two limits: the one declaration of a setting's range."""

    low: float
    high: float
    integer: bool = False
    or_zero: bool = False  # 0 too (a setting's "off"), below ``low``

    @property
    def expected(self) -> str:
        """What the error message says is expected."""
        kind = "an integer" if self.integer else "a number"
        return f"{'0 or ' if self.or_zero else ''}{kind} from {self.low:g} to {self.high:g}"

    def __call__(self, value: Any) -> float | int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise vol.Invalid(f"expected {self.expected}, got {describe(value)}")
        within = self.low <= value <= self.high or (self.or_zero and value == 0)
        if (self.integer and not isinstance(value, int)) or not within:
            raise vol.Invalid(f"expected {self.expected}, got {describe(value)}")
        return value if self.integer else float(value)


def typed(kind: type, expected: str) -> Validator:
    """A value of exactly ``kind`` (a bool is not an int here)."""

    def test(value: Any) -> Any:
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError
        return value

    return check(expected, test)


def matching(pattern: re.Pattern[str], expected: str) -> Validator:
    """A string matching ``pattern``."""

    def test(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError
        return value

    return check(expected, test)


def optional(validator: Validator) -> Validator:
    """None, or what ``validator`` accepts (its message when it refuses)."""

    def validate(value: Any) -> Any:
        return None if value is None else validator(value)

    return validate


def choice(*options: str) -> Validator:
    """One of ``options``."""

    def test(value: Any) -> str:
        if value not in options:
            raise ValueError
        return str(value)

    return check("one of " + ", ".join(options), test)


STR = typed(str, "a string")
BOOL = typed(bool, "true or false")
OPT_STR = vol.Any(None, STR)


def format_path(path: list[Any]) -> str:
    """``mqtt.port``, ``networks[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _first_error(err: vol.Invalid) -> vol.Invalid:
    errors = getattr(err, "errors", None)
    if errors:
        # vol.Any reports the last alternative; prefer the deepest path.
        deepest: vol.Invalid = max(errors, key=lambda e: len(e.path))
        return deepest
    return err


def _value_at(data: Any, path: list[Any]) -> Any:
    for part in path:
        if (isinstance(data, Mapping) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and part < len(data)
        ):
            data = data[part]
        else:
            return None
    return data


def translate(err: vol.Invalid, data: Any, unknown_hint: str = "") -> ConfigError:
    """A voluptuous error as a ``ConfigError`` naming the key path, value and expectation."""
    error = _first_error(err)
    path = format_path(list(error.path))
    if error.msg.startswith("extra keys not allowed"):
        return ConfigError(f"unknown key {describe(error.path[-1])}{unknown_hint}", path)
    message = error.msg
    if not message.startswith("expected"):
        message = f"{message}, got {describe(_value_at(data, list(error.path)))}"
    return ConfigError(hide_secret(list(error.path), message), path)
