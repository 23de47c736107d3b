"""A model with the sentence-embedding feature on every path: the one-table engine, the streaming
engine, online resolution and re-clustering all give it embeddings (conftest.WordEmbedder stands
in for all-MiniLM-L6-v2, so these run without torch). A path that built a table without them
would fail loudly: the feature refuses a table without embeddings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from disambig.block_scoring import BlockIndex, OneRowContext
from disambig.corpus import TableWeights, stack_tables
from disambig.engine import Engine
from disambig.features import BlockNames, PairContext, feature_set, featurize
from disambig.model import PairwiseModel
from disambig.names import parse_name
from disambig.readers import read_mentions
from disambig.reclustering import recluster
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.stored_mentions import parts_of
from disambig.streaming import StreamingEngine
from disambig.training import LabelledCorpus

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "haziza.jsonl"


def test_streaming_engine_gives_the_one_table_identities(
    fake_embedder: Any, embedding_model: PairwiseModel, shared_data: Path
) -> None:
    mentions = list(read_mentions(shared_data / "qian_dblp_dev.jsonl.gz"))[::5]
    expected = Engine(embedding_model, jobs=1).cluster(mentions)
    with StreamingEngine(embedding_model, jobs=2, shards=3).cluster(iter(mentions)) as clustered:
        got = [a for _, a in clustered]
    assert got == expected
    assert len({a.identity_id for a in expected}) < len(mentions)  # the model links some


def test_one_new_row_gets_the_embedding_feature_bit_for_bit(
    fake_embedder: Any, embedding_model: PairwiseModel, shared_data: Path
) -> None:
    by_key: dict[str, list[Any]] = {}
    for mention in read_mentions(shared_data / "qian_dblp_dev.jsonl.gz"):
        by_key.setdefault(parse_name(mention.name).block_key, []).append(mention)
    mentions = max(by_key.values(), key=len)[:60]
    features = feature_set(True)
    weights = TableWeights.fit(parts_of(mentions[:40], embed=True), embedding_model.text_prior)
    table = weights.rows(parts_of(mentions[:40], embed=True))
    index = BlockIndex(table)
    for mention in mentions[40:]:
        row = weights.rows(parts_of([mention], embed=True))
        full = stack_tables(table, row)
        assert full.embeddings is not None and len(full.embeddings) == len(full)
        _, context = index.context(full, row)
        assert isinstance(context, OneRowContext)
        n = len(table)
        pairs = (np.full(n, n), np.arange(n))
        fast = featurize(context, pairs, features)
        slow = featurize(PairContext(full, BlockNames(full), n, n + 1), pairs, features)
        assert np.array_equal(fast, slow, equal_nan=True)
        index, table = index.extended(full), full
    # Stacking a row takes its embeddings along
    row = weights.rows(parts_of([dataclasses.replace(mentions[0], mention_id="again")], embed=True))
    stacked = stack_tables(table, row).embeddings
    assert stacked is not None and table.embeddings is not None and row.embeddings is not None
    assert np.array_equal(stacked, np.concatenate([table.embeddings, row.embeddings]))


def test_online_resolution_and_reclustering(fake_embedder: Any, embedding_model: PairwiseModel, tmp_path: Path) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    try:
        resolver = Resolver(embedding_model, registry)
        assert resolver.stored_mentions.embed
        resolutions = [resolver.resolve([m])[0] for m in corpus.mentions]
        linked = [r for r in resolutions if not r.created]
        assert linked and any("text embedding similarity" in line for r in linked for line in r.explanation)
        jointly = resolver.resolve([dataclasses.replace(m, mention_id=m.mention_id + "b") for m in corpus.mentions])
        assert len(jointly) == len(corpus.mentions)
        report = recluster(embedding_model, registry)
        assert report.mentions == 2 * len(corpus.mentions)
    finally:
        registry.close()
