"""What a resolver keeps between calls (block tables synced through the change feed) and group
commit: the same identities as resolving afresh, one call at a time, with nothing lost,
nothing stored twice, and no reply before its commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from disambig.errors import DeadlineExceeded, InvalidMentionError
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.names import parse_name
from disambig.registry import NewLink, Registry
from disambig.registry.store import BlockSession
from disambig.resolving import Resolver, _Job
from disambig.stored_mentions import StoredMentions
from disambig.training import LabelledCorpus


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture(scope="module")
def mentions(shared_data: Path) -> list[Mention]:
    """qian_dblp_dev mentions of a few blocks, in file order."""
    corpus = LabelledCorpus.read(shared_data / "qian_dblp_dev.jsonl.gz")
    by_key: dict[str, list[Mention]] = {}
    for mention in corpus.mentions:
        by_key.setdefault(parse_name(mention.name).block_key, []).append(mention)
    keys = sorted(by_key, key=lambda k: len(by_key[k]))[-12:-9]
    return [m for m in corpus.mentions if parse_name(m.name).block_key in keys][:150]


def snapshot(registry: Registry) -> dict[str, tuple[str, float]]:
    with registry.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT mention_id, identity_id, confidence FROM mentions").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def block_state(registry: Registry, cache: StoredMentions, key: str, model: PairwiseModel) -> dict[str, str]:
    """Mention id -> owner of a block as a cache loads it."""
    with registry.reading() as session:
        block = cache.load(session, key, model.text_prior)
    assert len(block.table) == len(block.mentions) == len(block.owners) == len(block.codes.code)
    return dict(zip((m.mention_id for m in block.mentions), block.owners, strict=True))


def test_cached_blocks_follow_other_writers(registry: Registry, model: PairwiseModel, mentions: list[Mention]) -> None:
    """A block cached by one server is brought up to date with what a replica linked, merged and
    split since: the same mentions and owners as a cache starting empty."""
    resolver = Resolver(model, registry)
    replica = Resolver(model, Registry(registry.url))
    key = parse_name(mentions[0].name).block_key
    ours = [m for m in mentions if parse_name(m.name).block_key == key]

    def state(cache: StoredMentions) -> dict[str, str]:
        return block_state(registry, cache, key, model)

    resolver.resolve(ours[:20])
    assert state(resolver.stored_mentions) == state(StoredMentions())
    replica.resolve(ours[20:24])  # linked by another process
    assert state(resolver.stored_mentions) == state(StoredMentions())
    # A split then a merge, each moving mentions between identities (split first: however the
    # model clustered the block, there are then two identities to merge).
    owners = [identity for identity, _ in snapshot(registry).values()]
    largest = max(sorted(set(owners)), key=owners.count)
    members, _ = replica.registry.list_mentions(largest)
    assert len(members) > 1
    remaining, split_off = replica.registry.split(largest, [members[0]["mention_id"]], reason="test")
    assert state(resolver.stored_mentions) == state(StoredMentions())
    replica.registry.merge([remaining, split_off], reason="test")
    assert state(resolver.stored_mentions) == state(StoredMentions())
    replica.resolve([replace(ours[25], mention_id="probe")])
    assert state(resolver.stored_mentions) == state(StoredMentions())
    replica.registry.close()


def test_a_block_only_this_resolver_wrote_is_brought_up_to_date_without_reading_its_delta(
    registry: Registry, model: PairwiseModel, mentions: list[Mention], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The feed tells a resolver which changes were its own links: while nobody else writes, a
    block it cached is extended from what it stored, with no read of what was linked into the
    block; once a replica links into it, the delta is read again. Either way the block is what
    a cache starting empty loads."""
    resolver = Resolver(model, registry)
    replica = Resolver(model, Registry(registry.url))
    key = parse_name(mentions[0].name).block_key
    ours = [m for m in mentions if parse_name(m.name).block_key == key]
    delta_reads: list[str] = []
    record_reads: list[str] = []
    read_delta, read_records = BlockSession.block_delta, BlockSession.records

    def counted(session: BlockSession, block_key: str, after_seq: int) -> list[tuple[str, str, Mapping[str, Any]]]:
        delta_reads.append(block_key)
        return read_delta(session, block_key, after_seq)

    def records_counted(session: BlockSession, mention_ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        record_reads.extend(mention_ids)
        return read_records(session, mention_ids)

    monkeypatch.setattr(BlockSession, "block_delta", counted)
    monkeypatch.setattr(BlockSession, "records", records_counted)
    resolver.resolve(ours[:2])  # the block is read whole, then cached
    delta_reads.clear()
    for mention in ours[2:8]:
        resolver.resolve([mention])
    assert key not in delta_reads
    assert block_state(registry, resolver.stored_mentions, key, model) == block_state(
        registry, StoredMentions(), key, model
    )
    replica.resolve(ours[8:10])  # another process links into the block
    delta_reads.clear()
    record_reads.clear()
    resolver.resolve([ours[10]])
    assert key in delta_reads
    assert not record_reads, "the replica's mentions came with the delta, not in a read of their own"
    assert block_state(registry, resolver.stored_mentions, key, model) == block_state(
        registry, StoredMentions(), key, model
    )
    replica.registry.close()


def test_group_commit_gives_the_one_by_one_identities(
    registry: Registry, model: PairwiseModel, mentions: list[Mention], tmp_path: Path
) -> None:
    """Eight threads resolving single mentions at once: every call answered after its commit,
    each mention stored once, and the identities those of resolving the mentions one by one in
    the order they were stored (the change feed's order)."""
    resolver = Resolver(model, registry)
    sizes: list[int] = []
    resolve_group = resolver._resolve_group

    def counted(group: list[_Job]) -> None:
        sizes.append(len(group))
        resolve_group(group)

    resolver._resolve_group = counted  # type: ignore[method-assign]
    observer = Registry(registry.url)
    answers: dict[str, tuple[str, float]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(mine: list[Mention]) -> None:
        try:
            for mention in mine:
                (resolution,) = resolver.resolve([mention])
                # The reply comes after the commit: another connection sees the mention stored.
                assert observer.stored([mention.mention_id]) == {
                    mention.mention_id: (resolution.identity_id, resolution.confidence)
                }
                with lock:
                    answers[mention.mention_id] = (resolution.identity_id, resolution.confidence)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(mentions[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(sizes) == len(mentions) and max(sizes) > 1  # calls were grouped
    assert answers == snapshot(registry)
    feed = registry.changes(limit=100_000)
    linked = [c.mention_id for c in feed if c.kind == "linked"]
    assert sorted(linked) == sorted(m.mention_id for m in mentions)  # each stored once
    # One at a time, in the order the group commits stored them, into a fresh registry.
    order = {mention_id: k for k, mention_id in enumerate(linked)}
    again = Registry(f"sqlite:///{tmp_path / 'again.db'}")
    again.migrate()
    one_by_one = Resolver(model, again, group_commit=False)
    for mention in sorted(mentions, key=lambda m: order[m.mention_id]):
        one_by_one.resolve([mention])
    assert snapshot(again) == answers
    again.close()
    observer.close()


def test_a_failed_group_is_resolved_call_by_call(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    resolver = Resolver(model, registry)
    first, second, third, fourth = (_Job([m], None) for m in mentions[:4])
    too_long = _Job([replace(mentions[4], mention_id="x" * 600)], None)  # refused when written
    gone = _Job([mentions[5]], lambda: False)  # its caller gave up
    resolver._resolve_group([first, too_long, second, gone, third, fourth])
    assert isinstance(too_long.error, InvalidMentionError)
    assert isinstance(gone.error, DeadlineExceeded)
    stored = snapshot(registry)
    assert set(stored) == {m.mention_id for m in mentions[:4]}
    for job in (first, second, third, fourth):
        assert job.error is None and job.result is not None
        (resolution,) = job.result
        assert stored[resolution.mention_id] == (resolution.identity_id, resolution.confidence)
    # The caches hold nothing of the rolled-back group.
    for key in {parse_name(m.name).block_key for m in mentions[:6]}:
        assert block_state(registry, resolver.stored_mentions, key, model) == block_state(
            registry, StoredMentions(), key, model
        )


def test_a_group_with_a_deadline_stores_the_others(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    resolver = Resolver(model, registry)
    kept, dropped, also = _Job([mentions[0]], None), _Job([mentions[1]], lambda: False), _Job([mentions[2]], None)
    resolver._resolve_group([kept, dropped, also])
    assert isinstance(dropped.error, DeadlineExceeded)
    assert set(snapshot(registry)) == {mentions[0].mention_id, mentions[2].mention_id}
    assert len([c for c in registry.changes(limit=1000) if c.kind == "linked"]) == 2


def test_record_links_writes_what_one_link_at_a_time_wrote(registry: Registry) -> None:
    """Links to new and existing identities, to a merged one, and a mention twice in one call."""
    record = {"name": "Ada Lovelace"}
    first = registry.record_links(
        [NewLink("m1", "lovelace_a", record, None, 1.0), NewLink("m2", "lovelace_a", record, None, 1.0)]
    )
    a, b = first[0].identity_id, first[1].identity_id
    survivor = registry.merge([a, b])
    absorbed = b if survivor == a else a
    out = registry.record_links(
        [
            NewLink("m3", "lovelace_a", record, absorbed, 0.9),  # followed to the survivor
            NewLink("m4", "lovelace_a", record, survivor, 0.8),
            NewLink("m4", "lovelace_a", record, None, 0.1),  # the same mention again: stored once
            NewLink("m1", "lovelace_a", record, None, 0.5),  # stored before: keeps its identity
        ]
    )
    assert [(s.identity_id, s.created, s.already_stored) for s in out] == [
        (survivor, False, False),
        (survivor, False, False),
        (survivor, False, True),
        (survivor, False, True),
    ]
    feed = registry.changes(limit=100)
    assert [c.seq for c in feed] == list(range(1, len(feed) + 1))  # gap-free
    linked = [c for c in feed if c.kind == "linked"]
    assert [(c.mention_id, c.identity_id) for c in linked[-2:]] == [("m3", survivor), ("m4", survivor)]
    assert registry.get_identity(survivor).mention_count == 4
    with registry.engine.connect() as conn:
        query = text("SELECT updated_seq FROM identities WHERE identity_id = :i")
        assert conn.execute(query, {"i": survivor}).scalar_one() == linked[-1].seq


def test_warm_up_loads_the_largest_blocks_as_first_calls_would(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    Resolver(model, registry).resolve(mentions[:60])
    warm = Resolver(model, Registry(registry.url))
    sizes = registry.block_sizes()
    assert warm.warm_up(60.0) == (len(sizes), sum(n for _, n in sizes))
    for key, _ in sizes:
        assert block_state(registry, warm.stored_mentions, key, model) == block_state(
            registry, StoredMentions(), key, model
        )
    assert Resolver(model, Registry(registry.url)).warm_up(0.0) == (0, 0)
    warm.registry.close()


def test_only_the_newest_mention_of_a_block_keeps_its_tables(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    """Each remembered mention could hold two whole copies of its block; only the newest of a
    block may, so the memory kept between loads stays one block's worth per block."""
    resolver = Resolver(model, registry)
    key = parse_name(mentions[0].name).block_key
    ours = [m for m in mentions if parse_name(m.name).block_key == key]
    resolver.resolve(ours[:20])  # the block is stored and cached
    resolver.resolve(ours[20:26])  # few for the block: resolved one at a time, in one call
    kept = [c for c in resolver.stored_mentions._rows.values() if c.block_key == key]
    with_tables = [c for c in kept if c.before is not None or c.after is not None or c.index is not None]
    assert len(with_tables) <= 1
    # Resolving on from there gives what a fresh resolver over the same registry gives.
    assert block_state(registry, resolver.stored_mentions, key, model) == block_state(
        registry, StoredMentions(), key, model
    )


def test_block_tables_beyond_capacity_evict_the_least_recently_loaded(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    names = ("Ada Kowalczyk", "Ada Nowak", "Ada Zielinska")
    Resolver(model, registry).resolve(
        [replace(m, name=names[k % 3], mention_id=f"c{k}") for k, m in enumerate(mentions[:30])]
    )
    sizes = dict(registry.block_sizes())
    first, second, third = (parse_name(name).block_key for name in names)
    # Room for the first two blocks, not for the third beside both of them.
    cache = StoredMentions(capacity=sizes[first] + sizes[second] + sizes[third] - 1)
    for key in (first, second):
        block_state(registry, cache, key, model)
    assert all(cache.checkpoint([first, second]).tables.values())
    block_state(registry, cache, first, model)  # used again: now the most recent
    block_state(registry, cache, third, model)
    kept = cache.checkpoint([first, second, third]).tables
    assert kept[second] is None and kept[first] is not None and kept[third] is not None
    # Loaded again, an evicted block is what a cache starting empty reads.
    assert block_state(registry, cache, second, model) == block_state(registry, StoredMentions(), second, model)
    kept = cache.checkpoint([first, second, third]).tables
    assert sum(len(entry.ids) for entry in kept.values() if entry is not None) <= cache.capacity


def test_a_search_goes_before_the_groups_waiting(
    registry: Registry, model: PairwiseModel, mentions: list[Mention]
) -> None:
    """A search waits for the caches' current user only, not for a queue of resolution groups."""
    resolver = Resolver(model, registry)
    resolver.resolve(mentions[:3])
    order: list[str] = []
    resolve_group, links_of = resolver._resolve_group, resolver._links_of

    def group_noted(group: Any) -> None:
        order.append("group")
        resolve_group(group)

    def search_noted(*args: Any) -> dict[str, float]:
        order.append("search")
        return links_of(*args)

    resolver._resolve_group = group_noted  # type: ignore[method-assign]
    resolver._links_of = search_noted  # type: ignore[method-assign]
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # has the caches, as a long group would
        with resolver._alone():
            holding.set()
            release.wait(30)

    def wait_for(condition: Callable[[], bool]) -> None:
        for _ in range(3000):
            if condition():
                return
            time.sleep(0.001)
        raise AssertionError("the calls never queued")

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    holding.wait(30)
    threads.append(threading.Thread(target=resolver.resolve, args=([mentions[3]],)))
    threads[-1].start()
    wait_for(lambda: len(resolver._waiting) == 1)
    threads.append(threading.Thread(target=resolver.search, args=(mentions[0].name, mentions[0])))
    threads[-1].start()
    wait_for(lambda: resolver._asking == 1)
    release.set()
    for thread in threads:
        thread.join(30)
    assert order == ["search", "group"]
