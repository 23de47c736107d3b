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
