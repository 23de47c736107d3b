"""A registry's word-order votes: "Wang Xiaoming", resolved one mention at a time, is read the way
the registry's names say, as a batch reads it the way its corpus's names say."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.reclustering import recluster
from disambig.registry import Registry
from disambig.resolving import Resolver

TITLE = "Spectral partitioning of sparse graphs on many cores"
COAUTHORS = ("Li Chen", "Jun Zhao")


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    yield registry
    registry.close()


def paper(mention_id: str, name: str) -> Mention:
    return Mention(mention_id, name, COAUTHORS, title=TITLE, venue="SIAM J. Sci. Comput.", year=2019)


def firm_wangs(count: int) -> list[Mention]:
    """Names with one reading that make Wang a surname (strangers: other initials, no context)."""
    givens = ["Bo", "Li", "Hui", "Jie", "Ping"][:count]
    return [Mention(f"firm-{k}", f"Wang, {given}") for k, given in enumerate(givens)]


def block_of(registry: Registry, mention_id: str) -> str:
    return next(key for key in registry.block_keys() if mention_id in {m for m, _, _ in registry.block(key)})


def test_without_votes_a_name_keeps_its_own_reading(model: PairwiseModel, registry: Registry) -> None:
    Resolver(model, registry).resolve([paper("a", "Wang Xiaoming")])
    assert block_of(registry, "a") == "xiaoming_w"


def test_an_order_ambiguous_name_goes_where_the_registry_votes(model: PairwiseModel, registry: Registry) -> None:
    resolver = Resolver(model, registry)
    resolver.resolve(firm_wangs(3))
    (first,) = resolver.resolve([paper("a", "Xiaoming Wang")])
    (second,) = resolver.resolve([paper("b", "Wang Xiaoming")])  # surname first, as its registry writes Wang
    assert block_of(registry, "b") == "wang_x"
    assert not second.created and second.identity_id == first.identity_id
    # Stored in the block of its other reading, it is not misplaced, and re-clustering reads it so.
    assert registry.misplaced() == []
    report = recluster(model, registry, ["wang_x"])
    assert report.mentions == 2 and report.mentions_moved == 0


def test_coauthors_vote_online_as_in_a_batch(model: PairwiseModel, registry: Registry) -> None:
    resolver = Resolver(model, registry)
    resolver.resolve([Mention("x", "Li Chen", ("X. Wang", "Wang, Bo"))])  # no mention name says Wang
    resolver.resolve([paper("b", "Wang Xiaoming")])
    assert block_of(registry, "b") == "wang_x"


def test_a_stored_spelling_stays_in_its_block_when_the_votes_move(model: PairwiseModel, registry: Registry) -> None:
    resolver = Resolver(model, registry)
    (first,) = resolver.resolve([paper("a", "Wang Xiaoming")])  # no votes yet: its own reading
    resolver.resolve(firm_wangs(5))  # now the registry writes Wang as a surname
    (again,) = resolver.resolve([paper("b", "Wang Xiaoming")])
    assert block_of(registry, "b") == "xiaoming_w" and again.identity_id == first.identity_id
    # A new spelling follows the votes.
    resolver.resolve([paper("c", "Wang Ming")])
    assert block_of(registry, "c") == "wang_m"
    # A restarted server knows where the spelling is once it has read the block (its warm-up).
    restarted = Resolver(model, Registry(registry.url))
    restarted.warm_up(30)
    (later,) = restarted.resolve([paper("d", "Wang Xiaoming")])
    assert block_of(registry, "d") == "xiaoming_w" and later.identity_id == first.identity_id
    restarted.registry.close()
