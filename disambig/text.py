"""Sparse text vectors that work on any corpus: hashed tokens weighted by smoothed IDF.

No vocabulary is fitted, so a biomedical corpus gets vectors as good as a computer-science one.
Document frequencies come from the corpus being resolved, smoothed by a prior (the training
corpora's counts shipped with the model) so a small batch still gets sensible weights.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer

from disambig.csr import csr_from_arrays
from disambig.names import fold

N_FEATURES = 2**18
# Prefix truncation is a crude, language-neutral stemmer: "distributed" and the pre-stemmed
# "distribut" agree, at the cost of a few collisions that IDF weighting makes harmless.
STEM_CHARS = 6
_TOKEN = re.compile(r"[a-z0-9]{2,}")
_STOP = frozenset(ENGLISH_STOP_WORDS)


def analyze(text: str) -> list[str]:
    return [tok[:STEM_CHARS] for tok in _TOKEN.findall(fold(text)) if tok not in _STOP]


_VECTORIZER = HashingVectorizer(
    n_features=N_FEATURES, analyzer=analyze, alternate_sign=False, norm=None, dtype=np.float32
)


def hash_documents(texts: Iterable[str]) -> sp.csr_matrix:
    """Binary term presence: repeated words in a title are not extra evidence."""
    texts = list(texts)
    if not texts:  # the hasher cannot transform an empty batch
        return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    matrix = _VECTORIZER.transform(texts).tocsr()
    matrix.data[:] = 1.0
    return matrix


def smoothed_idf(n_docs: int, counts: np.ndarray) -> np.ndarray:
    """log((1 + n) / (1 + count)) + 1 in float32: the one IDF formula of text and coauthors."""
    return (np.log((1.0 + n_docs) / (1.0 + counts)) + 1.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class DocumentFrequencies:
    """How many documents contain each hashed term, over n_docs documents."""

    n_docs: int
    counts: np.ndarray  # float32, length N_FEATURES

    @classmethod
    def of(cls, matrix: sp.csr_matrix) -> DocumentFrequencies:
        counts = np.bincount(matrix.indices, minlength=N_FEATURES).astype(np.float32)
        return cls(matrix.shape[0], counts)

    def __add__(self, other: DocumentFrequencies) -> DocumentFrequencies:
        return DocumentFrequencies(self.n_docs + other.n_docs, self.counts + other.counts)

    def idf(self) -> np.ndarray:
        return smoothed_idf(self.n_docs, self.counts)

    def to_sparse(self) -> tuple[np.ndarray, np.ndarray]:
        nonzero = np.flatnonzero(self.counts).astype(np.int32)
        return nonzero, self.counts[nonzero]

    @classmethod
    def from_sparse(cls, n_docs: int, indices: np.ndarray, values: np.ndarray) -> DocumentFrequencies:
        counts = np.zeros(N_FEATURES, dtype=np.float32)
        counts[np.asarray(indices, dtype=np.int64)] = values
        return cls(int(n_docs), counts)


class IdfTable(Protocol):
    """IDF weights by term column: a dense array, or a SparseIdf."""

    def __getitem__(self, columns: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class SparseIdf:
    """The IDF of a corpus plus a prior, holding only the corpus's own terms: what a long-lived
    cache of many small blocks can afford (a dense IDF is 1 MB per field and block)."""

    n_docs: int
    columns: np.ndarray  # sorted term columns present in the corpus
    counts: np.ndarray  # float32 document counts at those columns
    prior: DocumentFrequencies | None = None

    @classmethod
    def of(cls, terms: Sequence[np.ndarray], prior: DocumentFrequencies | None = None) -> SparseIdf:
        """The IDF of documents given as their term columns (each column once per document),
        counted without the dense arrays of 2**18 counts: a small block's weights are refitted
        as it grows, often."""
        present = np.concatenate(terms, dtype=np.int64) if len(terms) else np.empty(0, np.int64)
        return cls.of_present(len(terms), present, prior)

    @classmethod
    def of_present(cls, n_docs: int, present: np.ndarray, prior: DocumentFrequencies | None = None) -> SparseIdf:
        """The IDF of `n_docs` documents whose term columns, each once per document, are `present`
        all together (as the stored entries of their binary rows are)."""
        columns, counts = np.unique(np.asarray(present, dtype=np.int64), return_counts=True)
        return cls(n_docs, columns, counts.astype(np.float32), prior)

    def __getitem__(self, columns: np.ndarray) -> np.ndarray:
        """The same float32 values as (frequencies + prior).idf() at these columns."""
        columns = np.asarray(columns, dtype=np.int64)
        counts = np.zeros(len(columns), dtype=np.float32)
        if len(self.columns):
            at = np.minimum(np.searchsorted(self.columns, columns), len(self.columns) - 1)
            found = self.columns[at] == columns
            counts[found] = self.counts[at[found]]
        n_docs = self.n_docs
        if self.prior is not None:
            counts = counts + self.prior.counts[columns]
            n_docs += self.prior.n_docs
        return smoothed_idf(n_docs, counts)


def weighted_unit_rows(matrix: sp.csr_matrix, idf: IdfTable) -> sp.csr_matrix:
    """IDF-weight then L2-normalise each row, so a row dot product is a cosine.

    The values and the order of stored entries are exactly those of the scipy computation the
    model was trained with (multiply by a dense IDF row, normalise with a diagonal product:
    float32, squares summed in column order, entries in descending column order), tested bit for
    bit, because identical titles must keep exactly the same cosine. Done here in numpy on the
    stored entries alone, it costs microseconds for the one row of an online resolution."""
    canonical = matrix.tocsr()
    if not canonical.has_sorted_indices:  # hashed and binary rows come sorted: no copy then
        canonical = canonical.sorted_indices()
    if canonical.shape[0] == 1 and canonical.has_canonical_format:
        return _weighted_unit_row(canonical.indices, canonical.data, idf, canonical.shape[1])
    indptr, indices = canonical.indptr, canonical.indices
    counts = np.diff(indptr)
    data = (canonical.data.astype(np.float32) * np.asarray(idf[indices], dtype=np.float32)).astype(np.float32)
    row_of = np.repeat(np.arange(canonical.shape[0]), counts)
    norms = np.sqrt(_squared_norms(canonical, data, counts))
    norms[norms == 0] = 1.0
    data = data * (1.0 / norms)[row_of]
    # Descending columns within each row: the order scipy's sparse product leaves them in.
    order = np.lexsort((-indices, row_of))
    return csr_from_arrays(data[order], indices[order], indptr, canonical.shape)


def weighted_unit_row(columns: np.ndarray, idf: IdfTable, width: int) -> sp.csr_matrix:
    """weighted_unit_rows of the one binary row with these term columns, without building that row
    first: an online resolution weights the six text fields of its one mention this way."""
    columns = np.asarray(columns, dtype=np.int32)
    ones = np.ones(len(columns), dtype=np.float32)
    if len(columns) > 1 and not (columns[1:] > columns[:-1]).all():  # unsorted or repeated
        return weighted_unit_rows(sp.csr_matrix((ones, columns, [0, len(columns)]), shape=(1, width)), idf)
    return _weighted_unit_row(columns, ones, idf, width)


def _weighted_unit_row(indices: np.ndarray, data: np.ndarray, idf: IdfTable, width: int) -> sp.csr_matrix:
    """weighted_unit_rows of a single row with sorted columns, each once, in a third of the numpy
    calls (each costs microseconds): the same float32 operations on the same values in the same
    order, so the same bits (tested)."""
    data = (data.astype(np.float32) * np.asarray(idf[indices], dtype=np.float32)).astype(np.float32)
    if len(data):
        norm = np.sqrt(np.add.reduceat(data * data, np.zeros(1, dtype=np.int32)))
        norm[norm == 0] = 1.0
        data = (data * (1.0 / norm))[::-1]
        # A copy: the columns are often a slice of all the fields' terms, which scipy would copy
        # anyway (a matrix must not keep a bigger array alive).
        indices = indices[::-1].copy()
    else:
        indices = np.empty(0, dtype=indices.dtype)
    return csr_from_arrays(data, indices, np.array([0, len(indices)], dtype=np.int32), (1, width))


def _squared_norms(canonical: sp.csr_matrix, data: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Row sums of squares exactly as scipy computes them (`weighted.multiply(weighted).sum(axis=1)`:
    the squares, then np.add.reduceat over each non-empty row), without building those matrices."""
    if not canonical.has_canonical_format:  # duplicate entries: scipy's own operations decide
        weighted = sp.csr_matrix((data, canonical.indices, canonical.indptr), shape=canonical.shape)
        return np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel()
    norms = np.zeros(canonical.shape[0], dtype=np.float32)
    filled = np.flatnonzero(counts)
    if len(filled):
        norms[filled] = np.add.reduceat(data * data, canonical.indptr[filled])
    return norms


def join_fields(*fields: str | Sequence[str]) -> str:
    return " ".join(f if isinstance(f, str) else " ".join(f) for f in fields)
