"""The pairwise model artifact: a calibrated classifier, its clustering threshold, and a card.

On disk a model is a directory:
  model.json       format version, feature names, threshold, card (training data, dev figures)
  classifier.npz   the classifier's trees and calibration (tree_scoring.TreeEnsemble's arrays)
  merger.npz       the same for the optional second stage, which scores pairs of clusters
  text_prior.npz   document frequencies of the training corpora
  MODEL_CARD.md    the card, for people
Every .npz holds plain numeric arrays and is read with allow_pickle=False: nothing is ever
unpickled, and loading a model imports neither scikit-learn's estimators nor a deserialiser of
Python objects. Saving checks that the arrays reproduce the fitted classifier bit for bit.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from disambig.classifier import ProbabilisticClassifier
from disambig.errors import ModelError
from disambig.features import EMBEDDING_FEATURE_NAMES, FEATURE_NAMES, PairFeature, feature_set
from disambig.merging import CLUSTER_FEATURE_NAMES
from disambig.text import N_FEATURES, DocumentFrequencies
from disambig.tree_scoring import TreeEnsemble, array_ensemble, fast_predictor

# 2: the classifiers as arrays (classifier.npz); 1 kept them as skops files (classifier.skops).
FORMAT_VERSION = 2
ENV_MODEL = "DISAMBIG_MODEL"
# What reading a tampered or damaged .npz raises: numpy refuses object arrays (pickles) with
# ValueError, a cut file ends a zip or its deflate stream early, a missing array is a KeyError.
_UNREADABLE_NPZ = (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile, zlib.error)
# Rows of pair features repeat where records are sparse (a physics catalogue's name and
# affiliation): against a big block, most of a new mention's rows can be copies. The first
# REPEAT_SAMPLE rows tell whether they do; with at most REPEAT_SHARE of them distinct, each
# distinct row is predicted once.
REPEAT_SAMPLE = 256
REPEAT_SHARE = 0.5
REPEAT_MIN_ROWS = 64


@dataclass
class PairwiseModel:
    """Scores pairs of mentions: P(same person | features), plus the threshold to cluster with."""

    classifier: ProbabilisticClassifier
    threshold: float
    feature_names: tuple[str, ...] = FEATURE_NAMES
    text_prior: Mapping[str, DocumentFrequencies] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)
    merger: ProbabilisticClassifier | None = None  # second stage: scores pairs of clusters
    merge_threshold: float = 0.5

    @property
    def needs_embeddings(self) -> bool:
        """Whether the model has the sentence-embedding feature (the `disambig[embeddings]` extra)."""
        return self.feature_names == FEATURE_NAMES + EMBEDDING_FEATURE_NAMES

    @property
    def features(self) -> tuple[PairFeature, ...]:
        return feature_set(self.needs_embeddings)

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unversioned"))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(same person) per row of pair features (float32): the classifier's predict_proba, to
        the bit, evaluated by tree_scoring when it can reproduce the classifier (3x faster), once
        per distinct row when rows repeat (a row's probability depends on that row alone)."""
        predict = fast_predictor(self.classifier)
        distinct = _distinct_rows(features)
        if distinct is None:
            return predict(features)
        first, inverse = distinct
        return predict(features[first])[inverse]

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        _save_classifier(self.classifier, directory / "classifier.npz")
        merger_path = directory / "merger.npz"
        if self.merger is not None:
            _save_classifier(self.merger, merger_path)
        else:
            merger_path.unlink(missing_ok=True)
        arrays: dict[str, np.ndarray] = {}
        for name, freq in self.text_prior.items():
            indices, values = freq.to_sparse()
            arrays[f"{name}.indices"] = indices
            arrays[f"{name}.values"] = values
            arrays[f"{name}.n_docs"] = np.asarray([freq.n_docs])
        np.savez_compressed(directory / "text_prior.npz", allow_pickle=False, **arrays)
        meta = {
            "format_version": FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "threshold": self.threshold,
            "merge_threshold": self.merge_threshold,
            "cluster_feature_names": list(CLUSTER_FEATURE_NAMES),
            "text_hash_features": N_FEATURES,
            "card": self.card,
        }
        (directory / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        (directory / "MODEL_CARD.md").write_text(render_card(self))

    @classmethod
    def load(cls, directory: Path) -> PairwiseModel:

        meta_path = directory / "model.json"
        if not meta_path.is_file():
            raise ModelError(f"{directory}: no model.json (is this a disambig model directory?)")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelError(f"{meta_path}: not valid JSON ({exc})") from exc
        if not isinstance(meta, dict):
            raise ModelError(f"{meta_path}: not a model description (a JSON object)")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"{meta_path}: format version {meta.get('format_version')}, need {FORMAT_VERSION}"
                " (a model saved by an earlier disambig: train it again with `disambig train`)"
            )
        feature_names = tuple(meta.get("feature_names", ()))
        if feature_names not in (FEATURE_NAMES, FEATURE_NAMES + EMBEDDING_FEATURE_NAMES):
            raise ModelError(f"{meta_path}: trained on other features than this version of disambig computes")
        if feature_names != FEATURE_NAMES:
            from disambig.embeddings import require_embeddings

            require_embeddings(f"the model {directory}")
        if meta.get("text_hash_features") != N_FEATURES:
            raise ModelError(f"{meta_path}: text hashing size differs from this version")
        if tuple(meta.get("cluster_feature_names", ())) != CLUSTER_FEATURE_NAMES:
            raise ModelError(f"{meta_path}: trained on other cluster features than this version computes")
        classifier = _load_classifier(directory / "classifier.npz", len(feature_names))
        merger_path = directory / "merger.npz"
        merger = _load_classifier(merger_path, len(CLUSTER_FEATURE_NAMES)) if merger_path.is_file() else None
        prior: dict[str, DocumentFrequencies] = {}
        prior_path = directory / "text_prior.npz"
        try:
            with np.load(prior_path, allow_pickle=False) as arrays:
                for key in arrays.files:
                    if key.endswith(".n_docs"):
                        name = key.removesuffix(".n_docs")
                        prior[name] = DocumentFrequencies.from_sparse(
                            int(arrays[key][0]), arrays[f"{name}.indices"], arrays[f"{name}.values"]
                        )
        except _UNREADABLE_NPZ as exc:
            # Object arrays (pickles) are refused here too: np.load raises ValueError for them.
            raise ModelError(f"{prior_path}: refused ({exc})") from exc
        try:
            threshold, merge_threshold = float(meta["threshold"]), float(meta.get("merge_threshold", 0.5))
            card = dict(meta.get("card", {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{meta_path}: threshold or card malformed ({exc!r})") from exc
        return cls(classifier, threshold, feature_names, prior, card, merger, merge_threshold)


def _save_classifier(classifier: ProbabilisticClassifier, path: Path) -> None:
    try:
        ensemble = array_ensemble(classifier)
    except ValueError as exc:
        raise ModelError(f"{path}: cannot be saved ({exc})") from exc
    np.savez_compressed(path, allow_pickle=False, **ensemble.to_arrays())


def _load_classifier(path: Path, n_features: int) -> TreeEnsemble:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            ensemble = TreeEnsemble.from_arrays({key: arrays[key] for key in arrays.files})
    except _UNREADABLE_NPZ as exc:
        # Object arrays (pickles) are refused here too: np.load raises ValueError for them.
        raise ModelError(f"{path}: refused ({exc})") from exc
    if ensemble.n_features != n_features:
        raise ModelError(f"{path}: trees over {ensemble.n_features} features, the model lists {n_features}")
    return ensemble


def render_card(model: PairwiseModel) -> str:
    card = model.card
    lines = [f"# disambig model `{model.version}`", ""]
    lines += [f"- Clustering threshold (average link probability): {model.threshold:.3f}"]
    if model.merger is not None:
        lines += [f"- Cluster-merge threshold (second stage): {model.merge_threshold:.3f}"]
    for key in ("created", "classifier", "embeddings", "training_files", "training_pairs", "threshold_selection"):
        if key in card:
            lines.append(f"- {key.replace('_', ' ').capitalize()}: {card[key]}")
    lines += ["", "## Features", ""]
    lines += [f"- `{f.name}`: {f.description}" for f in model.features]
    if "dev_figures" in card:
        lines += ["", "## Figures", "", "| data | mode | B3 P | B3 R | B3 F1 | pair P | pair R | pair F1 |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
        for row in card["dev_figures"]:
            lines.append(
                f"| {row['data']} | {row['mode']} | {row['b3_precision']:.3f} | {row['b3_recall']:.3f} | "
                f"{row['b3_f1']:.3f} | {row['pairwise_precision']:.3f} | {row['pairwise_recall']:.3f} | "
                f"{row['pairwise_f1']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def default_model_path() -> Path:
    """$DISAMBIG_MODEL, else the model packaged with disambig, else models/default of a checkout."""
    if env := os.environ.get(ENV_MODEL):
        return Path(env)
    packaged = Path(__file__).parent / "_default_model"
    if (packaged / "model.json").is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "models" / "default"


def _distinct_rows(features: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(the first row of each distinct row, the distinct row of each row) when the rows repeat
    enough for predicting each distinct one once to pay (see REPEAT_SAMPLE), else None."""
    if features.ndim != 2 or len(features) < REPEAT_MIN_ROWS or not features.flags.c_contiguous:
        return None
    # Rows compared as bytes: equal bytes are equal inputs (NaN included), so equal outputs.
    as_bytes = features.view(np.dtype((np.void, features.dtype.itemsize * features.shape[1]))).ravel()
    sample = as_bytes[:REPEAT_SAMPLE]
    if len(np.unique(sample)) > REPEAT_SHARE * len(sample):
        return None
    _, first, inverse = np.unique(as_bytes, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def load_model(path: Path | str | None = None) -> PairwiseModel:
    return PairwiseModel.load(Path(path) if path is not None else default_model_path())
