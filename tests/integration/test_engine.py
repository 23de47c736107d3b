"""Engine behaviour with the shipped model: constraints, determinism, bounded blocks."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from disambig.engine import Engine
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model

SHARED = dict(
    coauthors=("Maxime Oquab", "Francisco Massa", "Piotr Bojanowski"),
    title="Self-supervised visual features with vision transformers",
    venue="arXiv",
    year=2023,
    topics=("self-supervised learning", "computer vision"),
)


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


def identities(model: PairwiseModel, mentions: list[Mention], **kwargs: int) -> dict[str, str]:
    return {a.mention_id: a.identity_id for a in Engine(model, jobs=1, **kwargs).cluster(mentions)}


def test_identical_context_same_name_merges(model: PairwiseModel) -> None:
    ids = identities(model, [Mention("a", "Daniel Haziza", **SHARED), Mention("b", "D. Haziza", **SHARED)])
    assert ids["a"] == ids["b"]


@pytest.mark.parametrize("work_id", ["", "doi:10.1000/182"])
def test_two_authors_of_one_work_are_two_people(model: PairwiseModel, work_id: str) -> None:
    # "Y. Wang" twice on one paper: every coauthor and the title shared, yet two people.
    one_paper = dict(SHARED, work_id=work_id)
    ids = identities(model, [Mention("a", "Y. Wang", **one_paper), Mention("b", "Wang Y", **one_paper)])
    assert (ids["a"] != ids["b"]) == bool(work_id)


def test_incompatible_given_names_never_merge(model: PairwiseModel) -> None:
    ids = identities(model, [Mention("a", "Daniel Haziza", **SHARED), Mention("b", "David Haziza", **SHARED)])
    assert ids["a"] != ids["b"]


def test_initial_cannot_join_two_incompatible_full_names(model: PairwiseModel) -> None:
    mentions = [
        Mention("a", "Daniel Haziza", **SHARED),
        Mention("b", "D. Haziza", **SHARED),
        Mention("c", "David Haziza", **SHARED),
    ]
    ids = identities(model, mentions)
    assert ids["a"] != ids["c"]


def test_different_orcids_never_merge(model: PairwiseModel) -> None:
    mentions = [
        Mention("a", "Daniel Haziza", orcid="0000-0001-2345-6789", **SHARED),
        Mention("b", "Daniel Haziza", orcid="https://orcid.org/0000-0002-1825-0097", **SHARED),
    ]
    ids = identities(model, mentions)
    assert ids["a"] != ids["b"]


def test_same_orcid_always_merges(model: PairwiseModel) -> None:
    mentions = [
        Mention("a", "Daniel Haziza", orcid="0000-0001-2345-6789", **SHARED),
        Mention("b", "D. Haziza", orcid="https://orcid.org/0000-0001-2345-6789", title="Survey weighting"),
    ]
    ids = identities(model, mentions)
    assert ids["a"] == ids["b"]


def test_ids_do_not_depend_on_input_order(model: PairwiseModel) -> None:
    mentions = [
        replace(Mention(f"m{i}", name, **SHARED), year=2000 + i)
        for i, name in enumerate(["Daniel Haziza", "D. Haziza", "David Haziza", "Anna van der Berg", "A. Berg"])
    ]
    shuffled = mentions[:]
    random.Random(3).shuffle(shuffled)
    assert identities(model, mentions) == identities(model, shuffled)


def test_sub_blocking_assigns_every_mention(model: PairwiseModel) -> None:
    firsts = ["Wei", "Wen", "Jun", "Jian", "W.", "J."]
    mentions = [
        Mention(f"m{i}", f"{firsts[i % len(firsts)]} Wang", coauthors=(f"Coauthor {i % 7}",), year=2000 + i % 9)
        for i in range(120)
    ]
    small = identities(model, mentions, max_block_size=10)
    assert set(small) == {m.mention_id for m in mentions}


def test_fixed_rows_stay_with_their_group_and_apart_from_other_groups(model: PairwiseModel) -> None:
    import numpy as np

    same = [Mention(k, "Daniel Haziza", **SHARED) for k in ("a", "b", "c", "d")]
    labels, confidence = Engine(model).cluster_around(same, np.array([0, 1, 1, -1]))
    assert labels[0] != labels[1], "two stored identities were merged"
    assert labels[1] == labels[2]
    assert labels[3] in (labels[0], labels[1]), "an identical free mention stayed alone"
    assert np.all((confidence >= 0) & (confidence <= 1))
