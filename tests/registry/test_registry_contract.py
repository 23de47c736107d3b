"""One contract for every registry backend; SQLite here, PostgreSQL joins when CI provides it."""

from __future__ import annotations

import pytest

from disambig.registry import NewLink, Registry, UnknownIdentityError
from disambig.registry.schema import metadata
from disambig.registry.store import CurationError


def link(mention_id: str, identity_id: str | None = None, block: str = "haziza_d") -> NewLink:
    return NewLink(mention_id, block, {"mention_id": mention_id, "name": "D. Haziza"}, identity_id, 0.9)


def test_new_mention_creates_an_identity_and_is_idempotent(registry: Registry) -> None:
    (first,) = registry.record_links([link("m1")])
    assert first.created and not first.already_stored
    (again,) = registry.record_links([link("m1")])
    assert again.identity_id == first.identity_id and again.already_stored and not again.created
    assert registry.get_identity(first.identity_id).mention_count == 1


def test_link_to_existing_identity_and_block_listing(registry: Registry) -> None:
    (a,) = registry.record_links([link("m1")])
    registry.record_links([link("m2", a.identity_id), link("m3", block="other_x")])
    assert [m for m, _, _ in registry.block("haziza_d")] == ["m1", "m2"]
    assert registry.stored(["m1", "m2", "zz"]) == {"m1": (a.identity_id, 0.9), "m2": (a.identity_id, 0.9)}


def test_persists_across_reopen(backend_url: str) -> None:
    url = backend_url
    first = Registry(url)
    first.migrate()
    (stored,) = first.record_links([link("m1")])
    first.close()
    second = Registry(url)
    second.migrate()
    assert second.stored(["m1"]) == {"m1": (stored.identity_id, 0.9)}


def test_merge_redirects_chains_and_records_must_link(registry: Registry) -> None:
    a, b, c = (registry.record_links([link(m)])[0].identity_id for m in ("m1", "m2", "m3"))
    registry.record_links([link("m4", c), link("m5", c)])  # c is the largest: it survives
    survivor = registry.merge([a, b], reason="same person")
    survivor2 = registry.merge([survivor, c])
    assert survivor2 == c
    record = registry.get_identity(a)
    assert record.resolved_id == c and record.status == "merged" and record.mention_count == 5
    must, cannot = registry.constraints_among(["m1", "m2", "m3", "m4", "m5"])
    assert not cannot
    linked = {"m1"}
    for _ in range(5):  # the must-links join every merged mention into one group
        linked |= {b for a, b in must if a in linked} | {a for a, b in must if b in linked}
    assert linked == {"m1", "m2", "m3", "m4", "m5"}


def test_a_merge_change_names_the_survivor_and_the_ids_it_absorbed(registry: Registry) -> None:
    a, b, c = (registry.record_links([link(m)])[0].identity_id for m in ("m1", "m2", "m3"))
    registry.record_links([link("m4", b)])  # b is the largest: it survives
    survivor = registry.merge([a, b, c], reason="same person")
    merges = [change for change in registry.changes(limit=100) if change.kind == "merged"]
    (own,) = [change for change in merges if change.identity_id == survivor]
    assert sorted(own.detail["absorbed"]) == sorted([a, c])  # the survivor absorbed itself before
    assert {change.identity_id: change.other_identity_id for change in merges if change.identity_id != survivor} == {
        a: survivor,
        c: survivor,
    }


def test_profiles_are_each_identity_with_its_first_page(registry: Registry) -> None:
    a, b, c = (registry.record_links([link(m)])[0].identity_id for m in ("m1", "m2", "m3"))
    registry.record_links([link(f"m{k}", c) for k in range(4, 9)] + [link("n1", b, block="other_x")])
    merged = registry.merge([a, c])  # c is the larger: a now redirects to it
    asked = [a, b, merged, b]  # a merged id, repeats
    profiles = registry.profiles(asked, page_size=3)
    for identity_id, (record, records) in zip(asked, profiles, strict=True):
        assert record == registry.get_identity(identity_id)
        assert records == registry.list_mentions(identity_id, page_size=3)[0]
    assert [len(records) for _, records in profiles] == [3, 2, 3, 2]
    assert [r["mention_id"] for r in profiles[0][1]] == ["m1", "m3", "m4"]
    assert profiles[0][0].mention_count == 7 and profiles[0][0].merge_path == (a, merged)
    with pytest.raises(UnknownIdentityError):
        registry.profiles([b, "id-unknown"], page_size=3)


