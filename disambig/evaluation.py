"""Clustering quality against labelled persons: B3 and pairwise precision, recall and F1."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    mentions: int
    b3_precision: float
    b3_recall: float
    b3_f1: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Scores:
    """B3 (mention-averaged) and pairwise scores of predicted clusters against gold clusters."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold labels differ in length")
    n = len(gold)
    if n == 0:
        return Scores(0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    joint = Counter(zip(predicted, gold))
    pred_sizes = Counter(predicted)
    gold_sizes = Counter(gold)
    b3_p = sum(c * c / pred_sizes[p] for (p, _), c in joint.items()) / n
    b3_r = sum(c * c / gold_sizes[g] for (_, g), c in joint.items()) / n
    true_positive = sum(_pairs(c) for c in joint.values())
    predicted_pairs = sum(_pairs(c) for c in pred_sizes.values())
    gold_pairs = sum(_pairs(c) for c in gold_sizes.values())
    pair_p = true_positive / predicted_pairs if predicted_pairs else 1.0
    pair_r = true_positive / gold_pairs if gold_pairs else 1.0
    return Scores(n, b3_p, b3_r, _f1(b3_p, b3_r), pair_p, pair_r, _f1(pair_p, pair_r))


def score_by_block(predicted: Sequence[Hashable], gold: Sequence[Hashable], blocks: Sequence[str]) -> dict[str, Scores]:
    rows: dict[str, list[int]] = defaultdict(list)
    for row, block in enumerate(blocks):
        rows[block].append(row)
    return {
        block: score([predicted[r] for r in members], [gold[r] for r in members])
        for block, members in sorted(rows.items())
    }


def baseline_labels(names: Sequence[str], kind: str) -> list[str]:
    """Reference clusterings: "name" (same normalised name string = same person) or "block"
    (one identity per surname + first-initial block)."""
    from disambig.names import parse_name

    parsed = [parse_name(n) for n in names]
    if kind == "name":
        return [p.full_key for p in parsed]
    if kind == "block":
        return [p.block_key for p in parsed]
    raise ValueError(f"unknown baseline {kind!r}")
