"""Metrics scraped over HTTP and JSON log lines, from a real server after real calls."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from disambig.client import Client
from disambig.service.logs import configure_logging
from disambig.v1 import disambig_pb2 as pb

TOKEN = "w-secret-token-0123456789"
SERVICE = "disambig.v1.Disambiguator"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    """Every sample of the /metrics page by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The one sample of name whose labels include these (0 if none)."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


def some_calls(target: str) -> list[str]:
    """Resolve 3 mentions (2 new people, 1 link), resolve them again, one NOT_FOUND, one stream."""
    mentions = [
        pb.Mention(mention_id="a1", name="Daniel Haziza", coauthors=["Maxime Oquab"], title="Vision transformers"),
        pb.Mention(mention_id="a2", name="Daniel Haziza", coauthors=["Maxime Oquab"], title="Vision transformers"),
        pb.Mention(mention_id="b1", name="Kimberly Novak", title="Survey sampling", venue="Survey Methodology"),
    ]
    with Client(target, timeout=10) as remote:
        first = remote.stub.Resolve(pb.ResolveRequest(mentions=mentions)).resolutions
        remote.stub.Resolve(pb.ResolveRequest(mentions=mentions))
        with pytest.raises(grpc.RpcError):
            remote.stub.GetIdentity(pb.GetIdentityRequest(identity_id="id-none"))
        list(remote.stub.ResolveStream(iter([pb.ResolveStreamRequest(mentions=mentions[:1])])))
    return [r.identity_id for r in first]


def test_metrics_scraped_over_http_after_calls(serve: Any, free_port: int, model: Any) -> None:
    with serve(metrics_port=free_port) as served:
        assert served.running.metrics_port == free_port
        ids = some_calls(served.target)
        samples = scrape(free_port)
    assert len(set(ids)) == 2  # two people: Haziza's two papers linked, Novak apart
    unary = {"grpc_service": SERVICE, "grpc_type": "unary"}
    assert value(samples, "grpc_server_started_total", grpc_method="Resolve", **unary) == 2
    assert value(samples, "grpc_server_handled_total", grpc_method="Resolve", grpc_code="OK", **unary) == 2
    assert value(samples, "grpc_server_handled_total", grpc_method="GetIdentity", grpc_code="NOT_FOUND") == 1
    assert value(samples, "grpc_server_handled_total", grpc_method="ResolveStream", grpc_type="bidi_stream") == 1
    count = value(samples, "grpc_server_handling_seconds_count", grpc_method="Resolve", grpc_code="OK")
    fastest_bucket = value(
        samples, "grpc_server_handling_seconds_bucket", grpc_method="Resolve", grpc_code="OK", le="60.0"
    )
    assert count == fastest_bucket == 2
    assert value(samples, "grpc_server_handling_seconds_sum", grpc_method="Resolve", grpc_code="OK") > 0
    # First Resolve: 2 created, 1 linked; the repeat and the stream return stored links.
    assert value(samples, "disambig_resolutions_total", outcome="created") == 2
    assert value(samples, "disambig_resolutions_total", outcome="linked") == 5
    assert value(samples, "disambig_registry_up") == 1
    assert value(samples, "disambig_registry_mentions") == 3
    assert value(samples, "disambig_registry_identities") == 2
    assert value(samples, "disambig_registry_block_size_count") == 2  # two name blocks
    assert value(samples, "disambig_registry_block_size_sum") == 3
    assert value(samples, "disambig_registry_block_size_bucket", le="1.0") == 1
    assert value(samples, "disambig_model_info", version=model.version) == 1


def test_metrics_off_by_default(serve: Any) -> None:
    with serve() as served:
        assert served.running.metrics_port is None and served.running.metrics_httpd is None


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("json", "info", stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def test_one_json_line_per_call_with_request_id_and_no_token(
    serve: Any, tmp_path: Path, log_stream: io.StringIO
) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'"{TOKEN}" = "write"\n')
    with serve(auth_tokens=tokens) as served, Client(served.target, timeout=5, token=TOKEN) as remote:
        remote.stub.Resolve(
            pb.ResolveRequest(mentions=[pb.Mention(mention_id="m1", name="D. Haziza")]),
            metadata=[("x-request-id", "req-42")],
        )
        with pytest.raises(grpc.RpcError):
            remote.stub.GetIdentity(pb.GetIdentityRequest(identity_id="id-none"))
        with pytest.raises(grpc.RpcError):  # a refused call is logged too, with a bad token in its metadata
            remote.stub.GetIdentity(
                pb.GetIdentityRequest(identity_id="x"), metadata=[("authorization", "Bearer wrong-token-xyz")]
            )
    logging.getLogger("disambig.test").info("caller sent Bearer %s", TOKEN)  # a careless message: redacted
    output = log_stream.getvalue()
    assert TOKEN not in output and "wrong-token-xyz" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    calls = [line for line in lines if line["logger"] == "disambig.rpc"]
    assert [(c["method"], c["code"]) for c in calls] == [
        (f"{SERVICE}/Resolve", "OK"),
        (f"{SERVICE}/GetIdentity", "NOT_FOUND"),
        (f"{SERVICE}/GetIdentity", "UNAUTHENTICATED"),
    ]
    assert calls[0]["request_id"] == "req-42"
    assert len(calls[1]["request_id"]) == 32 and calls[1]["request_id"] != calls[2]["request_id"]  # generated
    assert all(c["duration_ms"] >= 0 and c["level"] == "info" and c["ts"] for c in calls)
    assert lines[-1]["message"] == "caller sent Bearer [redacted]"
