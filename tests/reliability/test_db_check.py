"""`disambig db check`: a healthy registry passes (exit 0); each kind of damage is named (exit 1).

The damage is done with SQL behind the registry's back, as a bug or a bad restore would; on
SQLite foreign keys are switched off for it, so that the check's own queries (not the database's
constraints) must find it. PostgreSQL gets the damage its constraints allow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import backend_url, count_figure, db_check
from sqlalchemy import Connection, delete, insert, update

from disambig.registry import NewLink, Registry
from disambig.registry.integrity import check_registry
from disambig.registry.schema import changes, constraints, counters, identities, mentions


def populated(url: str) -> Registry:
    """Three identities of two mentions each, one merged into another, one split: every kind of row."""
    registry = Registry(url)
    registry.migrate()

    def link(k: int, identity: str | None) -> NewLink:
        return NewLink(
            f"m{k}", f"block_{k // 2}", {"mention_id": f"m{k}", "name": "A B"}, identity, 1.0, create=not identity
        )

    ids = [s.identity_id for s in registry.record_links([link(k, None) for k in (0, 2, 4)])]
    registry.record_links([link(k, ids[k // 2]) for k in (1, 3, 5)])
    survivor = registry.merge(ids[:2], reason="same person")
    registry.split(survivor, ["m0"], reason="not the same after all")
    return registry


Damage = Callable[[Connection], None]


def orphan_mention(conn: Connection) -> None:
    conn.execute(update(mentions).where(mentions.c.mention_id == "m5").values(identity_id="id-gone"))


def mention_on_merged_identity(conn: Connection) -> None:
    merged = conn.execute(identities.select().where(identities.c.status == "merged")).first()
    assert merged is not None
    conn.execute(update(mentions).where(mentions.c.mention_id == "m5").values(identity_id=merged.identity_id))


def merge_cycle(conn: Connection) -> None:
    rows = conn.execute(identities.select().where(identities.c.status == "active")).all()
    a, b = rows[0].identity_id, rows[1].identity_id
    conn.execute(update(mentions).where(mentions.c.identity_id.in_([a, b])).values(identity_id=rows[2].identity_id))
    conn.execute(update(identities).where(identities.c.identity_id == a).values(status="merged", merged_into=b))
    conn.execute(update(identities).where(identities.c.identity_id == b).values(status="merged", merged_into=a))


def merged_nowhere(conn: Connection) -> None:
    conn.execute(update(identities).where(identities.c.status == "merged").values(merged_into=None))


def empty_active_identity(conn: Connection) -> None:
    conn.execute(
        insert(identities).values(identity_id="id-empty", block_key="b", status="active", created_seq=1, updated_seq=1)
    )


def unknown_status(conn: Connection) -> None:
    conn.execute(update(identities).where(identities.c.status == "merged").values(status="deleted"))


def feed_gap(conn: Connection) -> None:
    conn.execute(delete(changes).where(changes.c.seq == 3))


def counter_behind(conn: Connection) -> None:
    conn.execute(update(counters).values(value=counters.c.value - 2))


def dangling_constraint(conn: Connection) -> None:
    conn.execute(insert(constraints).values(kind="cannot_link", mention_a="m1", mention_b="m-gone", seq=1))


def self_constraint(conn: Connection) -> None:
    conn.execute(insert(constraints).values(kind="cannot_link", mention_a="m1", mention_b="m1", seq=1))


# (case, damage, a phrase the problem must contain, backends where the damage is possible)
CASES: list[tuple[str, Damage, str, tuple[str, ...]]] = [
    ("orphan-mention", orphan_mention, "which does not exist", ("sqlite",)),
    ("mention-on-merged-identity", mention_on_merged_identity, "not active", ("sqlite", "postgresql")),
    ("merge-cycle", merge_cycle, "merge cycle", ("sqlite", "postgresql")),
    ("merged-redirects-nowhere", merged_nowhere, "redirects nowhere", ("sqlite", "postgresql")),
    ("active-identity-without-mentions", empty_active_identity, "has no mentions", ("sqlite", "postgresql")),
    ("unknown-status", unknown_status, "has status 'deleted'", ("sqlite", "postgresql")),
    ("change-feed-gap", feed_gap, "gap: seq 3 missing", ("sqlite", "postgresql")),
    ("counter-behind-the-feed", counter_behind, "past the counter", ("sqlite", "postgresql")),
    ("constraint-on-a-missing-mention", dangling_constraint, "'m-gone', which is not stored", ("sqlite",)),
    ("constraint-of-a-mention-with-itself", self_constraint, "with itself", ("sqlite", "postgresql")),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_healthy_registry_passes(tmp_path: Path, backend: str) -> None:
    url = backend_url(backend, tmp_path)
    populated(url).close()
    code, output = db_check(url)
    assert code == 0, output
    assert output.splitlines()[-1] == "ok" and "4 identities (3 active, 1 merged), 6 mentions" in output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize(("case", "damage", "phrase", "backends"), CASES, ids=[c[0] for c in CASES])
def test_damage_is_named(
    tmp_path: Path, backend: str, case: str, damage: Damage, phrase: str, backends: tuple[str, ...]
) -> None:
    if backend not in backends:
        pytest.skip(f"{backend}'s own constraints refuse this damage")
    url = backend_url(backend, tmp_path)
    registry = populated(url)
    with registry.engine.begin() as conn:
        if backend == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        damage(conn)
    report = check_registry(registry)
    registry.close()
    assert any(phrase in p for p in report.problems), report.problems
    code, output = db_check(url)
    assert code == 1 and "problem: " in output and "found" in output.splitlines()[-1], output
    count_figure("db_check.damage_cases")


def test_sqlite_file_damage_is_found(tmp_path: Path) -> None:
    """Bytes overwritten in the middle of the file: PRAGMA integrity_check (or the queries) fail."""
    path = tmp_path / "registry.db"
    url = f"sqlite:///{path}"
    registry = populated(url)
    with registry.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    registry.close()
    data = bytearray(path.read_bytes())
    page = 4096
    for k in range(page * 2, min(len(data), page * 6)):
        data[k] = 0xA5
    path.write_bytes(bytes(data))
    code, output = db_check(url)
    assert code != 0, output


def test_a_missing_registry_is_named(tmp_path: Path) -> None:
    code, output = db_check(f"sqlite:///{tmp_path / 'nothing.db'}")
    assert code == 2 and "no registry there" in output
    assert not (tmp_path / "nothing.db").exists()


def test_a_mention_stored_in_a_block_this_parser_reads_otherwise_is_noted(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.migrate()
    # "mdc_l": the block an older parser gave MEDLINE's "López-García MdC" (María del Carmen).
    stored = [("m1", "mdc_l", "Lopez-Garcia MdC"), ("m2", "lopezgarcia_m", "Lopez-Garcia MC")]
    registry.record_links(
        [NewLink(mid, key, {"mention_id": mid, "name": name}, None, 1.0, create=True) for mid, key, name in stored]
    )
    report = check_registry(registry)
    registry.close()
    assert report.ok
    assert report.notes == [
        "mention 'm1' ('Lopez-Garcia MdC') is stored in block 'mdc_l', which this version reads as "
        "'lopezgarcia_m' (disambig recluster --rekey moves it)"
    ]
