"""Online resolution against a real SQLite registry with the shipped model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from disambig.model import PairwiseModel, load_model
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.training import LabelledCorpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture
def resolver(model: PairwiseModel, tmp_path: Path) -> Iterator[Resolver]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    yield Resolver(model, registry)
    registry.close()


def test_one_at_a_time_resolution_splits_the_homonyms(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    identities: dict[str, set[str]] = defaultdict(set)
    for mention, person in zip(corpus.mentions, corpus.labels, strict=True):
        (resolution,) = resolver.resolve([mention])
        identities[person].add(resolution.identity_id)
    assert all(len(ids) == 1 for ids in identities.values())
    assert len(set.union(*identities.values())) == 2


def test_resolution_is_idempotent_and_persisted(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    first = resolver.resolve(corpus.mentions)
    again = resolver.resolve(corpus.mentions)
    assert [r.identity_id for r in again] == [r.identity_id for r in first]
    assert not any(r.created for r in again)
    assert sum(r.created for r in first) == len({r.identity_id for r in first})
    kinds = [c.kind for c in resolver.registry.changes(limit=10_000)]
    assert kinds.count("linked") == len(corpus.mentions)


def test_a_link_comes_with_its_evidence(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    resolutions = resolver.resolve(corpus.mentions[:2])
    assert resolutions[0].created
    linked = resolutions[1]
    assert not linked.created and linked.identity_id == resolutions[0].identity_id
    assert any("shared coauthor" in line for line in linked.explanation)
    assert 0.0 < linked.confidence <= 1.0
