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

The same arrays are the model artifact's classifier (`to_arrays`, `from_arrays`): a saved model
is checked to reproduce the fitted classifier when it is saved, and loads as plain numbers.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
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


# What evaluating a tree needs of each node: the fields of scikit-learn's TreePredictor nodes
# that a model artifact keeps, as plain arrays, and their types there.
NODE_FIELDS: dict[str, type[np.generic]] = {
    "value": np.float64,
    "feature_idx": np.int64,
    "num_threshold": np.float64,
    "missing_go_to_left": np.uint8,
    "left": np.int64,
    "right": np.int64,
    "is_leaf": np.uint8,
}
Nodes = Mapping[str, np.ndarray]


class TreeEnsemble:
    """A binary gradient-boosted tree ensemble and its sigmoid, as arrays: P(same person) =
    expit(-(a * (baseline + sum of leaf values) + b)). Made from a fitted scikit-learn
    classifier (`from_classifier`) or from a model artifact's arrays (`from_arrays`): a loaded
    model needs neither scikit-learn's estimator nor an unpickler. Satisfies the
    ProbabilisticClassifier protocol (predict_proba)."""

    def __init__(self, trees: Sequence[Nodes], baseline: float, a: float, b: float, n_features: int) -> None:
        self.tree_nodes = [
            {name: np.asarray(tree[name], dtype=kind) for name, kind in NODE_FIELDS.items()} for tree in trees
        ]
        self.a, self.b = float(a), float(b)
        self.baseline = np.array([baseline], dtype=np.float64)
        self.n_features = int(n_features)
        n_trees = len(self.tree_nodes)
        width = max((int(t["is_leaf"].sum()) for t in self.tree_nodes), default=1)
        if width > 64:
            raise _UnsupportedError("trees of over 64 leaves")
        self.mask_dtype = np.uint32 if width <= 32 else np.uint64
        self.leaf_values = np.zeros((n_trees, width), dtype=np.float64)
        splits: dict[int, list[tuple[float, int, int, bool]]] = {}
        for t, nodes in enumerate(self.tree_nodes):
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

    @classmethod
    def from_classifier(cls, classifier: Any) -> TreeEnsemble:
        """The ensemble of a fitted binary HistGradientBoostingClassifier, alone or inside a
        CalibratedClassifierCV with one sigmoid calibration; _UnsupportedError for anything else."""
        calibrated = getattr(classifier, "calibrated_classifiers_", None)
        if calibrated is not None:
            if len(calibrated) != 1 or getattr(classifier, "method", None) != "sigmoid":
                raise _UnsupportedError("not a CalibratedClassifierCV with one sigmoid calibration")
            only = calibrated[0]
            estimator = only.estimator
            if len(only.calibrators) != 1 or list(getattr(classifier, "classes_", [])) != [0, 1]:
                raise _UnsupportedError("not a binary classifier")
            a, b = only.calibrators[0].a_, only.calibrators[0].b_
        else:
            # Uncalibrated: predict_proba is expit(raw), which is expit(-(a * raw + b)) for a = -1, b = 0.
            estimator, a, b = classifier, -1.0, 0.0
        if list(getattr(estimator, "classes_", [])) != [0, 1] or getattr(estimator, "n_trees_per_iteration_", 0) != 1:
            raise _UnsupportedError("not a binary HistGradientBoostingClassifier")
        baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
        if baseline.shape != (1,):
            raise _UnsupportedError("unexpected baseline")
        trees = [iteration[0].nodes for iteration in estimator._predictors]
        if any(t["is_categorical"].any() for t in trees):
            raise _UnsupportedError("categorical splits")
        return cls(trees, float(baseline[0]), a, b, int(estimator.n_features_in_))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numeric arrays (no objects): every tree's nodes, concatenated, with the trees' sizes."""
        arrays = {f"nodes.{name}": np.concatenate([t[name] for t in self.tree_nodes]) for name in NODE_FIELDS}
        arrays["tree_sizes"] = np.array([len(t["is_leaf"]) for t in self.tree_nodes], dtype=np.int64)
        arrays["sigmoid"] = np.array([self.a, self.b], dtype=np.float64)
        arrays["baseline"] = self.baseline.copy()
        arrays["n_features"] = np.array([self.n_features], dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> TreeEnsemble:
        """The ensemble `to_arrays` wrote; ValueError naming what is wrong for anything else. Every
        tree is checked to be one (each node but the root the child of one node numbered before
        it, inside the tree), so evaluating it always ends, whatever the file holds."""
        names = [f"nodes.{name}" for name in NODE_FIELDS] + ["tree_sizes", "sigmoid", "baseline", "n_features"]
        missing = [name for name in names if name not in arrays]
        if missing:
            raise ValueError(f"arrays missing: {missing}")
        for name in names:
            array = arrays[name]
            if array.ndim != 1 or array.dtype.kind not in "biuf":
                raise ValueError(f"{name}: not a one-dimensional numeric array")
        sizes = arrays["tree_sizes"].astype(np.int64)
        sigmoid, baseline, n_features = arrays["sigmoid"], arrays["baseline"], arrays["n_features"]
        if sigmoid.shape != (2,) or baseline.shape != (1,) or n_features.shape != (1,):
            raise ValueError("sigmoid, baseline or n_features of the wrong length")
        if not (np.isfinite(sigmoid).all() and np.isfinite(baseline).all()) or int(n_features[0]) < 1:
            raise ValueError("sigmoid, baseline or n_features out of range")
        if (sizes < 1).any() or any(len(arrays[f"nodes.{name}"]) != int(sizes.sum()) for name in NODE_FIELDS):
            raise ValueError("node arrays and tree sizes disagree")
        ends = np.cumsum(sizes)
        trees: list[dict[str, np.ndarray]] = []
        for start, end in zip(ends - sizes, ends, strict=True):
            tree = {name: arrays[f"nodes.{name}"][start:end] for name in NODE_FIELDS}
            _check_tree(tree, int(n_features[0]), len(trees))
            trees.append(tree)
        return cls(trees, float(baseline[0]), float(sigmoid[0]), float(sigmoid[1]), int(n_features[0]))

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """(P(other person), P(same person)) per row, as scikit-learn's predict_proba gives them."""
        same = self._probability(features)
        return np.column_stack([1.0 - same, same])

    @staticmethod
    def _joint(
        members: list[tuple[int, np.ndarray, np.ndarray]],
    ) -> tuple[list[tuple[int, np.ndarray]], np.ndarray]:
        joint = members[0][2]
        for _, _, masks in members[1:]:
            joint = (joint[:, np.newaxis, :] & masks[np.newaxis, :, :]).reshape(-1, masks.shape[1])
        # Each feature's slots: its distinct thresholds, then +inf. searchsorted puts a value above
        # exactly b of them in slot b, and NaN, which numpy orders after +inf, in the last slot
        # (the masks' missing-value row).
        bounds = [(feature, np.append(distinct, np.inf)) for feature, distinct, _ in members]
        return bounds, np.ascontiguousarray(joint)

    def _packed(self, masks: np.ndarray) -> np.ndarray:
        if self.mask_dtype != np.uint32 or masks.shape[1] % 2:
            return np.ascontiguousarray(masks)
        return np.ascontiguousarray(masks).view(np.uint64)

    def _splits(self, nodes: Nodes, tree: int) -> list[tuple[int, float, int, bool]]:
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
            for feature, bounds in members:
                row = row * (len(bounds) + 1) + bounds.searchsorted(x[:, feature], side="left")
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
        return self._probability(features).astype(np.float32)

    def _probability(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        if len(x) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(expit(-(self.a * self.raw(x) + self.b)), dtype=np.float64)


def _check_tree(tree: Nodes, n_features: int, number: int) -> None:
    """ValueError unless the nodes form a binary tree rooted at node 0 whose splits use known features."""
    size = len(tree["is_leaf"])
    inner = np.flatnonzero(tree["is_leaf"] == 0)
    own = np.arange(size)
    left, right = tree["left"][inner], tree["right"][inner]
    if (left <= own[inner]).any() or (right <= own[inner]).any() or (left >= size).any() or (right >= size).any():
        raise ValueError(f"tree {number}: a child outside the tree or before its parent")
    children = np.concatenate([left, right])
    if len(np.unique(children)) != len(children) or len(children) != size - 1:
        raise ValueError(f"tree {number}: nodes shared between parents, or unreachable")
    features = tree["feature_idx"][inner]
    if ((features < 0) | (features >= n_features)).any() or np.isnan(tree["num_threshold"][inner]).any():
        raise ValueError(f"tree {number}: a split on an unknown feature or at no threshold")
    if not np.isfinite(tree["value"][tree["is_leaf"] != 0]).all():
        raise ValueError(f"tree {number}: a leaf without a finite value")


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
    if isinstance(classifier, TreeEnsemble):
        return classifier.predict
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


def array_ensemble(classifier: ProbabilisticClassifier) -> TreeEnsemble:
    """The classifier as a TreeEnsemble that predicts its probabilities bit for bit (checked);
    ValueError saying why for a classifier it cannot reproduce."""
    if isinstance(classifier, TreeEnsemble):
        return classifier
    try:
        ensemble = TreeEnsemble.from_classifier(classifier)
    except (_UnsupportedError, AttributeError, KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"not a classifier the array format reproduces: {exc}") from exc
    if not _reproduces(ensemble, classifier):
        raise ValueError("the array evaluation of the classifier differs from its predict_proba")
    return ensemble


def _checked_ensemble(classifier: ProbabilisticClassifier) -> TreeEnsemble | None:
    try:
        return array_ensemble(classifier)
    except ValueError as exc:
        log.info("scoring with the classifier's own predict_proba: %s", exc)
        return None


def _reproduces(ensemble: TreeEnsemble, classifier: ProbabilisticClassifier) -> bool:
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
    return bool(np.array_equal(ensemble.predict(rows), same_person_probability(classifier, rows)))
