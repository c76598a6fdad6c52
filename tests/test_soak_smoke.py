"""The soak benchmark, shortened to a smoke run: it builds its LAN, runs the service in its
default configuration, samples it and reports growth against the goals (the long run's
results are in docs/benchmarks.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require
from .lan import have_root

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.netns
def test_soak_smoke_run_samples_the_service_and_reports_flat_use(tmp_path: Path) -> None:
    require(have_root(), "needs root to build the soak's LAN of network namespaces")
    out = tmp_path / "soak.md"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--devices",
            "5",
            "--minutes",
            "0.75",
            "--sample",
            "5",
            "--subnet",
            "10.96.0.0/24",
            "--tag",
            "nmsmoke",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = out.read_text()
    rows = re.findall(r"^\| [\d.]+ \| ([\d.]+) \| [\d.]+ \| (\d+) \|", table, re.MULTILINE)
    assert len(rows) >= 5, table
    assert all(float(rss) > 10 for rss, _fds in rows), table  # a real process was read
    assert "| devices in the inventory | 5 of 5 | all |" in table, table
    fds = re.search(r"open descriptors growth after warm-up \| ([+-][\d.]+) %", table)
    assert fds is not None and abs(float(fds.group(1))) < 5, table
    assert "Traceback" not in done.stderr
