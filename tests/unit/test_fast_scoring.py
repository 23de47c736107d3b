"""The online scoring shortcuts give the plain computations' values to the last bit: per-block
indexes against PairContext, extended BlockNames against BlockNames, stack_tables against
scipy's stacking, a table reweighted in place against one weighted afresh, and the array evaluation
of the classifier against predict_proba."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from disambig.block_scoring import NAME_ATTRIBUTES, BlockIndex, OneRowContext
from disambig.classifier import same_person_probability
from disambig.corpus import MentionTable, TableWeights, reweighted, stack_tables, widen
from disambig.features import FEATURE_NAMES, BlockNames, PairContext, featurize
from disambig.model import PairwiseModel, load_model
from disambig.names import parse_name
from disambig.stored_mentions import parts_of
from disambig.training import LabelledCorpus, PairRows, fit_classifier
from disambig.tree_scoring import TreeEnsemble, check_rows, fast_predictor

# Every array BlockNames holds; its coauthor matrix is compared through the tables.
COMPARED_NAME_ATTRIBUTES = sorted(NAME_ATTRIBUTES - {"_coauthors"})


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture(scope="module")
def blocks(shared_data: Path) -> list[list[Any]]:
    """A few name blocks of qian_dblp_dev, small to large (the first row of each, a stranger)."""
    corpus = LabelledCorpus.read(shared_data / "qian_dblp_dev.jsonl.gz")
    by_key: dict[str, list[Any]] = {}
    for mention in corpus.mentions:
        by_key.setdefault(parse_name(mention.name).block_key, []).append(mention)
    ordered = sorted(by_key.values(), key=len)
    return [ordered[0], ordered[len(ordered) // 2], ordered[-2], ordered[-1]]


def assert_same_names(fast: BlockNames, slow: BlockNames) -> None:
    for name in COMPARED_NAME_ATTRIBUTES:
        a, b = getattr(fast, name), getattr(slow, name)
        if isinstance(a, list):
            assert a == b, name
        else:
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), name


def assert_same_tables(a: MentionTable, b: MentionTable) -> None:
    for column in dataclasses.fields(MentionTable):
        x, y = getattr(a, column.name), getattr(b, column.name)
        pairs = [(x[k], y[k]) for k in x] if isinstance(x, dict) else [(x, y)]
        if isinstance(x, dict):
            assert list(x) == list(y)
        for u, v in pairs:
            if sp.issparse(u):
                assert u.shape == v.shape and u.dtype == v.dtype, column.name
                for part in ("indptr", "indices", "data"):
                    assert np.array_equal(getattr(u, part), getattr(v, part)), (column.name, part)
            elif isinstance(u, np.ndarray):
                assert u.dtype == v.dtype and u.shape == v.shape, column.name
                assert np.array_equal(u, v, equal_nan=u.dtype.kind == "f"), column.name
            else:
                assert u == v, column.name


def test_one_new_row_gets_the_pair_context_features_bit_for_bit(blocks: list[list[Any]], model: PairwiseModel) -> None:
    checked = 0
    for mentions in blocks:
        stored, arriving = mentions[: max(1, len(mentions) * 3 // 4)], mentions[max(1, len(mentions) * 3 // 4) :]
        weights = TableWeights.fit(parts_of(stored), model.text_prior)
        table = weights.rows(parts_of(stored))
        index = BlockIndex(table)
        # Each arriving mention is scored against the block, then appended to it (as stored):
        # the index is carried over (base segment, tail segment, names extended).
        for mention in arriving[:40]:
            row = weights.rows(parts_of([mention]))
            full = stack_tables(table, row)
            names, context = index.context(full, row)
            assert isinstance(context, OneRowContext)
            n = len(table)
            pairs = (np.full(n, n), np.arange(n))
            reference_names = BlockNames(full)
            assert_same_names(names, reference_names)
            fast = featurize(context, pairs)
            # The whole table's context: its lookups take both axes, the one-row ones a single row.
            slow = featurize(PairContext(full, reference_names, 0, n + 1), pairs)
            assert fast.shape == (n, len(FEATURE_NAMES)) and fast.dtype == slow.dtype
            assert np.array_equal(fast, slow, equal_nan=True)
            index, table = index.extended(full), full
            checked += 1
    assert checked > 40


def test_names_made_for_a_row_never_stored_are_not_carried_to_another(
    blocks: list[list[Any]], model: PairwiseModel
) -> None:
    """A decision dropped unwritten (or a search) scores a mention that is never stored; the
    block's next table appends another mention instead, and must get that mention's names."""
    mentions = blocks[-1]
    stored = mentions[:-2]
    weights = TableWeights.fit(parts_of(stored), model.text_prior)
    table = weights.rows(parts_of(stored))
    index = BlockIndex(table)
    # Two arrivals whose given names differ, so that their names rows differ.
    dropped, kept = next(
        (a, b)
        for a in mentions[len(stored) :] + stored
        for b in reversed(stored)
        if parse_name(a.name).given != parse_name(b.name).given
    )
    dropped_row = weights.rows(parts_of([dropped]))
    index.context(stack_tables(table, dropped_row), dropped_row)
    kept_row = weights.rows(parts_of([kept]))
    full = stack_tables(table, kept_row)
    carried = index.extended(full).names().names
    assert_same_names(carried, BlockNames(full))
    assert carried._coauthors is full.coauthors


def test_a_mention_weighted_alone_gets_its_row_of_the_whole_table(
    blocks: list[list[Any]], model: PairwiseModel
) -> None:
    # One mention takes a shorter path (online resolution); its row must be the table's, bit for bit.
    mentions = blocks[-1][:60]
    weights = TableWeights.fit(parts_of(mentions[:-10]), model.text_prior)
    arriving = mentions[-10:]
    together = weights.rows(parts_of(arriving))
    for k, mention in enumerate(arriving):
        alone = weights.rows(parts_of([mention]))
        for field, matrix in alone.text.items():
            row = together.text[field][k : k + 1]
            assert matrix.shape == row.shape
            assert np.array_equal(matrix.indices, row.indices), field
            assert matrix.data.tobytes() == row.data.tobytes(), field


@pytest.mark.parametrize("added", [1, 3])
def test_stacked_tables_are_scipys_stacking(blocks: list[list[Any]], model: PairwiseModel, added: int) -> None:
    """stack_tables concatenates arrays; scipy's vstack of the matrices, the first widened to the
    second's coauthor columns, is what it must equal, entry for entry."""
    mentions = blocks[-1]
    weights = TableWeights.fit(parts_of(mentions[:-3]), model.text_prior)
    table = weights.rows(parts_of(mentions[:-3]))
    # A coauthor the block never saw widens the coauthor columns.
    arriving = [dataclasses.replace(m, coauthors=(*m.coauthors, "Q. Nobody")) for m in mentions[-added:]]
    rows = weights.rows(parts_of(arriving))
    assert rows.coauthors.shape[1] > table.coauthors.shape[1]

    def stacked(a: Any, b: Any) -> Any:
        if sp.issparse(a):
            return sp.vstack([widen(a, b.shape[1]), b], format="csr")
        if isinstance(a, dict):
            return {k: stacked(v, b[k]) for k, v in a.items()}
        if isinstance(a, np.ndarray):
            return np.concatenate([a, b])
        return None if a is None else [*a, *b]

    columns = dataclasses.fields(MentionTable)
    expected = MentionTable(**{c.name: stacked(getattr(table, c.name), getattr(rows, c.name)) for c in columns})
    assert_same_tables(stack_tables(table, rows), expected)


