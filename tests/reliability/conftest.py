"""The reliability suite (issue 6): hostile input, faults, load, concurrency, security.

Each test records its figures (cases run, latencies, memory) with reliability_support.figure;
they are printed at the end of the run and, with $DISAMBIG_RELIABILITY_FIGURES set, merged into
that JSON file, which is where the README table's figures come from.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from reliability_support import FIGURES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name in sorted(FIGURES):
        terminalreporter.write_line(f"{name}: {FIGURES[name]}")
    if path := os.environ.get("DISAMBIG_RELIABILITY_FIGURES"):
        target = Path(path)
        previous = json.loads(target.read_text()) if target.is_file() else {}
        target.write_text(json.dumps({**previous, **FIGURES}, indent=2, sort_keys=True) + "\n")
