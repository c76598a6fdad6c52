"""An SMTP sink and a webhook server (``tools/alert_sink.py``) for the alerts' tests: what
each received, read from the file it appends to."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOOL = Path(__file__).parent / "tools" / "alert_sink.py"


@dataclass
class Sinks:
    """Where the sinks listen, and what they received."""

    address: str
    smtp_port: int
    http_port: int
    out: Path

    @property
    def mail_url(self) -> str:
        smtp = f"{self.address}:{self.smtp_port}"
        return f"mailto://{smtp}?from=netmon@example.com&to=owner@example.com&mode=insecure"

    @property
    def hook_url(self) -> str:
        return f"json://{self.address}:{self.http_port}/netmon"

    def received(self, kind: str) -> list[dict[str, Any]]:
        """Messages of ``kind`` ("smtp" or "http"), oldest first; webhook bodies parsed."""
        if not self.out.exists():
            return []
        found = [json.loads(line) for line in self.out.read_text().splitlines() if line]
        got = [m for m in found if m["kind"] == kind]
        if kind == "http":
            for m in got:
                m.update(json.loads(m["body"]))  # apprise's JSON: title, message
        return got

    def titles(self, kind: str) -> list[str]:
        key = "subject" if kind == "smtp" else "title"
        return [m[key] for m in self.received(kind)]


@contextmanager
def running_sinks(
    out: Path, address: str, ports: tuple[int, int], prefix: Sequence[str] = ()
) -> Iterator[Sinks]:
    """Both sinks in one process (inside ``prefix``: a namespace), stopped afterwards."""
    command = [*prefix, sys.executable, str(TOOL), address, *map(str, ports), str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield Sinks(address, *ports, out)
    finally:
        proc.kill()
        proc.wait(10)