@pytest.mark.parametrize("fitted_before", [1, 7, 40])
def test_a_reweighted_table_is_the_table_weighted_afresh(
    blocks: list[list[Any]], model: PairwiseModel, fitted_before: int
) -> None:
    """A table made under weights fitted to its first rows, reweighted to more of them (or
    fewer), is bit for bit the table those weights make from the mentions."""
    parts = parts_of(blocks[-1][:60])
    weights = TableWeights.fit(parts[:fitted_before], model.text_prior)
    table = weights.rows(parts)
    for fitted in (fitted_before, 25, 60):
        refitted, reweighted_table = reweighted(table, weights, fitted, model.text_prior)
        fresh = TableWeights.fit(parts[:fitted], model.text_prior)
        assert_same_tables(reweighted_table, fresh.rows(parts))
        assert refitted.coauthor_docs == fresh.coauthor_docs == fitted
        assert refitted.coauthor_columns == fresh.coauthor_columns
        assert np.array_equal(refitted.coauthor_idf, fresh.coauthor_idf)
        for field, idf in fresh.text_idf.items():
            mine = refitted.text_idf[field]
            assert mine.n_docs == idf.n_docs and np.array_equal(mine.columns, idf.columns), field
            assert np.array_equal(mine.counts, idf.counts), field


