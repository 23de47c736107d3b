"""What the block cache undoes: a decision made again under the lock starts from the tables its
wave started from (`StoredMentions.restore`); after a failure, the blocks concerned are forgotten
(`StoredMentions.forget`) and every other cached block still follows the change feed."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from disambig.errors import InvalidMentionError
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.names import parse_name
from disambig.registry import Registry
from disambig.registry.store import BlockSession
from disambig.resolving import Resolver, _Decision, _Job
from disambig.stored_mentions import Computed, FeedPosition, StoredMentions, weights_ladder

COAUTHORS = ("Charles Babbage", "Mary Somerville", "Augustus De Morgan")
ADA, GRACE = "Ada Lovelace", "Grace Hopper"


def person(mention_id: str, name: str = ADA, title: str = "Notes on the analytical engine") -> Mention:
    """Mentions of one name written alike: they link into one identity."""
    return Mention(
        mention_id=mention_id, name=name, coauthors=COAUTHORS, title=title, venue="Scientific Memoirs", year=1843
    )


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


def block_state(registry: Registry, cache: StoredMentions, key: str, model: PairwiseModel) -> dict[str, str]:
    """Mention id -> owner of a block as the cache loads it."""
    with registry.reading() as session:
        block = cache.load(session, key, model.text_prior)
    return dict(zip((m.mention_id for m in block.mentions), block.owners, strict=True))


def split_one_off(registry: Registry, key: str, model: PairwiseModel) -> None:
    """A move between identities: one mention split off the block's one identity."""
    (identity,) = set(block_state(registry, StoredMentions(), key, model).values())
    members, _ = registry.list_mentions(identity)
    assert len(members) > 1
    registry.split(identity, [members[0]["mention_id"]], reason="test")


def test_a_failed_remember_leaves_the_other_blocks_following_the_feed(
    registry: Registry, model: PairwiseModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keeping committed mentions in the cache fails: their blocks are read again, and a block
    cached before still sees a split made afterwards (the feed position is not lost)."""
    resolver = Resolver(model, registry)
    grace = parse_name(GRACE).block_key
    resolver.resolve([person("g1", GRACE), person("g2", GRACE)])
    block_state(registry, resolver.stored_mentions, grace, model)  # cached with g1 and g2 in one identity

    def failing(computed: Sequence[Computed]) -> None:
        raise MemoryError("remember")

    monkeypatch.setattr(resolver.stored_mentions, "remember", failing)
    (resolution,) = resolver.resolve([person("a1")])  # committed all the same
    monkeypatch.undo()
    assert registry.stored(["a1"]) == {"a1": (resolution.identity_id, resolution.confidence)}
    ada = parse_name(ADA).block_key
    assert resolver.stored_mentions.checkpoint([ada]).tables == {ada: None}
    split_one_off(registry, grace, model)  # after the failure: only reading the feed on from there shows it
    assert len(set(block_state(registry, StoredMentions(), grace, model).values())) == 2
    assert block_state(registry, resolver.stored_mentions, grace, model) == block_state(
        registry, StoredMentions(), grace, model
    )
    assert block_state(registry, resolver.stored_mentions, ada, model) == {"a1": resolution.identity_id}


def test_a_rolled_back_wave_leaves_the_other_blocks_following_the_feed(
    registry: Registry, model: PairwiseModel
) -> None:
    """A cache's first wave fails while another block is loaded into the cache (as by another
    thread): the wave's block is forgotten, and the other one still sees a split made afterwards."""
    ada, grace = parse_name(ADA).block_key, parse_name(GRACE).block_key
    replica = Resolver(model, Registry(registry.url))
    replica.resolve([person("g1", GRACE), person("g2", GRACE)])
    resolver = Resolver(model, registry)
    decide = resolver._decide

    def meanwhile(
        session: BlockSession, wave: Sequence[_Job], presumed: FeedPosition | None = None
    ) -> tuple[list[_Decision | None], int]:
        decided = decide(session, wave, presumed)
        block_state(registry, resolver.stored_mentions, grace, model)  # another call's load
        return decided

    resolver._decide = meanwhile  # type: ignore[method-assign]
    with pytest.raises(InvalidMentionError):
        resolver.resolve([person("x" * 600)])  # refused when written: the transaction rolls back
    resolver._decide = decide  # type: ignore[method-assign]
    assert resolver.stored_mentions.checkpoint([ada]).tables == {ada: None}
    split_one_off(replica.registry, grace, model)  # made after the failure
    assert block_state(registry, resolver.stored_mentions, grace, model) == block_state(
        registry, StoredMentions(), grace, model
    )
    replica.registry.close()


def test_a_decision_made_again_starts_from_the_tables_its_wave_started_from(
    registry: Registry, model: PairwiseModel
) -> None:
    """Overtaken, a decision is made again from the block's table as the wave found it, not from
    the table its first decision loaded: the block has since reached its next refit
    (`weights_ladder`), and its table is rebuilt from the table the wave found, as a decision
    made under the lock in the first place would have rebuilt it."""
    ada = parse_name(ADA).block_key
    replica = Resolver(model, Registry(registry.url))
    cached = 20
    appended = weights_ladder(cached)[1] - cached - 1  # as many as a load may append without a refit
    replica.resolve([person(f"a{k:02d}", title=f"Notes {k} on the analytical engine") for k in range(cached)])
    resolver = Resolver(model, registry)
    block_state(registry, resolver.stored_mentions, ada, model)
    (started_from,) = resolver.stored_mentions.checkpoint([ada]).tables.values()
    assert started_from is not None and len(started_from.ids) == cached
    replica.resolve([person(f"b{k}") for k in range(appended)])  # appended by the first decision's load

    decide = resolver._decide
    loaded: list[int] = []

    def overtaken(
        session: BlockSession, wave: Sequence[_Job], presumed: FeedPosition | None = None
    ) -> tuple[list[_Decision | None], int]:
        decided = decide(session, wave, presumed)
        (table,) = resolver.stored_mentions.checkpoint([ada]).tables.values()
        assert table is not None
        loaded.append(len(table.ids))
        if len(loaded) == 1:
            assert table.weights is started_from.weights  # appended to
            replica.resolve([person("overtaking")])
        return decided

    resolver._decide = overtaken  # type: ignore[method-assign]
    resolver.resolve([person("new")])
    assert loaded == [cached + appended, cached + appended + 1], "decided again"
    (table,) = resolver.stored_mentions.checkpoint([ada]).tables.values()
    assert table is not None and table.weights is not started_from.weights  # refitted
    assert block_state(registry, resolver.stored_mentions, ada, model) == block_state(
        registry, StoredMentions(), ada, model
    )
    replica.registry.close()
