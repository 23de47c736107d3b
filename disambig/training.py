"""Training the pairwise model on labelled files and choosing its clustering threshold.

The threshold is chosen by cross-validation over name blocks of the training files themselves,
never on development data, so dev figures stay honest.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from disambig.clustering import cluster_block
from disambig.engine import Prepared, ScoredBlock, name_blocks, prepare, score_block
from disambig.evaluation import Scores, score
from disambig.features import BlockNames, PairContext, featurize, slab_pairs
from disambig.mention import Mention
from disambig.model import PairwiseModel, ProbabilisticClassifier
from disambig.names import to_initials
from disambig.readers import read_labelled, read_labelled_pairs
from disambig.text import DocumentFrequencies, hash_documents

log = logging.getLogger(__name__)

MAX_PAIRS_PER_BLOCK = 20_000
THRESHOLDS = tuple(np.round(np.arange(0.20, 0.86, 0.05), 2))


@dataclass(frozen=True)
class LabelledCorpus:
    name: str
    mentions: list[Mention]
    labels: np.ndarray

    @classmethod
    def read(cls, path: str | Path) -> LabelledCorpus:
        mentions, labels = read_labelled(path)
        return cls(Path(path).name.split(".")[0], mentions, np.asarray(labels, dtype=object))

    def in_initials(self) -> LabelledCorpus:
        """The same corpus with every name rewritten to initials + surname."""
        mentions = [replace(m, name=to_initials(m.name)) for m in self.mentions]
        return LabelledCorpus(f"{self.name}[initials]", mentions, self.labels)

    def subset(self, rows: np.ndarray) -> LabelledCorpus:
        return LabelledCorpus(self.name, [self.mentions[int(r)] for r in rows], self.labels[rows])


def text_frequencies(corpora: Sequence[LabelledCorpus]) -> dict[str, DocumentFrequencies]:
    """Document frequencies of the corpora, per text field: the prior shipped with a model."""
    from disambig.corpus import TEXT_FIELDS, _field_texts

    mentions = [m for c in corpora for m in c.mentions]
    return {f: DocumentFrequencies.of(hash_documents(_field_texts(mentions, f))) for f in TEXT_FIELDS}


@dataclass
class PairRows:
    features: np.ndarray
    same: np.ndarray
    groups: np.ndarray  # block id per row, for grouped cross-validation

    @classmethod
    def concat(cls, parts: Sequence[PairRows]) -> PairRows:
        return cls(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.same for p in parts]),
            np.concatenate([p.groups for p in parts]),
        )


def pair_rows(
    prepared: Prepared,
    labels: np.ndarray,
    rng: np.random.Generator,
    block_group: Callable[[str], int],
    max_pairs_per_block: int = MAX_PAIRS_PER_BLOCK,
) -> PairRows:
    """Pairs drawn within blocks, as the engine will see them: only name-compatible pairs, since
    the others never reach the classifier. Same-name different-person pairs (hard negatives)
    come along naturally, as the homonym blocks are full of them."""
    parts: list[PairRows] = []
    for block in prepared.blocks:
        table = prepared.table.take(block.rows)
        n = len(table)
        if n < 2:
            continue
        names = BlockNames(table)
        i, j = slab_pairs(n, 0, n - 1)
        keep = np.flatnonzero(names.compatible(i, j))
        if len(keep) > max_pairs_per_block:
            keep = np.sort(rng.choice(keep, size=max_pairs_per_block, replace=False))
        i, j = i[keep], j[keep]
        ctx = PairContext(table, names, 0, n)
        block_labels = labels[block.rows]
        parts.append(
            PairRows(
                featurize(ctx, (i, j)),
                (block_labels[i] == block_labels[j]).astype(np.int8),
                np.full(len(i), block_group(block.key), dtype=np.int64),
            )
        )
    return PairRows.concat(parts)


def labelled_pair_rows(
    pairs: Sequence[tuple[Mention, Mention, bool]],
    text_prior: dict[str, DocumentFrequencies],
    first_group: int,
) -> PairRows:
    """Rows from a file of labelled pairs (e.g. MEDLINE), featurised exactly as in a block."""
    mentions = [m for a, b, _ in pairs for m in (a, b)]
    prepared = prepare(mentions, text_prior)
    where = {}
    for block_no, block in enumerate(prepared.blocks):
        for local, row in enumerate(block.rows):
            where[int(row)] = (block_no, local)
    by_block: dict[int, list[tuple[int, int, bool]]] = {}
    for k, (_, _, same) in enumerate(pairs):
        (block_a, i), (block_b, j) = where[2 * k], where[2 * k + 1]
        if block_a == block_b and i != j:
            by_block.setdefault(block_a, []).append((min(i, j), max(i, j), same))
    parts = []
    for block_no, items in sorted(by_block.items()):
        table = prepared.table.take(prepared.blocks[block_no].rows)
        names = BlockNames(table)
        i = np.array([t[0] for t in items])
        j = np.array([t[1] for t in items])
        keep = names.compatible(i, j)
        features = featurize(PairContext(table, names, 0, len(table)), (i[keep], j[keep]))
        same = np.array([t[2] for t in items], dtype=np.int8)[keep]
        parts.append(PairRows(features, same, np.full(len(same), first_group + block_no, dtype=np.int64)))
    return PairRows.concat(parts)


def fit_classifier(rows: PairRows, seed: int = 0) -> ProbabilisticClassifier:
    """Gradient boosting, isotonic-calibrated on out-of-fold predictions grouped by block."""
    booster = HistGradientBoostingClassifier(
        max_iter=250,
        learning_rate=0.08,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    splits = list(GroupKFold(n_splits=3).split(rows.features, rows.same, rows.groups))
    calibrated = CalibratedClassifierCV(booster, method="isotonic", cv=splits, ensemble=False)
    calibrated.fit(rows.features, rows.same)
    return calibrated


def cluster_labels(scored: Sequence[tuple[Prepared, list[ScoredBlock]]], threshold: float) -> list[np.ndarray]:
    """Predicted cluster labels per corpus, at one threshold, from pre-computed scores."""
    out = []
    for prepared, blocks in scored:
        labels = np.empty(len(prepared.mentions), dtype=object)
        for block, sb in zip(prepared.blocks, blocks):
            block_labels = cluster_block(sb.probabilities, threshold, sb.cannot_link, sb.must_link)
            for row, label in zip(block.rows, block_labels):
                labels[row] = f"{block.key}#{label}"
        out.append(labels)
    return out


def score_corpus(model: PairwiseModel, prepared: Prepared) -> list[ScoredBlock]:
    return [score_block(model, prepared.table.take(b.rows)) for b in prepared.blocks]


def _fold_of(corpus: str, block_key: str, folds: int) -> int:
    digest = hashlib.blake2b(f"{corpus}/{block_key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % folds


def choose_threshold(
    corpora: Sequence[LabelledCorpus], rows_for: Callable[[Sequence[LabelledCorpus]], PairRows], folds: int = 3
) -> tuple[float, dict[float, float]]:
    """The threshold with the best mean B3 F1 on held-out blocks of the training corpora."""
    totals = {t: 0.0 for t in THRESHOLDS}
    count = 0
    for fold in range(folds):
        train_parts, test_parts = [], []
        for corpus in corpora:
            base = corpus.name.split("[")[0]
            in_fold = np.zeros(len(corpus.mentions), dtype=bool)
            for block in name_blocks(corpus.mentions):
                if _fold_of(base, block.key, folds) == fold:
                    in_fold[block.rows] = True
            train_parts.append(corpus.subset(np.flatnonzero(~in_fold)))
            test_parts.append(corpus.subset(np.flatnonzero(in_fold)))
        model = PairwiseModel(fit_classifier(rows_for(train_parts)), threshold=0.5)
        scored = []
        for corpus in test_parts:
            base = corpus.name.split("[")[0]
            prior = text_frequencies([c for c in corpora if "[" not in c.name and c.name != base])
            prepared = prepare(corpus.mentions, prior)
            scored.append((prepared, score_corpus(model, prepared)))
        for threshold in THRESHOLDS:
            predictions = cluster_labels(scored, threshold)
            for corpus, predicted in zip(test_parts, predictions):
                totals[threshold] += score(list(predicted), list(corpus.labels)).b3_f1
        count += len(test_parts)
        log.info("threshold fold %d/%d done", fold + 1, folds)
    means = {t: totals[t] / count for t in THRESHOLDS}
    best = max(THRESHOLDS, key=lambda t: (means[t], -abs(t - 0.5)))
    return float(best), means


def evaluate(model: PairwiseModel, corpus: LabelledCorpus) -> tuple[Scores, np.ndarray, Prepared]:
    prepared = prepare(corpus.mentions, model.text_prior)
    (predicted,) = cluster_labels([(prepared, score_corpus(model, prepared))], model.threshold)
    return score(list(predicted), list(corpus.labels)), predicted, prepared


def dev_figures(model: PairwiseModel, paths: Sequence[Path]) -> list[dict[str, object]]:
    """Scores on labelled files the model never saw, names as written and in initials mode."""
    figures: list[dict[str, object]] = []
    for path in paths:
        corpus = LabelledCorpus.read(path)
        for mode, data in (("as written", corpus), ("initials", corpus.in_initials())):
            scores, _, _ = evaluate(model, data)
            figures.append({"data": Path(path).name, "mode": mode, **scores.as_dict()})
            log.info("%s (%s): B3 F1 %.4f", Path(path).name, mode, scores.b3_f1)
    return figures


def train(
    paths: Sequence[Path],
    *,
    pair_files: Sequence[Path] = (),
    dev_files: Sequence[Path] = (),
    seed: int = 0,
    with_initials: bool = True,
    tune_threshold: bool = True,
) -> PairwiseModel:
    """Fit the pairwise model on labelled mention files (+ labelled pair files), tune its threshold."""
    base_corpora = [LabelledCorpus.read(p) for p in paths]
    corpora = base_corpora + ([c.in_initials() for c in base_corpora] if with_initials else [])
    prior = text_frequencies(base_corpora)
    labelled_pairs = []
    for path in pair_files:
        pairs, skipped = read_labelled_pairs(path)
        if skipped:
            log.warning("%s: %d pairs skipped, first: %s", path, len(skipped), skipped[0])
        labelled_pairs.append(pairs)
    group_ids: dict[tuple[str, str], int] = {}

    def rows_for(parts: Sequence[LabelledCorpus]) -> PairRows:
        rng = np.random.default_rng(seed)
        out = []
        for corpus in parts:
            base = corpus.name.split("[")[0]
            # IDF as at inference: this corpus's own counts plus the other corpora as prior.
            others = text_frequencies([c for c in base_corpora if c.name != base])
            prepared = prepare(corpus.mentions, others)

            def group_of(key: str, base: str = base) -> int:
                return group_ids.setdefault((base, key), len(group_ids))

            out.append(pair_rows(prepared, corpus.labels, rng, group_of))
        for pairs in labelled_pairs:
            out.append(labelled_pair_rows(pairs, prior, first_group=1_000_000 + len(out) * 100_000))
        return PairRows.concat(out)

    threshold, curve = (0.5, {})
    if tune_threshold:
        threshold, curve = choose_threshold(corpora, rows_for)
        log.info("threshold %.2f (cross-validated B3 F1 %s)", threshold, curve)
    rows = rows_for(corpora)
    classifier = fit_classifier(rows, seed)
    now = datetime.now(UTC)
    card: dict[str, object] = {
        "version": now.strftime("%Y%m%d-%H%M%S"),
        "created": now.isoformat(timespec="seconds"),
        "classifier": "HistGradientBoostingClassifier, isotonic calibration (3 folds grouped by name block)",
        "training_files": [Path(p).name for p in [*paths, *pair_files]]
        + (["(+ every mention file again with names rewritten to initials)"] if with_initials else []),
        "training_pairs": len(rows.same),
        "threshold_selection": (
            "3-fold cross-validation over name blocks of the training files (mean B3 F1): "
            + ", ".join(f"{t:.2f}: {f:.3f}" for t, f in sorted(curve.items()))
        ),
    }
    model = PairwiseModel(classifier, threshold, text_prior=prior, card=card)
    if dev_files:
        card["dev_figures"] = dev_figures(model, dev_files)
    return model
