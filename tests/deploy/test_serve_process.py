"""`disambig serve` as an operator runs it: a process configured by a file and variables, with
TLS, tokens, metrics and JSON logs; probed with `disambig health`; stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from disambig.client import Client
from disambig.v1 import disambig_pb2 as pb

TOKEN = "w-process-token-0123456789"


def test_serve_process_end_to_end(tmp_path: Path, pki: Any, free_port: int) -> None:
    (tmp_path / "tokens.json").write_text(json.dumps({TOKEN: "write"}))
    config = tmp_path / "disambig.toml"
    config.write_text(
        f'port = 0\nlog_format = "json"\nauth_tokens = "tokens.json"\n'
        f'tls_cert = "{pki.server_cert}"\ntls_key = "{pki.server_key}"\n'
    )
    env = os.environ | {
        "DISAMBIG_CONFIG": str(config),
        "DISAMBIG_DB": f"sqlite:///{tmp_path / 'r.db'}",
        "DISAMBIG_METRICS_PORT": str(free_port),
        "DISAMBIG_GRACE_SECONDS": "5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "disambig.cli", "serve"], env=env, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        port = None
        while port is None and time.monotonic() < deadline and process.poll() is None:
            found = [re.search(r"serving on 127\.0\.0\.1:(\d+)", line) for line in list(lines)]
            port = next((int(m.group(1)) for m in found if m), None)
            time.sleep(0.1)
        assert port is not None, lines
        with Client(f"localhost:{port}", timeout=10, tls_ca=pki.ca, token=TOKEN) as remote:
            assert remote.health() == "SERVING"
            remote.stub.Resolve(
                pb.ResolveRequest(mentions=[pb.Mention(mention_id="m1", name="D. Haziza")]),
                metadata=[("x-request-id", "op-1")],
            )
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as response:
            page = response.read().decode()
        assert 'disambig_resolutions_total{outcome="created"} 1.0' in page
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=5)
    entries = [json.loads(line) for line in lines]  # every line is JSON
    rpc = [e for e in entries if e["logger"] == "disambig.rpc" and e["method"].endswith("/Resolve")]
    assert rpc and rpc[0]["request_id"] == "op-1" and rpc[0]["code"] == "OK"
    assert any("signal 15" in e["message"] for e in entries)
    assert TOKEN not in "".join(lines)
