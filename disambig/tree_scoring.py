"""The shipped pairwise classifier, evaluated in a few whole-array numpy steps.

scikit-learn's HistGradientBoosting predicts one tree at a time: 250 calls into compiled code
per predict_proba, about 1.5 ms of fixed cost even for the few pairs of one online resolution,
and a branchy walk down each tree for every row, about 7 us a row over 250 trees; this module
takes about 2 us (a 150,000-pair block of inspire_wang: 1.04 s against 0.30 s).
Here every tree is evaluated at once, with the QuickScorer scheme (Lucchese et al., SIGIR 2015):
the leaves of each tree are numbered left to right as bits of a mask; a split whose test fails
("x > threshold", or a missing value sent right) rules out the leaves of its left subtree, and the
leaf a row exits through is the leftmost one that no failed test ruled out. Per feature, the
splits are sorted by threshold, so the failed tests of a value are a prefix of that list and their
combined mask is precomputed: a row costs one binary search and one AND per feature and tree.

The probabilities are the classifier's own, bit for bit: the leaf values are summed in tree order
from the same baseline in float64, and the same sigmoid calibration follows. `fast_predictor`
checks that on generated rows before using it, and falls back to predict_proba for any
classifier it does not know (another calibration, categorical splits, trees of over 64 leaves).
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import expit

from disambig.classifier import ProbabilisticClassifier, same_person_probability

log = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]
CHUNK_ROWS = 256
JOINT_ROWS = 512  # largest table of combined masks (rows of 1 KB for 250 trees)
# Checked once per classifier object (a model loaded once serves every resolver of a process).
_CHECKED: weakref.WeakKeyDictionary[Any, TreeEnsemble | None] = weakref.WeakKeyDictionary()
_CHECKING = threading.Lock()


class _UnsupportedError(Exception):
    """A classifier this module does not reproduce exactly."""


class TreeEnsemble:
    """A binary HistGradientBoosting classifier with one sigmoid calibration, as arrays."""

    def __init__(self, classifier: Any) -> None:
        calibrated = getattr(classifier, "calibrated_classifiers_", None)
        if calibrated is None or len(calibrated) != 1 or getattr(classifier, "method", None) != "sigmoid":
            raise _UnsupportedError("not a CalibratedClassifierCV with one sigmoid calibration")
        only = calibrated[0]
        estimator = only.estimator
        if len(only.calibrators) != 1 or list(getattr(classifier, "classes_", [])) != [0, 1]:
            raise _UnsupportedError("not a binary classifier")
        if list(getattr(estimator, "classes_", [])) != [0, 1] or getattr(estimator, "n_trees_per_iteration_", 0) != 1:
            raise _UnsupportedError("not a binary HistGradientBoostingClassifier")
        calibrator = only.calibrators[0]
        self.a, self.b = calibrator.a_, calibrator.b_
        self.baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
        if self.baseline.shape != (1,):
            raise _UnsupportedError("unexpected baseline")
        trees = [iteration[0].nodes for iteration in estimator._predictors]
        self.n_features = int(estimator.n_features_in_)
        n_trees = len(trees)
        width = max(int(t["is_leaf"].sum()) for t in trees)
        if width > 64 or any(t["is_categorical"].any() for t in trees):
            raise _UnsupportedError("categorical splits or trees of over 64 leaves")
        self.mask_dtype = np.uint32 if width <= 32 else np.uint64
        self.leaf_values = np.zeros((n_trees, width), dtype=np.float64)
        splits: dict[int, list[tuple[float, int, int, bool]]] = {}
        for t, nodes in enumerate(trees):
            for node, threshold, mask, missing_left in self._splits(nodes, t):
                splits.setdefault(int(nodes["feature_idx"][node]), []).append((threshold, t, mask, missing_left))
        ones = np.iinfo(self.mask_dtype).max
        # Per feature: its distinct thresholds t_1 < ... < t_m, and for each b = 0..m the masks of
        # the tests failed by a value above exactly b of them (row b), then of the tests a missing
        # value fails (row m + 1). Trees are packed two to a 64-bit word when their leaves fit in
        # 32 bits: half the words to gather and AND, the same bits.
        self.features: list[tuple[int, np.ndarray, np.ndarray]] = []
        for feature in sorted(splits):
            ordered = sorted(splits[feature], key=lambda s: s[0])
            thresholds = np.array([s[0] for s in ordered], dtype=np.float64)
            prefix = np.full((len(ordered) + 1, n_trees), ones, dtype=self.mask_dtype)
            missing = np.full(n_trees, ones, dtype=self.mask_dtype)
            for k, (_, t, mask, missing_left) in enumerate(ordered):
                prefix[k + 1] = prefix[k]
                prefix[k + 1, t] &= mask
                if not missing_left:
                    missing[t] &= mask
            distinct = np.unique(thresholds)
            # A value above exactly b distinct thresholds fails every test of the first
            # searchsorted(thresholds, distinct[b]) splits (those below distinct[b]).
            failed = np.searchsorted(thresholds, np.append(distinct, np.inf), side="left")
            failed[-1] = len(thresholds)
            masks = np.concatenate([prefix[failed], missing[np.newaxis, :]])
            self.features.append((feature, distinct, self._packed(masks)))
        # Features of few buckets share one table of their combined masks (row = the buckets'
        # mixed-radix number): one gather and AND for the group instead of one per feature.
        self.groups: list[tuple[list[tuple[int, np.ndarray]], np.ndarray]] = []
        members: list[tuple[int, np.ndarray, np.ndarray]] = []
        for entry in sorted(self.features, key=lambda f: len(f[2])):
            if members and np.prod([len(m[2]) for m in members]) * len(entry[2]) > JOINT_ROWS:
                self.groups.append(self._joint(members))
                members = []
            members.append(entry)
        if members:
            self.groups.append(self._joint(members))
        self.trees = np.arange(n_trees)
        self.leaf_offsets = (np.arange(n_trees) * width).astype(np.int64)

    @staticmethod
    def _joint(
        members: list[tuple[int, np.ndarray, np.ndarray]],
    ) -> tuple[list[tuple[int, np.ndarray]], np.ndarray]:
        joint = members[0][2]
        for _, _, masks in members[1:]:
            joint = (joint[:, np.newaxis, :] & masks[np.newaxis, :, :]).reshape(-1, masks.shape[1])
        return [(feature, distinct) for feature, distinct, _ in members], np.ascontiguousarray(joint)

    def _packed(self, masks: np.ndarray) -> np.ndarray:
        if self.mask_dtype != np.uint32 or masks.shape[1] % 2:
            return np.ascontiguousarray(masks)
        return np.ascontiguousarray(masks).view(np.uint64)

    def _splits(self, nodes: np.ndarray, tree: int) -> list[tuple[int, float, int, bool]]:
        """(node, threshold, mask without its left subtree's leaves, missing goes left) of each split;
        fills this tree's leaf values, leaves numbered left to right."""
        leaves: dict[int, int] = {}
        order: list[int] = []

        def visit(node: int) -> None:  # iterative depth-first, left before right
            stack = [node]
            while stack:
                current = stack.pop()
                order.append(current)
                if nodes["is_leaf"][current]:
                    leaves[current] = len(leaves)
                else:
                    stack.append(int(nodes["right"][current]))
                    stack.append(int(nodes["left"][current]))

        visit(0)
        for node, bit in leaves.items():
            self.leaf_values[tree, bit] = nodes["value"][node]

        def leaves_under(node: int) -> list[int]:
            found, stack = [], [node]
            while stack:
                current = stack.pop()
                if nodes["is_leaf"][current]:
                    found.append(leaves[current])
                else:
                    stack += [int(nodes["left"][current]), int(nodes["right"][current])]
            return found

        full = (1 << 64) - 1 if self.mask_dtype == np.uint64 else (1 << 32) - 1
        out = []
        for node in order:
            if nodes["is_leaf"][node]:
                continue
            mask = full
            for bit in leaves_under(int(nodes["left"][node])):
                mask &= ~(1 << bit)
            threshold = float(nodes["num_threshold"][node])
            out.append((node, threshold, mask, bool(nodes["missing_go_to_left"][node])))
        return out

    def raw(self, features: np.ndarray) -> np.ndarray:
        """The decision function: baseline plus every tree's leaf value, summed in tree order."""
        x = np.asarray(features, dtype=np.float64)
        if len(x) <= CHUNK_ROWS:
            return self._raw(x)
        # In chunks, so that each chunk's masks stay in the processor's cache.
        return np.concatenate([self._raw(x[start : start + CHUNK_ROWS]) for start in range(0, len(x), CHUNK_ROWS)])

    def _raw(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        alive: np.ndarray | None = None
        for members, masks in self.groups:
            row = np.zeros(n, dtype=np.int64)
            for feature, thresholds in members:
                column = x[:, feature]
                k = np.searchsorted(thresholds, column, side="left")
                k[np.isnan(column)] = len(thresholds) + 1
                row = row * (len(thresholds) + 2) + k
            if alive is None:
                alive = np.take(masks, row, axis=0)
            else:
                alive &= np.take(masks, row, axis=0)
        if alive is None:
            alive = np.full((n, len(self.trees)), np.iinfo(self.mask_dtype).max, dtype=self.mask_dtype)
        alive = alive.view(self.mask_dtype)  # one word per tree again
        one = np.array(1, dtype=self.mask_dtype)
        lowest = alive & (~alive + one)
        leaf = np.bitwise_count(lowest - one).T.astype(np.int64) + self.leaf_offsets[:, np.newaxis]
        values = np.empty((len(self.trees) + 1, n), dtype=np.float64)  # a row per tree
        values[0] = self.baseline[0]
        np.take(self.leaf_values.ravel(), leaf, out=values[1:])
        # Summed row after row, ((baseline + tree 0) + tree 1) + ..., as sklearn adds them: numpy
        # reduces over the outer axis sequentially (pairwise summation is only along the inner,
        # contiguous one). fast_predictor checks the sums bit for bit before using them.
        return np.add.reduce(values, axis=0)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(same person) per row, float32: same_person_probability's values."""
        if len(features) == 0:
            return np.empty(0, dtype=np.float32)
        probability = expit(-(self.a * self.raw(features) + self.b))
        return np.asarray(probability, dtype=np.float64).astype(np.float32)


def check_rows(n_features: int, seed: int = 0, count: int = 4000) -> np.ndarray:
    """Feature rows to compare two predictors on: integers, fractions, NaN, extremes."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(0.0, 3.0, size=(count, n_features)).astype(np.float32)
    small = rng.integers(-1, 4, size=rows.shape).astype(np.float32)
    fractions = rng.random(rows.shape).astype(np.float32)
    pick = rng.random(rows.shape)
    rows = np.where(pick < 0.3, np.float32(np.nan), rows)
    rows = np.where((pick >= 0.3) & (pick < 0.5), small, rows)
    rows = np.where((pick >= 0.5) & (pick < 0.6), fractions, rows)
    rows[0] = 0.0
    rows[1] = np.nan
    return rows


def fast_predictor(classifier: ProbabilisticClassifier) -> Predict:
    """The classifier's same_person_probability, or an equal and faster one (checked bit for bit
    before it is used)."""
    with _CHECKING:
        try:
            ensemble = _CHECKED[classifier]
        except KeyError:
            ensemble = _checked_ensemble(classifier)
            _CHECKED[classifier] = ensemble
        except TypeError:  # a classifier that cannot be weakly referenced: checked every time
            ensemble = _checked_ensemble(classifier)
    if ensemble is not None:
        return ensemble.predict
    return lambda features: same_person_probability(classifier, features)


def _checked_ensemble(classifier: ProbabilisticClassifier) -> TreeEnsemble | None:
    try:
        ensemble = TreeEnsemble(classifier)
    except (_UnsupportedError, AttributeError, KeyError, ValueError, TypeError) as exc:
        log.info("scoring with the classifier's own predict_proba: %s", exc)
        return None
    rows = check_rows(ensemble.n_features)
    probes = [rows]
    # Every threshold and its float32 neighbours: each split tested on both sides and at equality.
    for feature, thresholds, _ in ensemble.features:
        near = thresholds.astype(np.float32)
        for values in (near, np.nextafter(near, np.float32(np.inf)), np.nextafter(near, np.float32(-np.inf))):
            block = rows[np.arange(len(values)) % len(rows)].copy()
            block[:, feature] = values
            probes.append(block)
    rows = np.concatenate(probes)
    if not np.array_equal(ensemble.predict(rows), same_person_probability(classifier, rows)):
        log.warning("the array evaluation of the classifier differs from its predict_proba: not used")
        return None
    return ensemble
