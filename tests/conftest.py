"""Suite-wide settings."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from disambig.mention import Mention
from disambig.model import PairwiseModel


@pytest.fixture(scope="session", autouse=True)
def one_openmp_thread() -> Iterator[None]:
    # On a 2-core machine, OpenMP threads competing with another process make a scikit-learn fit
    # many times slower; tests fit small models, so one thread each is both faster and steadier.
    with threadpool_limits(1):
        yield


def shared_data_dir() -> Path:
    """The labelled data: $DISAMBIG_SHARED_DATA, else ../shared/data beside the checkout."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("DISAMBIG_SHARED_DATA", default))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    directory = shared_data_dir()
    if not (directory / "README.md").is_file():
        pytest.skip(f"labelled data not found at {directory}: set DISAMBIG_SHARED_DATA (.ci/run does)")
    return directory


class WordEmbedder:
    """Stands in for all-MiniLM-L6-v2 (disambig.embeddings) without torch: a bag of hashed words,
    unit length, so texts sharing words point the same way."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from disambig.embeddings import EMBEDDING_DIM

        self.calls.append(list(texts))
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "big") % EMBEDDING_DIM] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)

    def embed_mentions(self, mentions: Sequence[Mention]) -> np.ndarray:
        from disambig.embeddings import mention_text

        return self.embed([mention_text(m) for m in mentions])


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> Iterator[WordEmbedder]:
    """The process's embedder replaced by WordEmbedder (forked workers inherit it), and the
    embeddings extra taken as installed."""
    from disambig import embeddings

    fake = WordEmbedder()
    monkeypatch.setattr(embeddings, "shared_embedder", lambda: fake)
    monkeypatch.setattr(embeddings, "embeddings_available", lambda: True)
    yield fake


@pytest.fixture(scope="session")
def embedding_model() -> PairwiseModel:
    """A small model with the embedding feature that links on it: P(same) rises with the
    embedding cosine (the last column). Fitted on random rows, in a second or two."""
    from disambig.features import EMBEDDING_FEATURE_NAMES, FEATURE_NAMES
    from disambig.training import PairRows, fit_classifier

    names = FEATURE_NAMES + EMBEDDING_FEATURE_NAMES
    rng = np.random.default_rng(0)
    x = rng.random((600, len(names))).astype(np.float32)
    rows = PairRows(x, (x[:, -1] > 0.3).astype(np.int8), np.arange(600) // 20)
    return PairwiseModel(
        fit_classifier(rows, feature_names=names), threshold=0.5, feature_names=names, card={"version": "t"}
    )
