"""The one-statement write of a resolution on PostgreSQL (disambig.registry.unchanged_write): it
stores exactly what the transaction would, after writes into other blocks too, and nothing when
the links' blocks changed meanwhile."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import event, select

from disambig.mention import Mention
from disambig.model import load_model
from disambig.registry import NewLink, Registry
from disambig.registry.schema import changes, identities, mentions
from disambig.registry.store import Stored, seqs_needed
from disambig.registry.unchanged_write import write_if_unchanged
from disambig.resolving import Resolution, Resolver


def link(mention_id: str, identity_id: str | None, *, create: bool = False, block: str = "haziza_d") -> NewLink:
    record = {"mention_id": mention_id, "name": "D. Haziza", "coauthors": ["M. Oquab"]}
    return NewLink(mention_id, block, record, identity_id, 0.75, create=create)


def in_one_statement(registry: Registry, links: Sequence[NewLink], since: int) -> list[Stored] | None:
    with registry.connection() as conn:
        written = write_if_unchanged(registry, conn, links, since)
    return None if written is None else written.stored


def in_the_transaction(registry: Registry, links: Sequence[NewLink], since: int) -> list[Stored] | None:
    """What the Resolver writes when the one statement does not: the feed lock, then the rows."""
    with registry.connection() as conn, registry.writing(conn, seqs_first=True) as session:
        last = session.take_seqs(seqs_needed(links))
        assert last - seqs_needed(links) == since
        return session.record_links(links, unstored=True, last_seq=last)


def last_change(registry: Registry) -> int:
    with registry.reading() as session:
        return session.last_change()


def contents(registry: Registry) -> dict[str, list[tuple[Any, ...]]]:
    with registry.engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in (identities, changes, mentions)
        }


def fresh(emptied_postgres: Callable[[], str]) -> Registry:
    registry = Registry(emptied_postgres())
    registry.migrate()
    return registry


# One wave: an identity created, linked to again in the same write, and a link to an identity
# stored before.
WAVE = [link("m2", "id-new", create=True), link("m3", "id-new"), link("m4", "id-old")]


def test_stores_what_the_transaction_stores(emptied_postgres: Callable[[], str]) -> None:
    answers: dict[str, list[Stored] | None] = {}
    held: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for name, write in (("transaction", in_the_transaction), ("one statement", in_one_statement)):
        registry = fresh(emptied_postgres)
        registry.record_links([link("m1", "id-old", create=True)])
        answers[name] = write(registry, WAVE, last_change(registry))
        held[name] = contents(registry)
        registry.close()
    assert answers["one statement"] is not None
    assert answers["one statement"] == answers["transaction"]
    assert held["one statement"] == held["transaction"]
    # id-new ends with the number of its last link (m3's), as one _record per link leaves it.
    (new_row,) = [row for row in held["one statement"]["identities"] if row[0] == "id-new"]
    (m3_seq,) = [row[0] for row in held["one statement"]["changes"] if row[4] == "m3"]
    assert new_row[-1] == m3_seq


def test_writes_nothing_when_a_change_came_between(emptied_postgres: Callable[[], str]) -> None:
    registry = fresh(emptied_postgres)
    (old,) = registry.record_links([link("m1", None)])
    since = last_change(registry)
    registry.record_links([link("other", None)])  # another writer, after the decision read `since`
    before = contents(registry)
    assert in_one_statement(registry, [link("m2", old.identity_id)], since) is None
    assert contents(registry) == before
    # At the registry's present state it writes.
    (stored,) = in_one_statement(registry, [link("m2", old.identity_id)], last_change(registry)) or []
    assert stored.identity_id == old.identity_id and registry.stored(["m2"]) == {"m2": (old.identity_id, 0.75)}
    registry.close()


def test_a_write_into_other_blocks_between_is_stepped_over(emptied_postgres: Callable[[], str]) -> None:
    """Another writer (a replica) linked a mention into another block after the decision read
    `since`: the wave is written after it, as the transaction writes it at the present state,
    in three statements (the write, a read of what changed, the write again)."""
    held: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    answers: dict[str, list[Stored] | None] = {}
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split()[0])

    for name in ("transaction", "one statement"):
        registry = fresh(emptied_postgres)
        registry.record_links([link("m1", "id-old", create=True)])
        since = last_change(registry)
        registry.record_links([link("elsewhere", "id-else", create=True, block="hopper_g")])
        if name == "transaction":
            answers[name] = in_the_transaction(registry, WAVE, last_change(registry))
        else:
            event.listen(registry.engine, "before_cursor_execute", record)
            answers[name] = in_one_statement(registry, WAVE, since)
            event.remove(registry.engine, "before_cursor_execute", record)
        held[name] = contents(registry)
        registry.close()
    assert answers["one statement"] is not None
    assert answers["one statement"] == answers["transaction"]
    assert held["one statement"] == held["transaction"]
    assert sent == ["WITH", "SELECT", "WITH"]


def test_tells_after_which_change_it_wrote(emptied_postgres: Callable[[], str]) -> None:
    """`since` when nothing came between; the last change of the writes stepped over otherwise:
    the caller's feed position is right up to `since` only, what came after it is not yet read."""
    registry = fresh(emptied_postgres)
    registry.record_links([link("m1", "id-old", create=True)])
    since = last_change(registry)
    with registry.connection() as conn:
        first = write_if_unchanged(registry, conn, [link("m2", "id-old")], since)
    registry.record_links([link("elsewhere", "id-else", create=True, block="hopper_g")])
    after_elsewhere = last_change(registry)
    with registry.connection() as conn:
        stepped = write_if_unchanged(registry, conn, [link("m3", "id-old")], since + 1)
    assert first is not None and first.after == since
    assert stepped is not None and stepped.after == after_elsewhere
    assert stepped.stored[0].changes == (after_elsewhere + 1,)
    registry.close()


