"""`disambig serve` as a child process, as an operator starts it: its log read as it comes."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Served:
    process: subprocess.Popen[str]
    lines: list[str]  # its stderr so far, one entry a line
    port: int


@contextmanager
def served(args: list[str], env: Mapping[str, str], cwd: Path, seconds: float = 60) -> Iterator[Served]:
    """`disambig serve ARGS` started and its port read from its "serving on" line; killed on exit
    if still running."""
    command = [sys.executable, "-m", "disambig.cli", "serve", *args]
    process = subprocess.Popen(command, env=dict(env), stderr=subprocess.PIPE, text=True, cwd=cwd)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + seconds
        port = None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            found = [re.search(r"serving on 127\.0\.0\.1:(\d+)", line) for line in list(lines)]
            port = next((int(m.group(1)) for m in found if m), None)
            time.sleep(0.1)
        assert port is not None, lines
        yield Served(process, lines, port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
