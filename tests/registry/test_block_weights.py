"""A block's weights depend on what the registry holds, not on a process's history of loads: a
server that cached a block as it grew, one restarted mid-way, and a replica that wrote half of
it all hold the very table a cache starting empty reads (`weights_ladder`). What that means
for resolutions is tested end to end in tests/reliability/test_faults.py."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
import scipy.sparse as sp

from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.names import parse_name
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.stored_mentions import StoredBlock, StoredMentions, weights_ladder
from disambig.training import LabelledCorpus


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture(scope="module")
def block_mentions(shared_data: Path) -> list[Mention]:
    """The first 40 mentions (in file order) of the qian_dblp_dev block with the most people in them."""
    corpus = LabelledCorpus.read(shared_data / "qian_dblp_dev.jsonl.gz")
    by_key: dict[str, list[tuple[Mention, str]]] = {}
    for mention, person in zip(corpus.mentions, corpus.labels, strict=True):
        by_key.setdefault(parse_name(mention.name).block_key, []).append((mention, str(person)))
    groups = [group[:40] for group in by_key.values() if len(group) >= 40]
    return [m for m, _ in max(groups, key=lambda group: len({p for _, p in group}))]


def load(registry: Registry, cache: StoredMentions, key: str, model: PairwiseModel) -> StoredBlock:
    with registry.reading() as session:
        return cache.load(session, key, model.text_prior)


def assert_same_block(cached: StoredBlock, fresh: StoredBlock) -> None:
    """The same rows in the same order, weighted alike to the last bit."""
    assert [m.mention_id for m in cached.mentions] == [m.mention_id for m in fresh.mentions]
    assert cached.owners == fresh.owners
    assert cached.weights.coauthor_docs == fresh.weights.coauthor_docs
    for field, idf in fresh.weights.text_idf.items():
        assert cached.weights.text_idf[field].n_docs == idf.n_docs, field
    matrices = [*cached.table.text.values(), cached.table.coauthor_weighted]
    expected = [*fresh.table.text.values(), fresh.table.coauthor_weighted]
    for got, want in zip(matrices, expected, strict=True):
        assert got.shape[0] == want.shape[0]
        width = max(got.shape[1], want.shape[1])
        difference = sp.csr_matrix(got, shape=(got.shape[0], width)) - sp.csr_matrix(want, shape=(want.shape[0], width))
        assert difference.count_nonzero() == 0


def test_the_ladder_refits_at_each_tenth_and_counts_most_of_the_block() -> None:
    steps = [size for size in range(1, 5_000) if weights_ladder(size)[0] == size]
    assert steps[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert all(later - earlier == max(1, earlier // 10) for earlier, later in pairwise(steps))
    for size in (1, 9, 10, 21, 22, 23, 999, 4_999):
        fitted, refit_at = weights_ladder(size)
        assert fitted <= size < refit_at
        assert fitted >= size / 1.1 - 1
        assert weights_ladder(refit_at)[0] == refit_at
    assert weights_ladder(0) == (0, 1)


def test_a_block_cached_as_it_grew_is_the_block_read_afresh(
    registry: Registry, model: PairwiseModel, block_mentions: list[Mention]
) -> None:
    """One mention at a time, and some in pairs: each load appends, or refits at the ladder's
    steps; at every size the cached table is the one a restarted server would read."""
    key = parse_name(block_mentions[0].name).block_key
    resolver = Resolver(model, registry)
    refits = 0
    position = 0
    while position < len(block_mentions):
        size = 1 if position % 7 else 2
        resolver.resolve(block_mentions[position : position + size])
        position += size
        before = resolver.stored_mentions.checkpoint([key]).tables[key]
        cached = load(registry, resolver.stored_mentions, key, model)
        refits += before is not None and cached.weights is not before.weights
        assert_same_block(cached, load(registry, StoredMentions(), key, model))
    assert refits > 0, "the ladder's steps were crossed"


def test_replicas_writing_one_block_hold_the_same_table(
    registry: Registry, model: PairwiseModel, block_mentions: list[Mention]
) -> None:
    """Two servers take turns on one block, each loading the other's writes as a delta: both
    tables, and a fresh read, are equal after every turn."""
    key = parse_name(block_mentions[0].name).block_key
    replica = Resolver(model, Registry(registry.url))
    resolver = Resolver(model, registry)
    try:
        for turn, start in enumerate(range(0, len(block_mentions), 3)):
            writer = (resolver, replica)[turn % 2]
            writer.resolve(block_mentions[start : start + 3])
            fresh = load(registry, StoredMentions(), key, model)
            assert_same_block(load(registry, resolver.stored_mentions, key, model), fresh)
            assert_same_block(load(replica.registry, replica.stored_mentions, key, model), fresh)
    finally:
        replica.registry.close()