def test_the_array_classifier_is_predict_proba_bit_for_bit(
    blocks: list[list[Any]], model: PairwiseModel, tmp_path: Path
) -> None:
    """A classifier fitted as `disambig train` fits it, on real pair rows, gives the same bits
    evaluated as arrays, and again once saved as a model and loaded back (the artifact holds
    the arrays only)."""
    mentions = blocks[-1]
    table = TableWeights.fit(parts_of(mentions), model.text_prior).rows(parts_of(mentions))
    n = len(table)
    pairs = (np.repeat(np.arange(n), n), np.tile(np.arange(n), n))
    keep = pairs[0] < pairs[1]
    pairs = (pairs[0][keep], pairs[1][keep])
    real = featurize(PairContext(table, BlockNames(table), 0, n), pairs)
    noise = np.random.default_rng(0).random(len(real))
    same = ((np.nan_to_num(real[:, 0]) > 0) ^ (noise < 0.1)).astype(np.int8)
    fitted = fit_classifier(PairRows(real, same, np.arange(len(real)) // 50), feature_names=FEATURE_NAMES)
    ensemble = TreeEnsemble.from_classifier(fitted)
    PairwiseModel(fitted, threshold=0.4).save(tmp_path / "m")
    loaded = PairwiseModel.load(tmp_path / "m")
    assert isinstance(loaded.classifier, TreeEnsemble)
    for rows in (real, check_rows(len(FEATURE_NAMES), seed=3), real[:1], real[:0]):
        expected = same_person_probability(fitted, rows)
        assert np.array_equal(ensemble.predict(rows), expected)
        assert np.array_equal(loaded.predict(rows), expected)
        assert np.array_equal(same_person_probability(loaded.classifier, rows), expected)


def test_repeated_rows_are_predicted_once_to_the_same_bits(
    model: PairwiseModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = check_rows(len(FEATURE_NAMES), seed=5, count=40)
    rng = np.random.default_rng(0)
    repeated = rows[rng.integers(0, len(rows), 600)]  # a sparse catalogue's rows: few distinct
    seen: list[int] = []

    def counting(classifier: Any) -> Any:
        def predict(features: np.ndarray) -> np.ndarray:
            seen.append(len(features))
            return same_person_probability(classifier, features)

        return predict

    monkeypatch.setattr("disambig.model.fast_predictor", counting)
    assert np.array_equal(model.predict(repeated), same_person_probability(model.classifier, repeated))
    assert seen == [len({row.tobytes() for row in repeated})]  # NaN included
    distinct = check_rows(len(FEATURE_NAMES), seed=6, count=600)  # nothing repeats: predicted as given
    seen.clear()
    assert np.array_equal(model.predict(distinct), same_person_probability(model.classifier, distinct))
    assert seen == [600]


def test_other_classifiers_are_reproduced_or_left_to_predict_proba() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) > 0).astype(int)
    # "none": the booster alone, as the second stage (the merger) is trained.
    for method, leaves in (("sigmoid", 31), ("sigmoid", 63), ("isotonic", 31), ("none", 15)):
        booster = HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=leaves, min_samples_leaf=2)
        classifier: Any = (
            booster.fit(x, y)
            if method == "none"
            else CalibratedClassifierCV(booster, method=method, cv=2, ensemble=False).fit(x, y)
        )
        probe = check_rows(5, seed=1)
        assert np.array_equal(fast_predictor(classifier)(probe), same_person_probability(classifier, probe))
        reproduced = isinstance(getattr(fast_predictor(classifier), "__self__", None), TreeEnsemble)
        assert reproduced == (method != "isotonic")  # isotonic: left to predict_proba
