"""Sample weights in training: they reach both the boosting and its calibration."""

from __future__ import annotations

import numpy as np
import pytest

from disambig.features import FEATURE_NAMES
from disambig.training import PairRows, fit_classifier


def _rows() -> PairRows:
    rng = np.random.default_rng(0)
    features = rng.random((900, len(FEATURE_NAMES))).astype(np.float32)
    same = (rng.random(900) < 0.3).astype(np.int8)  # no feature tells: the model can only learn the base rate
    return PairRows(features, same, np.arange(900) // 30)


def test_weights_move_the_calibrated_base_rate() -> None:
    rows = _rows()
    x = np.random.default_rng(1).random((400, len(FEATURE_NAMES))).astype(np.float32)
    plain = fit_classifier(rows).predict_proba(x)[:, 1].mean()
    # positives weigh 3.5: a weighted base rate of about 0.6 (if the Platt calibration ignored
    # the weights, it would pull the boosted scores back to the unweighted 0.3)
    weights = np.where(rows.same == 1, 3.5, 1.0)
    weighted = fit_classifier(rows, sample_weight=weights).predict_proba(x)[:, 1].mean()
    assert plain == pytest.approx(rows.same.mean(), abs=0.08)
    assert weighted == pytest.approx(np.average(rows.same, weights=weights), abs=0.08)
