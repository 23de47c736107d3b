"""Second stage: merge first-stage clusters of one block when their profiles match.

Average linkage over single mentions under-merges prolific people: two halves of one career share
coauthors and venues as wholes even where few individual papers do. This stage scores pairs of
clusters with features of their pooled profiles (coauthor union, venue and text centroids, year
ranges) plus the first-stage link probabilities between them, then merges by average linkage
again. The same scoring serves online assignment: a new mention is a cluster of one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial.distance import squareform

from disambig.classifier import ProbabilisticClassifier
from disambig.clustering import cluster_block, membership_confidence
from disambig.corpus import MentionTable
from disambig.names import given_match
from disambig.text import weighted_unit_rows

ClusterPairs = tuple[np.ndarray, np.ndarray]  # cluster indices a < b


def _membership(labels: np.ndarray) -> sp.csr_matrix:
    k = int(labels.max()) + 1
    n = len(labels)
    return sp.csr_matrix((np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(k, n))


def _centroid_cosine(member: sp.csr_matrix, rows: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of cluster centroids (k x k) and whether each cluster has any content."""
    pooled = (member @ rows).tocsr()
    has = np.diff(pooled.indptr) > 0
    unit = weighted_unit_rows(pooled, np.ones(pooled.shape[1], dtype=np.float32))
    return np.asarray((unit @ unit.T).toarray(), dtype=np.float32), has


@dataclass
class ClusterProfiles:
    """Pairwise cluster-level evidence for the k clusters of one block (all k x k)."""

    sizes: np.ndarray
    mean_prob: np.ndarray
    max_prob: np.ndarray
    strong_fraction: np.ndarray
    shared_coauthors: np.ndarray
    coauthor_cosine: np.ndarray
    text: dict[str, tuple[np.ndarray, np.ndarray]]
    year_min: np.ndarray
    year_max: np.ndarray
    name_match: np.ndarray
    conflict: np.ndarray  # any cannot-link between the two clusters

    @classmethod
    def build(
        cls, table: MentionTable, probabilities: np.ndarray, cannot_link: np.ndarray, labels: np.ndarray
    ) -> ClusterProfiles:
        member = _membership(labels)
        k = member.shape[0]
        sizes = np.asarray(member.sum(axis=1)).ravel()
        square = squareform(probabilities.astype(np.float32), checks=False)
        link_sums = np.asarray(member @ square @ member.T)
        pair_counts = np.outer(sizes, sizes)
        strong = np.asarray(member @ (square >= 0.5).astype(np.float32) @ member.T)
        order = np.argsort(labels, kind="stable")
        starts = np.searchsorted(labels[order], np.arange(k))
        sorted_square = square[order][:, order]
        max_prob = np.maximum.reduceat(np.maximum.reduceat(sorted_square, starts, axis=0), starts, axis=1)
        cannot = squareform(cannot_link.astype(np.float32), checks=False)
        conflict = np.asarray(member @ cannot @ member.T) > 0
        union = (member @ table.coauthors).tocsr()
        union.data[:] = 1.0
        shared = np.asarray((union @ union.T).toarray(), dtype=np.float32)
        co_cos, co_has = _centroid_cosine(member, table.coauthor_weighted)
        co_cos[~co_has, :] = np.nan
        co_cos[:, ~co_has] = np.nan
        text = {f: _centroid_cosine(member, table.text[f]) for f in ("venue", "context", "affiliations")}
        years = table.years
        year_min = np.full(k, np.nan, dtype=np.float32)
        year_max = np.full(k, np.nan, dtype=np.float32)
        known = ~np.isnan(years)
        if known.any():
            np.fmin.at(year_min, labels[known], years[known])
            np.fmax.at(year_max, labels[known], years[known])
        fullest: list[tuple[str, ...]] = [()] * k
        for row, label in enumerate(labels):
            given = table.names[row].given
            if len(given) > len(fullest[label]) or (len(given) == len(fullest[label]) and given > fullest[label]):
                fullest[label] = given
        variants = sorted(set(fullest))
        index = {v: i for i, v in enumerate(variants)}
        variant_match = np.array([[float(given_match(a, b)) for b in variants] for a in variants], dtype=np.float32)
        ids = np.array([index[g] for g in fullest])
        name_match = variant_match[np.ix_(ids, ids)]
        return cls(
            sizes=sizes.astype(np.float32),
            mean_prob=(link_sums / np.maximum(pair_counts, 1)).astype(np.float32),
            max_prob=max_prob.astype(np.float32),
            strong_fraction=(strong / np.maximum(pair_counts, 1)).astype(np.float32),
            shared_coauthors=shared,
            coauthor_cosine=co_cos,
            text=text,
            year_min=year_min,
            year_max=year_max,
            name_match=name_match,
            conflict=conflict,
        )


