"""Model artifacts: round trip, and refusal of anything the safe loader does not trust."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.preprocessing import FunctionTransformer

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


def test_untrusted_type_in_classifier_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    skops.io.dump(FunctionTransformer(func=os.system), directory / "classifier.skops")
    with pytest.raises(ModelError, match="refused by the safe loader"):
        PairwiseModel.load(directory)


def test_pickle_in_place_of_the_artifact_is_refused(saved: Path, tmp_path: Path) -> None:
    directory = _copy(saved, tmp_path)
    (directory / "classifier.skops").write_bytes(pickle.dumps({"not": "a model"}))
    with pytest.raises(ModelError):
        PairwiseModel.load(directory)


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
