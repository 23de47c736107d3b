"""The one thing disambig asks of a fitted classifier (scikit-learn's predict_proba)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class ProbabilisticClassifier(Protocol):
    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...