def _text_feature(field: str) -> Callable[[ClusterProfiles, ClusterPairs], np.ndarray]:
    def compute(p: ClusterProfiles, pairs: ClusterPairs) -> np.ndarray:
        cos, has = p.text[field]
        values = cos[pairs].copy()
        values[~(has[pairs[0]] & has[pairs[1]])] = np.nan
        return values

    return compute


def _year_distance(p: ClusterProfiles, pairs: ClusterPairs) -> np.ndarray:
    a, b = pairs
    return np.fmax(np.fmax(p.year_min[b] - p.year_max[a], p.year_min[a] - p.year_max[b]), 0.0)


CLUSTER_FEATURES: tuple[tuple[str, Callable[[ClusterProfiles, ClusterPairs], np.ndarray]], ...] = (
    ("mean_link_probability", lambda p, q: p.mean_prob[q]),
    ("max_link_probability", lambda p, q: p.max_prob[q]),
    ("strong_link_fraction", lambda p, q: p.strong_fraction[q]),
    ("smaller_size", lambda p, q: np.log1p(np.minimum(p.sizes[q[0]], p.sizes[q[1]]))),
    ("larger_size", lambda p, q: np.log1p(np.maximum(p.sizes[q[0]], p.sizes[q[1]]))),
    ("shared_coauthors", lambda p, q: p.shared_coauthors[q]),
    ("coauthor_cosine", lambda p, q: p.coauthor_cosine[q]),
    ("venue_cosine", _text_feature("venue")),
    ("context_cosine", _text_feature("context")),
    ("affiliation_cosine", _text_feature("affiliations")),
    ("year_distance", _year_distance),
    ("given_match", lambda p, q: p.name_match[q]),
)
CLUSTER_FEATURE_NAMES = tuple(name for name, _ in CLUSTER_FEATURES)


def cluster_pair_features(profiles: ClusterProfiles, pairs: ClusterPairs) -> np.ndarray:
    return np.column_stack([np.asarray(f(profiles, pairs), dtype=np.float32) for _, f in CLUSTER_FEATURES])


def candidate_pairs(profiles: ClusterProfiles) -> ClusterPairs:
    """Cluster pairs worth scoring: no cannot-link between them."""
    k = len(profiles.sizes)
    a, b = np.triu_indices(k, 1)
    keep = ~profiles.conflict[a, b]
    return a[keep], b[keep]


def apply_merges(
    profiles: ClusterProfiles, pairs: ClusterPairs, probabilities: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Average linkage over clusters: a merged label per cluster, and the k x k merge probabilities."""
    k = len(profiles.sizes)
    merge_probability = np.zeros((k, k), dtype=np.float32)
    merge_probability[pairs] = probabilities
    merge_probability[pairs[1], pairs[0]] = probabilities
    upper = np.triu_indices(k, 1)
    return cluster_block(merge_probability[upper], threshold, profiles.conflict[upper]), merge_probability


def merge_clusters(
    merger: ProbabilisticClassifier,
    threshold: float,
    table: MentionTable,
    probabilities: np.ndarray,
    cannot_link: np.ndarray,
    labels: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Final labels and per-mention confidence after merging first-stage clusters of one block.

    Confidence is the mean link probability to the final cluster-mates, where mentions that
    came from two merged clusters are linked with the larger of their own probability and the
    clusters' merge probability.
    """
    n = len(labels)
    k = int(labels.max()) + 1 if n else 0
    square = squareform(probabilities.astype(np.float32), checks=False)
    if k < 2:
        return labels, membership_confidence(square, labels)
    profiles = ClusterProfiles.build(table, probabilities, cannot_link, labels)
    a, b = candidate_pairs(profiles)
    p = merger.predict_proba(cluster_pair_features(profiles, (a, b)))[:, 1] if len(a) else np.empty(0)
    merged, merge_probability = apply_merges(profiles, (a, b), p, threshold)
    final = merged[labels]
    links = np.where(
        labels[:, None] == labels[None, :], square, np.maximum(square, merge_probability[np.ix_(labels, labels)])
    )
    return final, membership_confidence(links, final)
