"""Catalogue integration at the registry: redirects, lineage, the change feed, export and load.

Each test runs on SQLite and on PostgreSQL (when DISAMBIG_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from disambig.model import PairwiseModel, load_model
from disambig.reclustering import recluster
from disambig.registry import NewLink, Registry
from disambig.registry.export import iter_identities, write_identities
from disambig.registry.feed import follow
from disambig.registry.load import LoadError, load_export
from disambig.registry.schema import metadata
from disambig.training import LabelledCorpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


def link(mention_id: str, identity_id: str | None = None, orcid: str = "", name: str = "D. Haziza") -> NewLink:
    record: dict[str, Any] = {"mention_id": mention_id, "name": name, "work_id": f"w-{mention_id}"}
    if orcid:
        record["orcid"] = orcid
    return NewLink(mention_id, "haziza_d", record, identity_id, 0.9)


def new_identity(registry: Registry, *mention_ids: str) -> str:
    (first,) = registry.record_links([link(mention_ids[0])])
    registry.record_links([link(m, first.identity_id) for m in mention_ids[1:]])
    return first.identity_id


def test_a_merge_chain_resolves_to_its_end(registry: Registry) -> None:
    a = new_identity(registry, "a1")
    b = new_identity(registry, "b1", "b2")
    c = new_identity(registry, "c1", "c2", "c3", "c4")
    assert registry.merge([a, b]) == b
    assert registry.merge([b, c]) == c
    old = registry.get_identity(a)
    assert (old.resolved_id, old.status, old.merged_into, old.merge_path) == (c, "merged", b, (a, b, c))
    assert old.mention_count == 7
    assert registry.get_identity(b).merge_path == (b, c)
    assert registry.get_identity(c).merge_path == ()
    # A mention linked to an id merged away meanwhile lands on the survivor.
    (late,) = registry.record_links([link("a2", a)])
    assert late.identity_id == c and registry.get_identity(c).mention_count == 8


def test_a_split_records_its_lineage_and_its_changes(registry: Registry) -> None:
    original = new_identity(registry, "s1", "s2", "s3")
    kept, new = registry.split(original, ["s3"], reason="two people")
    assert kept == original
    assert registry.get_identity(new).split_from == original
    assert registry.get_identity(original).split_from is None
    split_changes = [c for c in registry.changes() if c.kind == "split"]
    assert [(c.identity_id, c.other_identity_id) for c in split_changes] == [(new, original), (original, new)]
    assert split_changes[0].detail["mention_ids"] == ["s3"]


def test_ids_are_never_reused(registry: Registry) -> None:
    ids = [new_identity(registry, f"m{k}", f"n{k}") for k in range(4)]
    registry.merge(ids[:2])
    _, split_off = registry.split(ids[3], ["n3"])
    issued = [*ids, split_off]
    assert len(set(issued)) == 5
    assert sorted(r["identity_id"] for r in exported(registry, with_mentions=False)) == sorted(issued)
    for identity in issued:  # merged ids keep their rows and stay resolvable
        assert registry.get_identity(identity).resolved_id in issued


def test_opposite_merges_from_two_writers_never_form_a_cycle(backend_url: str, registry: Registry) -> None:
    writers = [Registry(backend_url), Registry(backend_url)]
    try:
        for round_ in range(4):
            a, b = new_identity(registry, f"x{round_}"), new_identity(registry, f"y{round_}")
            barrier = threading.Barrier(2)
            errors: list[BaseException] = []

            def merge(
                writer: Registry,
                ids: list[str],
                barrier: threading.Barrier = barrier,
                errors: list[BaseException] = errors,
            ) -> None:
                barrier.wait()
                try:
                    writer.merge(ids)
                except Exception as exc:
                    errors.append(exc)

            threads = [
                threading.Thread(target=merge, args=(writers[0], [a, b])),
                threading.Thread(target=merge, args=(writers[1], [b, a])),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert registry.get_identity(a).resolved_id == registry.get_identity(b).resolved_id
            # The second merge finds the two ids one identity already: it gives it, and records nothing.
            assert not errors
            merges = [c for c in registry.changes(limit=1000) if c.kind == "merged" and c.identity_id in (a, b)]
            assert len(merges) == 2  # one merge: the survivor's change and the absorbed one's
    finally:
        for writer in writers:
            writer.close()


def test_two_writers_and_a_reader_see_an_ordered_gap_free_feed(backend_url: str, registry: Registry) -> None:
    writers = [Registry(backend_url), Registry(backend_url)]
    reader = Registry(backend_url)
    done = threading.Event()
    problems: list[str] = []
    seen: list[int] = []

    def write(k: int) -> None:
        for i in range(25):
            writers[k].record_links([link(f"w{k}-{i}")])

    def read() -> None:
        last = 0
        while True:
            finished = done.is_set()
            batch = [c.seq for c in reader.changes(since=last, limit=1000)]
            if batch != list(range(last + 1, last + 1 + len(batch))):
                problems.append(f"after {last} read {batch[:5]}")
                return
            seen.extend(batch)
            last = batch[-1] if batch else last
            time.sleep(0.001)
            if finished and not batch:
                return

    try:
        reading = threading.Thread(target=read)
        writing = [threading.Thread(target=write, args=(k,)) for k in range(2)]
        reading.start()
        for t in writing:
            t.start()
        for t in writing:
            t.join()
        done.set()
        reading.join()
    finally:
        for r in [*writers, reader]:
            r.close()
    assert not problems
    assert seen == list(range(1, 101))  # 50 mentions, each a created and a linked change


def test_follow_replays_then_follows_live(registry: Registry) -> None:
    new_identity(registry, "f1")
    stop = threading.Event()
    got: list[int] = []

    def late_write() -> None:
        new_identity(registry, "f2")

    timer = threading.Timer(0.3, late_write)
    timer.start()
    for change in follow(registry, 0, lambda: True, stop=stop, poll_seconds=0.05):
        got.append(change.seq)
        if len(got) == 4:
            stop.set()
    timer.join()
    assert got == [1, 2, 3, 4]
    assert list(follow(registry, 4, lambda: False)) == []  # ends as soon as told


def exported(registry: Registry, since: int = 0, with_mentions: bool = True) -> list[dict[str, Any]]:
    return [i.to_dict() for i in iter_identities(registry, since, with_mentions)]


def without_seqs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in ("created_seq", "updated_seq")} for r in rows]


def curated(registry: Registry) -> dict[str, str]:
    """A registry with a merge chain, a split and ORCIDs; returns the ids by role."""
    a = new_identity(registry, "e1")
    b = new_identity(registry, "e2", "e3")
    c = new_identity(registry, "e4", "e5", "e6")
    registry.record_links([link("e7", c, orcid="0000-0002-1825-0097")])
    registry.merge([a, b])
    registry.merge([b, c])
    _, d = registry.split(c, ["e6"])
    return {"a": a, "b": b, "c": c, "d": d}


def test_export_lists_every_identity_with_its_lineage(registry: Registry) -> None:
    ids = curated(registry)
    rows = {r["identity_id"]: r for r in exported(registry, with_mentions=False)}
    assert set(rows) == set(ids.values())
    a, c, d = rows[ids["a"]], rows[ids["c"]], rows[ids["d"]]
    assert (a["status"], a["merged_into"], a["resolved_id"], a["mention_ids"]) == ("merged", ids["b"], ids["c"], [])
    assert (c["status"], c["resolved_id"], c["orcid"], c["display_name"]) == (
        "active",
        ids["c"],
        "0000-0002-1825-0097",
        "D. Haziza",
    )
    assert c["mention_ids"] == ["e1", "e2", "e3", "e4", "e5", "e7"]
    assert c["work_ids"] == ["w-e1", "w-e2", "w-e3", "w-e4", "w-e5", "w-e7"]
    assert (d["split_from"], d["mention_ids"]) == (ids["c"], ["e6"])
    assert "mentions" not in c


def test_export_since_seq_lists_only_identities_changed_since(registry: Registry) -> None:
    ids = curated(registry)
    head = registry.changes(since=0, limit=10_000)[-1].seq
    assert exported(registry, since=head) == []
    registry.record_links([link("e8", ids["d"])])
    assert [r["identity_id"] for r in exported(registry, since=head)] == [ids["d"]]


def test_export_as_csv(registry: Registry) -> None:
    ids = curated(registry)
    handle = io.BytesIO()
    count = write_identities(iter_identities(registry), "csv", handle)
    rows = list(csv.DictReader(io.StringIO(handle.getvalue().decode())))
    assert count == len(rows) == 4
    by_id = {r["identity_id"]: r for r in rows}
    assert json.loads(by_id[ids["d"]]["mention_ids"]) == ["e6"]
    assert by_id[ids["c"]]["merged_into"] == "" and by_id[ids["a"]]["merged_into"] == ids["b"]


def test_export_then_load_into_a_fresh_registry_gives_the_same_identities(
    registry: Registry, backend_url: str, tmp_path: Path
) -> None:
    ids = curated(registry)
    before = exported(registry)
    dump = tmp_path / "identities.jsonl"
    with dump.open("wb") as handle:
        write_identities(iter_identities(registry, with_mentions=True), "jsonl", handle)
    if backend_url.startswith("sqlite"):
        fresh = Registry(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:  # the same PostgreSQL database, emptied: a fresh registry on that backend
        registry.close()
        with Registry(backend_url).engine.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        fresh = Registry(backend_url)
    fresh.migrate()
    try:
        report = load_export(fresh, dump)
        assert (report.identities, report.mentions, report.merged, report.split) == (4, 7, 2, 1)
        assert without_seqs(exported(fresh)) == without_seqs(before)
        record = fresh.get_identity(ids["a"])
        assert (record.resolved_id, record.merge_path) == (ids["c"], (ids["a"], ids["b"], ids["c"]))
        assert fresh.get_identity(ids["d"]).split_from == ids["c"]
        with pytest.raises(LoadError, match="already holds identities"):
            load_export(fresh, dump)
    finally:
        fresh.close()


def test_load_refuses_an_export_without_mentions(registry: Registry, tmp_path: Path) -> None:
    curated(registry)
    dump = tmp_path / "ids.jsonl"
    with dump.open("wb") as handle:
        write_identities(iter_identities(registry), "jsonl", handle)
    fresh = Registry(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.migrate()
    try:
        with pytest.raises(LoadError, match="--with-mentions"):
            load_export(fresh, dump)
        assert exported(fresh) == []  # nothing half-loaded
    finally:
        fresh.close()


@pytest.fixture(scope="module")
def haziza() -> list[dict[str, Any]]:
    return [m.to_dict() for m in LabelledCorpus.read(EXAMPLE).mentions]


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


def place(tmp_path: Path, records: list[dict[str, Any]], groups: list[list[int]]) -> tuple[Registry, list[str]]:
    """A SQLite registry holding the example mentions in the given (deliberately wrong) identities."""
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    ids: list[str] = []
    for first, *rest in groups:
        (stored,) = registry.record_links([NewLink(records[first]["mention_id"], "haziza_d", records[first], None, 1)])
        registry.record_links(
            [NewLink(records[k]["mention_id"], "haziza_d", records[k], stored.identity_id, 1) for k in rest]
        )
        ids.append(stored.identity_id)
    return registry, ids


def test_reclustering_splits_off_like_a_split(
    tmp_path: Path, haziza: list[dict[str, Any]], model: PairwiseModel
) -> None:
    # Both people in one identity: the survey statistician (3 mentions) keeps it.
    registry, (both,) = place(tmp_path, haziza, [[0, 1, 3, 4, 5]])
    report = recluster(model, registry)
    owners = {mid: owner for mid, owner, _ in registry.block("haziza_d")}
    assert owners["haziza-3"] == owners["haziza-4"] == owners["haziza-5"] == both
    new_ids = {owners["haziza-0"], owners["haziza-1"]}
    assert both not in new_ids and report.ids_created == len(new_ids)
    for new in new_ids:
        assert registry.get_identity(new).split_from == both
    registry.close()


def test_reclustering_retires_an_id_like_a_merge(
    tmp_path: Path, haziza: list[dict[str, Any]], model: PairwiseModel
) -> None:
    # One person scattered over two identities: the smaller id redirects to the larger.
    registry, (larger, smaller, other) = place(tmp_path, haziza, [[0, 1], [2], [3, 4, 5]])
    recluster(model, registry)
    record = registry.get_identity(smaller)
    assert (record.resolved_id, record.merge_path, record.mention_count) == (larger, (smaller, larger), 3)
    assert registry.get_identity(other).merge_path == ()
    retired = [c for c in registry.changes(limit=10_000) if c.kind == "reclustered" and c.detail.get("retired")]
    assert [(c.identity_id, c.other_identity_id) for c in retired] == [(smaller, larger)]
    registry.close()
