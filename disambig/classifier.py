"""The one thing disambig asks of a fitted classifier (scikit-learn's predict_proba)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class ProbabilisticClassifier(Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


def same_person_probability(classifier: ProbabilisticClassifier, features: np.ndarray) -> np.ndarray:
    """P(same person) per row of pair features, float32, by the classifier's own predict_proba."""
    if len(features) == 0:
        return np.empty(0, dtype=np.float32)
    return classifier.predict_proba(features)[:, 1].astype(np.float32)