def test_split_keeps_the_id_with_the_larger_part(registry: Registry) -> None:
    (a,) = registry.record_links([link("m1")])
    registry.record_links([link(m, a.identity_id) for m in ("m2", "m3", "m4")])
    kept, new = registry.split(a.identity_id, ["m4"], reason="different person")
    assert kept == a.identity_id
    assert registry.get_identity(new).split_from == a.identity_id
    assert registry.get_identity(new).mention_count == 1
    _, cannot = registry.constraints_among(["m4"])
    assert sorted(cannot) == [("m4", "m1"), ("m4", "m2"), ("m4", "m3")]
    kept2, _ = registry.split(a.identity_id, ["m1", "m2"])  # moving the larger half keeps the id
    assert kept2 == a.identity_id


def test_curation_errors(registry: Registry) -> None:
    (a,) = registry.record_links([link("m1")])
    with pytest.raises(CurationError):
        registry.split(a.identity_id, ["m1"])  # nothing would remain
    with pytest.raises(CurationError):
        registry.split(a.identity_id, ["not-there"])
    with pytest.raises(CurationError):
        registry.merge([a.identity_id, a.identity_id])
    with pytest.raises(UnknownIdentityError):
        registry.get_identity("id-unknown")


def test_change_feed_is_ordered_gap_free_and_pages(registry: Registry) -> None:
    (a,) = registry.record_links([link("m1")])
    registry.record_links([link("m2", a.identity_id)])
    (b,) = registry.record_links([link("m3")])
    registry.merge([a.identity_id, b.identity_id])
    feed = registry.changes(since=0)
    assert [c.seq for c in feed] == list(range(1, len(feed) + 1))
    assert [c.kind for c in feed[:4]] == ["created", "linked", "linked", "created"]
    assert registry.changes(since=feed[2].seq, limit=2) == feed[3:5]


def test_list_mentions_pages_through_an_identity(registry: Registry) -> None:
    (a,) = registry.record_links([link("m00")])
    registry.record_links([link(f"m{i:02d}", a.identity_id) for i in range(1, 25)])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = registry.list_mentions(a.identity_id, page_size=10, after=cursor)
        seen += [r["mention_id"] for r in page]
        if cursor is None:
            break
    assert seen == [f"m{i:02d}" for i in range(25)]


def test_concurrent_writers_of_one_mention_end_with_one_identity(backend_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    url = backend_url
    setup = Registry(url)
    setup.migrate()
    writers = [Registry(url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda r: r.record_links([link("same")])[0], writers * 5))
    assert len({r.identity_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert [c.kind for c in setup.changes()] == ["created", "linked"]


def test_migrations_build_exactly_the_declared_schema(registry: Registry) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with registry.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_the_feed_and_stored_mentions_read_in_one_statement(registry: Registry) -> None:
    """A resolution's first read (the feed after a change, and which of its mentions are stored)
    gives what the two reads give apart, in feed order, whichever ids are asked for."""
    (a,) = registry.record_links([link("m1")])
    registry.record_links([link("m2", a.identity_id), link("n1", block="other_x")])
    registry.merge([a.identity_id, registry.stored(["n1"])["n1"][0]])
    asked = [[], ["m1"], ["zz"], ["m2", "n1", "m2", "zz"], [f"x{k}" for k in range(600)] + ["m1"]]
    with registry.reading() as session:
        for after in (0, 2, session.last_change()):
            for ids in asked:
                expected = (session.changes_after(after), session.stored(ids))
                assert session.changes_and_stored(after, ids) == expected
        assert session.changes_and_stored(0, ["m1"])[1] == {"m1": (a.identity_id, 0.9)}
        assert len(session.changes_after(0)) > 4
