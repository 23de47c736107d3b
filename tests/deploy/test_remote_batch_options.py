"""`disambig resolve --target` and `disambig changes` reach a server that wants a bearer token
and TLS with the options (and variables) of the `disambig client` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from disambig.cli import main

RECORDS = [
    {"mention_id": "a1", "name": "Daniel Haziza", "coauthors": ["Maxime Oquab"], "title": "Vision transformers"},
    {"mention_id": "a2", "name": "Daniel Haziza", "coauthors": ["Maxime Oquab"], "title": "Vision transformers"},
    {"mention_id": "b1", "name": "Kimberly Novak", "title": "Survey sampling"},
]
TOKEN = "w-token-0123456789"


def listing(tmp_path: Path) -> Path:
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def test_resolve_and_changes_with_a_token_over_tls(serve: Any, pki: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text(f'"{TOKEN}" = "write"\n')
    out = tmp_path / "resolved.jsonl"
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key, auth_tokens=tokens) as served:
        resolve = ["resolve", listing(tmp_path), "-o", out, "--target", served.target, "-q"]
        plaintext = invoke(*resolve, "--token", TOKEN)
        assert plaintext.exit_code == 1
        assert plaintext.output.startswith(f"disambig: error: {served.target}: UNAVAILABLE: ")
        assert "_MultiThreadedRendezvous" not in plaintext.output
        refused = invoke(*resolve, "--tls-ca", pki.ca)
        assert refused.exit_code == 1, refused.output
        assert refused.output.startswith(f"disambig: error: {served.target}: UNAUTHENTICATED: ")
        assert not out.exists() and not (tmp_path / "resolved.jsonl.partial").exists()
        resolved = invoke(*resolve, "--tls-ca", pki.ca, env={"DISAMBIG_TOKEN": TOKEN})
        assert resolved.exit_code == 0, resolved.output
        assert [json.loads(line)["mention_id"] for line in out.read_text().splitlines()] == ["a1", "a2", "b1"]

        changes = ["changes", "--target", served.target, "--tls-ca", pki.ca]
        unauthenticated = invoke(*changes)
        assert unauthenticated.exit_code == 1 and "UNAUTHENTICATED" in unauthenticated.output
        feed = invoke(*changes, "--token", TOKEN)
        assert feed.exit_code == 0, feed.output
        lines = [json.loads(line) for line in feed.stdout.splitlines()]
        assert {line["mention_id"] for line in lines} >= {"a1", "a2", "b1"}
        assert [line["seq"] for line in lines] == sorted(line["seq"] for line in lines)


def test_resolve_and_changes_with_a_client_certificate_from_the_variables(serve: Any, pki: Any, tmp_path: Path) -> None:
    out = tmp_path / "resolved.csv"
    mutual = {
        "DISAMBIG_CLIENT_TLS_CA": str(pki.ca),
        "DISAMBIG_CLIENT_TLS_CERT": str(pki.client_cert),
        "DISAMBIG_CLIENT_TLS_KEY": str(pki.client_key),
    }
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key, tls_client_ca=pki.ca) as served:
        resolve = ["resolve", listing(tmp_path), "-o", out, "--output-format", "csv", "--target", served.target, "-q"]
        half = invoke(*resolve, "--tls-ca", pki.ca, "--tls-cert", pki.client_cert)
        assert half.exit_code == 2 and "--tls-cert and --tls-key go together" in half.output
        # A certificate the server's CA did not sign: refused, and no header-only partial left.
        rogue = invoke(*resolve, "--tls-cert", pki.rogue_cert, "--tls-key", pki.rogue_key, env=mutual)
        assert rogue.exit_code == 1 and rogue.output.startswith(f"disambig: error: {served.target}: UNAVAILABLE: ")
        assert not out.exists() and not (tmp_path / "resolved.csv.partial").exists()
        resolved = invoke(*resolve, env=mutual)
        assert resolved.exit_code == 0, resolved.output
        assert [row.split(",")[0] for row in out.read_text().splitlines()] == ["mention_id", "a1", "a2", "b1"]
        feed = invoke("changes", "--target", served.target, "--limit", "1", env=mutual)
        assert feed.exit_code == 0, feed.output
        assert len(feed.stdout.splitlines()) == 1
