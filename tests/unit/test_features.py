"""Pairwise features computed as whole columns over a tiny block."""

from __future__ import annotations

import numpy as np

from disambig.corpus import build_table
from disambig.features import FEATURE_NAMES, BlockNames, PairContext, featurize, iter_row_slabs, slab_pairs
from disambig.mention import Mention
from disambig.names import parse_name


def _features(mentions: list[Mention]) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    names = [parse_name(m.name) for m in mentions]
    table = build_table(mentions, names)
    pairs = slab_pairs(len(mentions), 0, len(mentions) - 1)
    return featurize(PairContext(table, BlockNames(table), 0, len(mentions)), pairs), pairs


def column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, FEATURE_NAMES.index(name)]


def test_slab_pairs_cover_the_upper_triangle_once() -> None:
    n = 37
    seen = []
    for start, stop in iter_row_slabs(n, max_pairs=50):
        i, j = slab_pairs(n, start, stop)
        assert np.all(i < j)
        seen.extend(zip(i.tolist(), j.tolist()))
    expected = [(a, b) for a in range(n) for b in range(a + 1, n)]
    assert seen == expected


def test_coauthor_and_name_features() -> None:
    mentions = [
        Mention("a", "Daniel Haziza", coauthors=("Maxime Oquab", "F. Massa"), year=2020, title="Vision transformers"),
        Mention("b", "D. Haziza", coauthors=("M. Oquab", "Francisco Massa", "P. Bojanowski"), year=2023),
        Mention("c", "David Haziza", coauthors=("Jean-Francois Beaumont",), title="Survey weights"),
    ]
    x, (i, j) = _features(mentions)
    pair = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(i, j))}
    ab, ac = pair[(0, 1)], pair[(0, 2)]
    assert column(x, "shared_coauthors")[ab] == 2  # surname + initial keys agree across formats
    assert column(x, "shared_coauthors")[ac] == 0
    assert column(x, "given_match")[ab] == 1  # "D." vs "Daniel": initials agree
    assert column(x, "given_match")[ac] == 0  # Daniel vs David
    assert column(x, "year_gap")[ab] == 3
    assert np.isnan(column(x, "year_gap")[ac])  # c has no year: unknown, not 0
    assert np.isnan(column(x, "title_cosine")[ab])  # b has no title
    assert 0.0 <= column(x, "title_cosine")[ac] < 0.5


def test_identical_titles_have_cosine_one() -> None:
    mentions = [
        Mention("a", "A. Smith", title="Deep learning for protein folding"),
        Mention("b", "A. Smith", title="Deep Learning for Protein Folding!"),
    ]
    x, _ = _features(mentions)
    assert abs(column(x, "title_cosine")[0] - 1.0) < 1e-5


def test_linking_evidence_needs_more_than_an_initial_and_a_venue() -> None:
    from disambig.corpus import build_table
    from disambig.features import linking_evidence

    mentions = [
        Mention("a", "D. Haziza", venue="arXiv", coauthors=("Maxime Oquab",), title="Vision transformers"),
        Mention("b", "D. Haziza", venue="arXiv", coauthors=("Jae Kwang Kim",), title="Survey imputation"),
        Mention("c", "D. Haziza", venue="arXiv", coauthors=("M. Oquab",), title="Attention kernels"),
        Mention("d", "Haziza, J.C.", venue="Nature"),
        Mention("e", "J. C. Haziza", venue="Science"),
        Mention("f", "Daniel Haziza", venue="ICML"),
        Mention("g", "Daniel Haziza", venue="NeurIPS"),
    ]
    names = [parse_name(m.name) for m in mentions]
    table = build_table(mentions, names)
    block_names = BlockNames(table)
    i, j = slab_pairs(len(mentions), 0, len(mentions) - 1)
    x = featurize(PairContext(table, block_names, 0, len(mentions)), (i, j))
    evidence = {(int(a), int(b)): bool(e) for a, b, e in zip(i, j, linking_evidence(x, block_names, (i, j)))}
    assert not evidence[(0, 1)]  # same initial, same venue, nothing else
    assert evidence[(0, 2)]  # a shared coauthor
    assert evidence[(3, 4)]  # the same two initials
    assert evidence[(5, 6)]  # the same spelled-out first name
    assert not evidence[(0, 5)]  # an initial against a full name, with nothing shared


def test_neighbour_counts_for_a_few_rows_equal_the_whole_block_computation() -> None:
    import numpy as np

    from disambig.corpus import build_table
    from disambig.features import FEW_ROWS, BlockNames
    from disambig.mention import Mention
    from disambig.names import parse_name

    rng = np.random.default_rng(3)
    pool = [f"Coauthor{k} Person" for k in range(12)]
    mentions = [
        Mention(str(k), "J. Wang", coauthors=tuple(rng.choice(pool, size=int(rng.integers(0, 4)), replace=False)))
        for k in range(3 * FEW_ROWS)
    ]
    names = BlockNames(build_table(mentions, [parse_name(m.name) for m in mentions]))
    whole = names.neighbour_slab(0, len(mentions))  # above FEW_ROWS: the whole-block path
    assert whole.any(), "the fixture should share coauthors"
    for row in (0, 7, len(mentions) - 1):
        assert np.array_equal(names.neighbour_slab(row, row + 1), whole[row : row + 1])


def test_placeholders_and_colliding_groups_are_not_shared_coauthors() -> None:
    mentions = [
        Mention("a", "J. Smith", coauthors=("et al.", "ATLAS Collaboration")),
        Mention("b", "J. Smith", coauthors=("et al.", "ALICE Collaboration")),
        Mention("c", "J. Smith", coauthors=("The ATLAS Collaboration",)),
    ]
    x, (i, j) = _features(mentions)
    shared = {(int(a), int(b)): v for a, b, v in zip(i, j, column(x, "shared_coauthors"), strict=True)}
    assert shared[(0, 1)] == 0  # not "al_e", and not both "collaboration_a"
    assert shared[(0, 2)] == 1  # one group, written two ways
