"""What differs between the Home Assistant releases the component supports (2025.4 to
2026.11), in one place."""

from __future__ import annotations

from typing import Any

import voluptuous as vol


def ha_schema(schema: vol.Schema) -> Any:
    """A schema as Home Assistant's APIs take it.

    Current releases (2026.10 is tested) install probatio in place of voluptuous when Home
    Assistant starts, and type their arguments with probatio's classes; schemas built with the
    voluptuous API work on every release, only their static types differ.
    """
    return schema
