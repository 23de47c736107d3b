"""Constrained average-linkage clustering of one block."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import squareform

from disambig.clustering import cluster_block, condensed_index, membership_confidence


def _condensed(n: int, pairs: dict[tuple[int, int], float], default: float = 0.0) -> np.ndarray:
    probabilities = np.full(n * (n - 1) // 2, default, dtype=np.float64)
    for (i, j), p in pairs.items():
        probabilities[condensed_index(n, np.array([i]), np.array([j]))] = p
    return probabilities


def _mask(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(n * (n - 1) // 2, dtype=bool)
    for i, j in pairs:
        mask[condensed_index(n, np.array([i]), np.array([j]))] = True
    return mask


def test_condensed_index_matches_scipy_order() -> None:
    n = 5
    i, j = np.triu_indices(n, 1)
    assert np.array_equal(condensed_index(n, i, j), np.arange(len(i)))


def test_high_probability_pairs_merge_low_ones_do_not() -> None:
    n = 4
    probabilities = _condensed(n, {(0, 1): 0.9, (2, 3): 0.95}, default=0.1)
    labels = cluster_block(probabilities, 0.5, _mask(n, []))
    assert labels.tolist() == [0, 0, 1, 1]


def test_threshold_decides() -> None:
    n = 2
    probabilities = _condensed(n, {(0, 1): 0.6})
    assert cluster_block(probabilities, 0.5, _mask(n, [])).tolist() == [0, 0]
    assert cluster_block(probabilities, 0.7, _mask(n, [])).tolist() == [0, 1]


@pytest.mark.parametrize("probability", [0.99, 1.0])
def test_cannot_link_is_never_violated(probability: float) -> None:
    n = 3
    probabilities = np.full(3, probability)
    labels = cluster_block(probabilities, 0.5, _mask(n, [(0, 2)]))
    assert labels[0] != labels[2]
    assert labels[1] in (labels[0], labels[2])  # row 1 still joins one of them


def test_cannot_link_in_a_larger_block() -> None:
    n = 6
    probabilities = np.ones(n * (n - 1) // 2)
    labels = cluster_block(probabilities, 0.01, _mask(n, [(0, 5), (1, 4)]))
    assert labels[0] != labels[5]
    assert labels[1] != labels[4]


def test_must_link_joins_even_with_zero_probability() -> None:
    n = 3
    labels = cluster_block(np.zeros(3), 0.5, _mask(n, []), must_link=(np.array([0]), np.array([2])))
    assert labels[0] == labels[2]
    assert labels[1] != labels[0]


def test_must_link_is_transitive() -> None:
    n = 4
    must = (np.array([0, 1]), np.array([1, 3]))
    labels = cluster_block(np.zeros(6), 0.9, _mask(n, []), must_link=must)
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] != labels[0]


def test_empty_must_link_changes_nothing() -> None:
    n = 3
    probabilities = _condensed(n, {(1, 2): 0.9})
    empty = (np.empty(0, np.int64), np.empty(0, np.int64))
    assert cluster_block(probabilities, 0.5, _mask(n, []), must_link=empty).tolist() == [0, 1, 1]


def test_labels_are_numbered_by_first_appearance() -> None:
    n = 5
    probabilities = _condensed(n, {(0, 3): 0.9, (1, 2): 0.9, (1, 4): 0.9, (2, 4): 0.9})
    labels = cluster_block(probabilities, 0.5, _mask(n, []))
    assert labels.tolist() == [0, 1, 1, 0, 1]


def test_singletons_are_numbered_in_row_order() -> None:
    n = 4
    labels = cluster_block(np.zeros(6), 0.5, _mask(n, []))
    assert labels.tolist() == [0, 1, 2, 3]


def test_probabilities_are_not_modified() -> None:
    probabilities = np.full(3, 0.7)
    cluster_block(probabilities, 0.5, _mask(3, [(0, 1)]), must_link=(np.array([1]), np.array([2])))
    assert probabilities.tolist() == [0.7, 0.7, 0.7]


def test_single_row_and_bad_length() -> None:
    assert cluster_block(np.empty(0), 0.5, np.zeros(0, dtype=bool)).tolist() == [0]
    with pytest.raises(ValueError, match="condensed"):
        cluster_block(np.zeros(4), 0.5, np.zeros(4, dtype=bool))


def test_membership_confidence() -> None:
    n = 3
    probabilities = _condensed(n, {(0, 1): 0.9, (0, 2): 0.2, (1, 2): 0.3})
    labels = np.array([0, 0, 1])
    confidence = membership_confidence(squareform(probabilities), labels)
    assert confidence[0] == pytest.approx(0.9)
    assert confidence[1] == pytest.approx(0.9)
    assert confidence[2] == pytest.approx(1 - 0.3)  # singleton: 1 - best probability to anyone


def test_membership_confidence_is_mean_over_cluster_mates() -> None:
    n = 3
    probabilities = _condensed(n, {(0, 1): 0.9, (0, 2): 0.5, (1, 2): 0.7})
    confidence = membership_confidence(squareform(probabilities), np.array([0, 0, 0]))
    assert confidence.tolist() == pytest.approx([0.7, 0.8, 0.6])


def test_membership_confidence_single_row() -> None:
    assert membership_confidence(np.zeros((1, 1)), np.array([0])).tolist() == [1.0]