def test_writes_nothing_when_a_mention_is_stored(emptied_postgres: Callable[[], str]) -> None:
    """A caller that did not read which mentions are stored (a re-sent one is) gets None and the
    registry is unchanged, even at its present state: it is never stored twice."""
    registry = fresh(emptied_postgres)
    registry.record_links([link("m1", "id-old", create=True)])
    before = contents(registry)
    resent = [link("m2", "id-new", create=True), link("m1", "id-old")]
    assert in_one_statement(registry, resent, last_change(registry)) is None
    assert contents(registry) == before
    registry.close()


def test_writes_nothing_after_a_merge_elsewhere(emptied_postgres: Callable[[], str]) -> None:
    """A merge moves mentions between identities, whatever their blocks: the caller's
    transaction decides again."""
    registry = fresh(emptied_postgres)
    (old,) = registry.record_links([link("m1", None)])
    a, b = (registry.record_links([link(m, None, block="hopper_g")])[0].identity_id for m in ("g1", "g2"))
    since = last_change(registry)
    registry.merge([a, b])
    before = contents(registry)
    assert in_one_statement(registry, [link("m2", old.identity_id)], since) is None
    assert contents(registry) == before
    registry.close()


def test_writes_nothing_to_an_identity_merged_away(emptied_postgres: Callable[[], str]) -> None:
    registry = fresh(emptied_postgres)
    a, b = (registry.record_links([link(m, None)])[0].identity_id for m in ("m1", "m2"))
    registry.record_links([link("m3", b)])
    survivor = registry.merge([a, b])
    gone = a if survivor == b else b
    before = contents(registry)
    # Even at the present state (a caller that missed the merge), a link to the merged identity
    # is left to the transaction, which follows it to the survivor.
    assert in_one_statement(registry, [link("m4", gone)], last_change(registry)) is None
    assert contents(registry) == before
    registry.close()


def test_sqlite_is_left_to_the_transaction(tmp_path: Any) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    assert in_one_statement(registry, [link("m1", None)], last_change(registry)) is None
    assert registry.stored(["m1"]) == {}
    registry.close()


