"""Average-linkage clustering of one block under hard constraints.

Constraints are written into the distances: a cannot-link pair gets a distance so large that no
average over clusters containing it can fall below any threshold < 1; must-link groups get
distance 0 among their members, so they merge first, at height 0, before anything else.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage

from disambig.features import Pairs

# Larger than (block size)^2 for any block we cluster, so one cannot-link pair lifts the average
# distance of any two clusters containing it above 1.
CANNOT_LINK_DISTANCE = 1e12


def condensed_index(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Index of pair (i, j), i < j, in scipy's condensed distance vector."""
    i = i.astype(np.int64)
    j = j.astype(np.int64)
    return n * i - (i * (i + 1)) // 2 + (j - i - 1)


def must_link_groups(n: int, pairs: Pairs) -> np.ndarray:
    """Connected components of the must-link graph: a group label per row."""
    graph = sp.coo_matrix((np.ones(len(pairs[0])), pairs), shape=(n, n))
    _, labels = sp.csgraph.connected_components(graph, directed=False)
    return np.asarray(labels)


def cluster_block(
    probabilities: np.ndarray,
    threshold: float,
    cannot_link: np.ndarray,
    must_link: Pairs | None = None,
) -> np.ndarray:
    """Cluster labels 0..k-1 for the n rows whose condensed pair probabilities are given.

    `cannot_link` is a boolean mask over the condensed pairs; `must_link` lists pairs (i < j).
    Threshold is on probability: clusters merge while their average link probability >= threshold.
    """
    n = _rows_of(len(probabilities))
    if n <= 1:
        return np.zeros(n, dtype=np.int64)
    distances = 1.0 - probabilities.astype(np.float64)
    distances[cannot_link] = CANNOT_LINK_DISTANCE
    if must_link is not None and len(must_link[0]):
        groups = must_link_groups(n, must_link)
        i, j = _same_group_pairs(groups)
        distances[condensed_index(n, i, j)] = 0.0
    tree = linkage(distances, method="average")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    return _relabel_in_row_order(labels)


def _same_group_pairs(groups: np.ndarray) -> Pairs:
    rows_i: list[np.ndarray] = []
    rows_j: list[np.ndarray] = []
    for group in np.unique(groups):
        members = np.flatnonzero(groups == group)
        if len(members) > 1:
            a, b = np.triu_indices(len(members), 1)
            rows_i.append(members[a])
            rows_j.append(members[b])
    if not rows_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(rows_i), np.concatenate(rows_j)


def _rows_of(condensed_length: int) -> int:
    n = round((1 + np.sqrt(1 + 8 * condensed_length)) / 2)
    if n * (n - 1) // 2 != condensed_length:
        raise ValueError(f"{condensed_length} is not a condensed distance length")
    return n


def _relabel_in_row_order(labels: np.ndarray) -> np.ndarray:
    """Labels numbered by first appearance, so the output never depends on scipy's numbering."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse].astype(np.int64)


def membership_confidence(links: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per row of a square link-probability matrix: mean link to its cluster-mates; for a
    singleton, the probability that it links to no one (1 - its best link)."""
    n = len(labels)
    if n == 1:
        return np.ones(1)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    mates = same.sum(axis=1)
    sums = np.where(same, links, 0.0).sum(axis=1)
    others = ~same
    np.fill_diagonal(others, False)
    best_other = np.where(others, links, 0.0).max(axis=1)
    return np.where(mates > 0, sums / np.maximum(mates, 1), 1.0 - best_other)
