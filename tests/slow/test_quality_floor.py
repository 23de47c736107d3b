"""Quality regression guard on the full development file (slow: CI runs it with -m slow).

The floors sit below the figures the shipped model measured (see models/default/MODEL_CARD.md),
so they catch a broken feature or a mis-loaded model, not noise. Targets are reported by
benchmarks/quality.py, not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from disambig.evaluation import baseline_labels, score
from disambig.model import load_model
from disambig.training import LabelledCorpus, evaluate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("initials", [False, True], ids=["as-written", "initials"])
def test_default_model_beats_both_baselines_on_dev(initials: bool, shared_data: Path) -> None:
    corpus = LabelledCorpus.read(shared_data / "qian_dblp_dev.jsonl.gz")
    if initials:
        corpus = corpus.in_initials()
    model_scores = evaluate(load_model(), corpus, jobs=2)
    names = [m.name for m in corpus.mentions]
    for kind in ("name", "block"):
        baseline = score(baseline_labels(names, kind), list(corpus.labels))
        assert model_scores.b3_f1 > baseline.b3_f1 + 0.05, kind
    assert model_scores.b3_f1 > 0.84
