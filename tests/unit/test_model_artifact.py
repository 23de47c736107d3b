"""Model artifacts: round trip, and refusal of anything but plain arrays that form trees."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from disambig.errors import ModelError
from disambig.features import FEATURE_NAMES
from disambig.model import PairwiseModel
from disambig.training import PairRows, fit_classifier


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    features = rng.random((600, len(FEATURE_NAMES))).astype(np.float32)
    same = (features[:, 0] > 0.5).astype(np.int8)
    rows = PairRows(features, same, np.arange(600) // 20)
    directory = tmp_path_factory.mktemp("model") / "m"
    PairwiseModel(fit_classifier(rows), threshold=0.42, card={"version": "test"}).save(directory)
    return directory


def test_round_trip_keeps_predictions_and_threshold(saved: Path) -> None:
    model = PairwiseModel.load(saved)
    again = PairwiseModel.load(saved)
    x = np.random.default_rng(1).random((50, len(FEATURE_NAMES))).astype(np.float32)
    assert model.threshold == pytest.approx(0.42)
    assert np.array_equal(model.predict(x), again.predict(x))
    assert model.predict(x).min() >= 0.0 and model.predict(x).max() <= 1.0


def _copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def _rewrite_classifier(directory: Path, change: dict[str, np.ndarray]) -> None:
    path = directory / "classifier.npz"
    with np.load(path) as arrays:
        contents = {key: arrays[key] for key in arrays.files}
    np.savez(path, **{**contents, **change})


def test_pickle_in_place_of_the_classifier_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    (directory / "classifier.npz").write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelError, match=r"classifier\.npz: refused"):
        PairwiseModel.load(directory)


def test_object_array_in_the_classifier_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    _rewrite_classifier(directory, {"sigmoid": np.array([os.system, 1.0], dtype=object)})
    with pytest.raises(ModelError, match=r"classifier\.npz: refused"):
        PairwiseModel.load(directory)


def _first_split(directory: Path) -> tuple[dict[str, np.ndarray], int]:
    with np.load(directory / "classifier.npz") as arrays:
        nodes = {key: arrays[key].copy() for key in arrays.files}
    return nodes, int(np.flatnonzero(nodes["nodes.is_leaf"] == 0)[0])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("nodes.left", 0, "before its parent"),  # a loop back to the root: evaluation would never end
        ("nodes.right", 10**9, "outside the tree"),
        ("nodes.feature_idx", len(FEATURE_NAMES), "unknown feature"),
        ("nodes.num_threshold", np.nan, "no threshold"),
    ],
)
def test_nodes_that_form_no_tree_are_refused(
    saved: Path, tmp_path: Path, field: str, value: float, message: str
) -> None:
    directory = _copy(saved, tmp_path)
    nodes, split = _first_split(directory)
    nodes[field][split] = value
    _rewrite_classifier(directory, {field: nodes[field]})
    with pytest.raises(ModelError, match=message):
        PairwiseModel.load(directory)


def test_a_child_with_two_parents_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    nodes, split = _first_split(directory)
    nodes["nodes.right"][split] = nodes["nodes.left"][split]
    _rewrite_classifier(directory, {"nodes.right": nodes["nodes.right"]})
    with pytest.raises(ModelError, match="shared between parents"):
        PairwiseModel.load(directory)


def test_trees_over_another_number_of_features_are_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    _rewrite_classifier(directory, {"n_features": np.array([len(FEATURE_NAMES) + 1])})
    with pytest.raises(ModelError, match="features"):
        PairwiseModel.load(directory)


def test_a_model_of_the_skops_format_asks_to_be_trained_again(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    meta = json.loads((directory / "model.json").read_text())
    (directory / "model.json").write_text(json.dumps({**meta, "format_version": 1}))
    with pytest.raises(ModelError, match=r"format version 1, need 2 .*disambig train"):
        PairwiseModel.load(directory)


def test_a_classifier_the_arrays_cannot_reproduce_is_not_saved(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((300, len(FEATURE_NAMES))).astype(np.float32)
    booster = HistGradientBoostingClassifier(max_iter=10)
    isotonic = CalibratedClassifierCV(booster, method="isotonic", cv=2).fit(x, (x[:, 0] > 0.5).astype(int))
    with pytest.raises(ModelError, match="cannot be saved"):
        PairwiseModel(isotonic, threshold=0.5).save(tmp_path / "m")
    assert not (tmp_path / "m" / "classifier.npz").exists()


def test_other_feature_list_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    meta = json.loads((directory / "model.json").read_text())
    meta["feature_names"] = [*meta["feature_names"], "an_unknown_feature"]
    (directory / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="other features"):
        PairwiseModel.load(directory)


def test_missing_directory_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no model\.json"):
        PairwiseModel.load(tmp_path / "nowhere")
