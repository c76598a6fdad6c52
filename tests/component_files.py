"""One file of the Home Assistant component, loaded alone (its package imports Home
Assistant, which the service's tests do not have)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

COMPONENT = Path(__file__).parent.parent / "custom_components" / "netmon"


def component_module(name: str) -> ModuleType:
    """``custom_components/netmon/<name>.py`` as a module of its own."""
    spec = importlib.util.spec_from_file_location(
        f"netmon_component_{name}", COMPONENT / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