def test_a_resolution_is_one_statement_when_nothing_came_between(emptied_postgres: Callable[[], str]) -> None:
    """Once its block is read and the feed was read once, a single-mention resolution on
    PostgreSQL sends one write, whether it links or creates: no read of the feed or of the stored
    mentions (nobody else wrote, which the write checks), no BEGIN or COMMIT."""
    registry = fresh(emptied_postgres)
    resolver = Resolver(load_model(), registry)
    sent: list[str] = []
    event.listen(registry.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    event.listen(registry.engine, "commit", lambda _conn: sent.append("COMMIT"))

    def statements(mention: Mention) -> tuple[Resolution, list[str]]:
        sent.clear()
        (resolution,) = resolver.resolve([mention])
        return resolution, [statement.split()[0] for statement in sent]

    haziza = Mention(mention_id="h0", name="Daniel Haziza", coauthors=("Maxime Oquab",))
    hopper = Mention(mention_id="g0", name="Grace Hopper", orcid="0000-0002-1825-0097")
    first, _ = statements(haziza)
    statements(hopper)
    linked, linking = statements(replace(haziza, mention_id="h1"))
    created, creating = statements(replace(hopper, mention_id="g1", orcid="0000-0001-5109-3700"))
    assert linked.identity_id == first.identity_id and created.created
    assert linking == creating == ["WITH"]
    registry.close()


def test_a_resent_mention_is_answered_as_stored_and_the_feed_read_first_for_a_while(
    emptied_postgres: Callable[[], str],
) -> None:
    """Decided presuming it new, a re-sent mention's write writes nothing; the call then reads
    the registry and answers with what is stored, and the next calls read the feed first."""
    registry = fresh(emptied_postgres)
    resolver = Resolver(load_model(), registry)
    sent: list[str] = []
    event.listen(registry.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    haziza = Mention(mention_id="h0", name="Daniel Haziza", coauthors=("Maxime Oquab",))
    (first,) = resolver.resolve([haziza])
    resolver.resolve([replace(haziza, mention_id="h1")])
    changes_before = contents(registry)["changes"]
    sent.clear()
    (again,) = resolver.resolve([haziza])
    # The write (nothing), what changed since (nothing), then the usual read of feed and stored.
    assert [statement.split()[0] for statement in sent] == ["WITH", "SELECT", "SELECT"]
    assert (again.identity_id, again.created) == (first.identity_id, False)
    assert contents(registry)["changes"] == changes_before
    sent.clear()
    resolver.resolve([replace(haziza, mention_id="h2")])
    assert [statement.split()[0] for statement in sent] == ["SELECT", "WITH"]
    registry.close()


def test_while_another_writer_is_busy_the_feed_is_read_first(emptied_postgres: Callable[[], str]) -> None:
    """A resolver presumes once a read of the feed found no other writer's change. A write of
    another replica (into another block) is stepped over by a presumed decision's write; the
    next call reads the feed, which shows the other writer, so the one after reads it too; once a
    read finds only this resolver's changes, it presumes again."""
    registry = fresh(emptied_postgres)
    replica_registry = Registry(registry.url)
    replica = Resolver(load_model(), replica_registry)
    resolver = Resolver(load_model(), registry)
    sent: list[str] = []
    event.listen(registry.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    haziza = Mention(mention_id="h0", name="Daniel Haziza", coauthors=("Maxime Oquab",))

    def statements(k: int) -> list[str]:
        sent.clear()
        resolver.resolve([replace(haziza, mention_id=f"h{k}")])
        return [statement.split()[0] for statement in sent]

    statements(0)  # the last change (what came before is not known), the stored check, the block
    assert statements(1) == ["SELECT", "WITH"]  # the feed, which shows no other writer's change
    assert statements(2) == ["WITH"]
    replica.resolve([Mention(mention_id="g0", name="Grace Hopper")])
    assert statements(3) == ["WITH", "SELECT", "WITH"]
    # The feed, which shows the replica's change; so the block's own new rows are read too.
    assert statements(4) == ["SELECT", "SELECT", "WITH"]
    assert statements(5) == ["SELECT", "WITH"]  # which the last read showed: reads again
    assert statements(6) == ["WITH"]
    assert len(registry.stored([f"h{k}" for k in range(7)])) == 7
    replica_registry.close()
    registry.close()
