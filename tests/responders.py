"""Responders run inside host namespaces of the test LAN (the scripts in ``tests/tools``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .lan import Host, NetnsLan

TOOLS = Path(__file__).parent / "tools"


def mdns_responder(
    lan: NetnsLan, host: Host, hostname: str, instance: str, model: str, *types: str
) -> subprocess.Popen[str]:
    """Advertise mDNS services from ``host`` until terminated (see ``ready``)."""
    args = [sys.executable, str(TOOLS / "mdns_responder.py"), host.ip, hostname, instance, model]
    return lan.popen(host.namespace, [*args, *types], stdout=subprocess.PIPE)


def ready(responder: subprocess.Popen[str]) -> bool:
    """True once the responder said it listens (each helper prints "ready" once)."""
    return responder.stdout is not None and responder.stdout.readline().strip() == "ready"
