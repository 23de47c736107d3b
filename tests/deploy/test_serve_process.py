"""`disambig serve` as an operator runs it: a process configured by a file and variables, with
TLS, tokens, metrics and JSON logs; probed with `disambig health`; stopped with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

from serve_support import served

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
    with served([], env, tmp_path) as server:
        with Client(f"localhost:{server.port}", timeout=10, tls_ca=pki.ca, token=TOKEN) as remote:
            assert remote.health() == "SERVING"
            remote.stub.Resolve(
                pb.ResolveRequest(mentions=[pb.Mention(mention_id="m1", name="D. Haziza")]),
                metadata=[("x-request-id", "op-1")],
            )
        with urllib.request.urlopen(f"http://127.0.0.1:{free_port}/metrics", timeout=5) as response:
            page = response.read().decode()
        assert 'disambig_resolutions_total{outcome="created"} 1.0' in page
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
    lines = server.lines
    entries = [json.loads(line) for line in lines]  # every line is JSON
    rpc = [e for e in entries if e["logger"] == "disambig.rpc" and e["method"].endswith("/Resolve")]
    assert rpc and rpc[0]["request_id"] == "op-1" and rpc[0]["code"] == "OK"
    assert any("signal 15" in e["message"] for e in entries)
    assert TOKEN not in "".join(lines)
