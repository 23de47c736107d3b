"""Operations commands: db migrate, db backup (online, consistent), model info, health, and the
client's token and TLS options, each through the CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from disambig.cli import main
from disambig.mention import mention_from_record
from disambig.registry import Registry
from disambig.resolving import Resolver

RECORDS = [
    {"mention_id": "a1", "name": "Daniel Haziza", "coauthors": ["Maxime Oquab"], "title": "Vision transformers"},
    {"mention_id": "a2", "name": "Daniel Haziza", "coauthors": ["Maxime Oquab"], "title": "Vision transformers"},
    {"mention_id": "b1", "name": "Kimberly Novak", "title": "Survey sampling"},
]


def filled_registry(path: Path, model: Any) -> dict[str, str]:
    """A SQLite registry at path holding RECORDS; returns mention id -> identity id."""
    registry = Registry(f"sqlite:///{path}")
    registry.migrate()
    try:
        mentions = [mention_from_record(r, "test", r["mention_id"]) for r in RECORDS]
        return {r.mention_id: r.identity_id for r in Resolver(model, registry).resolve(mentions)}
    finally:
        registry.close()


def test_db_migrate_creates_then_reports_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    runner = CliRunner()
    first = runner.invoke(main, ["db", "migrate", "--db", url])
    assert first.exit_code == 0, first.output
    assert "migrated from revision none to" in first.output
    again = runner.invoke(main, ["db", "migrate"], env={"DISAMBIG_DB": url})  # the server's variable works too
    assert again.exit_code == 0 and "already at revision" in again.output


def test_db_backup_is_a_consistent_readable_copy_while_in_use(tmp_path: Path, model: Any) -> None:
    source = tmp_path / "live.db"
    identities = filled_registry(source, model)
    # A writer holds an uncommitted transaction during the backup: the copy must not contain it.
    writer = sqlite3.connect(source, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE counters SET value = value + 1000")
    try:
        result = CliRunner().invoke(
            main, ["db", "backup", str(tmp_path / "copies" / "b.db"), "--db", f"sqlite:///{source}"]
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 0, result.output
    assert "backed up to" in result.output
    copy = tmp_path / "copies" / "b.db"
    assert not list(copy.parent.glob("*-wal")) and not list(copy.parent.glob(".b.db.*"))  # one file, no leftovers
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT max(value) FROM counters").fetchone()[0] < 1000
    restored = Registry(f"sqlite:///{copy}")
    try:
        assert restored.stored(identities) == {m: (i, restored.stored([m])[m][1]) for m, i in identities.items()}
        assert restored.get_identity(identities["a1"]).mention_count == 2
    finally:
        restored.close()


def test_db_backup_refusals(tmp_path: Path) -> None:
    runner = CliRunner()
    pg = runner.invoke(
        main, ["db", "backup", "out.dump", "--db", "postgresql+psycopg://disambig:pw-secret@db.example:5432/disambig"]
    )
    assert pg.exit_code == 2
    assert (
        "pg_dump --format=custom --no-owner --file out.dump postgresql://disambig@db.example:5432/disambig" in pg.output
    )
    assert "pw-secret" not in pg.output
    missing = runner.invoke(main, ["db", "backup", str(tmp_path / "b.db"), "--db", f"sqlite:///{tmp_path / 'no.db'}"])
    assert missing.exit_code == 2 and "no such registry file" in missing.output
    assert not (tmp_path / "no.db").exists()  # reading never creates a registry


def test_model_info(tmp_path: Path, model: Any) -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["model", "info"])
    assert text.exit_code == 0, text.output
    for expected in (
        model.version,
        "Clustering threshold",
        "## Features",
        "`given_match`",
        "Training files",
        "## Figures",
        "qian_dblp_dev",
    ):
        assert expected in text.output, expected
    as_json = runner.invoke(main, ["model", "info", "--json"])
    info = json.loads(as_json.stdout)
    assert info["version"] == model.version and info["threshold"] == model.threshold
    assert [f["name"] for f in info["features"]] == list(model.feature_names)
    assert info["card"]["dev_figures"] and info["card"]["training_files"]
    bad = runner.invoke(main, ["model", "info", "--model", str(tmp_path)])
    assert bad.exit_code == 2 and "no model.json" in bad.output


def test_health_command_and_client_options(serve: Any, pki: Any, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.toml"
    tokens.write_text('"w-token-0123456789" = "write"\n')
    listing = tmp_path / "m.jsonl"
    listing.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    runner = CliRunner()
    with serve(tls_cert=pki.server_cert, tls_key=pki.server_key, auth_tokens=tokens) as served:
        port = served.running.port
        ok = runner.invoke(main, ["health", "--tls-ca", str(pki.ca)], env={"DISAMBIG_PORT": str(port)})
        assert ok.exit_code == 0 and "SERVING" in ok.output, ok.output
        plaintext = runner.invoke(main, ["health", "--target", served.target, "--timeout", "2"])
        assert plaintext.exit_code == 1 and "UNAVAILABLE" in plaintext.output
        out = tmp_path / "resolved.jsonl"
        args = ["client", "resolve", str(listing), "--target", served.target, "-o", str(out), "--tls-ca", str(pki.ca)]
        refused = runner.invoke(main, args)
        assert refused.exit_code == 1 and "UNAUTHENTICATED" in refused.output
        resolved = runner.invoke(main, args, env={"DISAMBIG_TOKEN": "w-token-0123456789"})
        assert resolved.exit_code == 0, resolved.output
        assert [json.loads(line)["mention_id"] for line in out.read_text().splitlines()] == ["a1", "a2", "b1"]
    down = runner.invoke(main, ["health", "--target", served.target, "--timeout", "1"])
    assert down.exit_code == 1
