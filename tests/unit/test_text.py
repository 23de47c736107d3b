"""Text weighting: the fast path must give the model's training-time values to the last bit."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from disambig.text import weighted_unit_row, weighted_unit_rows


def reference(matrix: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    # What the default model was trained with: scipy broadcasting a dense IDF row.
    weighted = matrix.multiply(idf[np.newaxis, :]).tocsr().astype(np.float32)
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms).dot(weighted).tocsr().astype(np.float32)


def test_weighting_is_bit_identical_to_the_broadcast_reference_even_with_unsorted_columns() -> None:
    rng = np.random.default_rng(7)
    rows = [rng.choice(500, size=int(rng.integers(0, 12)), replace=False) for _ in range(300)]  # unsorted
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate(rows).astype(np.int32)
    matrix = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(300, 500))
    idf = rng.uniform(1.0, 9.0, 500).astype(np.float32)
    fast, slow = weighted_unit_rows(matrix, idf), reference(matrix, idf)
    assert np.array_equal(fast.indptr, slow.indptr)
    assert np.array_equal(fast.indices, slow.indices)
    assert np.array_equal(fast.data, slow.data)
    lengths = np.sqrt(np.asarray(fast.multiply(fast).sum(axis=1)).ravel())
    assert np.allclose(lengths[np.diff(indptr) > 0], 1.0, atol=1e-6)


def test_one_row_weighted_alone_is_bit_identical_to_its_row_of_the_reference() -> None:
    # A single row takes a shorter path (the online resolver weights one mention at a time).
    rng = np.random.default_rng(11)
    idf = rng.uniform(1.0, 9.0, 500).astype(np.float32)
    for size in [0, 1, 2, 7, 8, 9, 17, 40]:
        for _ in range(20):
            columns = rng.choice(500, size=size, replace=False).astype(np.int32)  # unsorted
            if size == 2:
                columns[:] = [3, 1]
            row = sp.csr_matrix((np.ones(size, np.float32), columns, [0, size]), shape=(1, 500))
            fast, slow = weighted_unit_rows(row, idf), reference(row, idf)
            assert np.array_equal(fast.indptr, slow.indptr)
            assert np.array_equal(fast.indices, slow.indices)
            assert fast.data.tobytes() == slow.data.tobytes()


def test_a_row_given_by_its_columns_is_weighted_as_its_binary_matrix() -> None:
    rng = np.random.default_rng(5)
    idf = rng.uniform(1.0, 9.0, 500).astype(np.float32)
    for size in [0, 1, 2, 9, 30]:
        for order in ("sorted", "unsorted", "repeated"):
            columns = rng.choice(500, size=size, replace=False).astype(np.int32)
            if order == "sorted":
                columns = np.sort(columns)
            elif order == "repeated" and size:
                columns = np.append(columns, columns[0])
            binary = sp.csr_matrix((np.ones(len(columns), np.float32), columns, [0, len(columns)]), shape=(1, 500))
            fast, slow = weighted_unit_row(columns, idf, 500), weighted_unit_rows(binary, idf)
            assert fast.shape == slow.shape
            assert np.array_equal(fast.indptr, slow.indptr) and np.array_equal(fast.indices, slow.indices)
            assert fast.data.tobytes() == slow.data.tobytes()


def test_sparse_idf_gives_the_dense_values_at_every_column() -> None:
    from disambig.text import N_FEATURES, DocumentFrequencies, SparseIdf, hash_documents

    documents = hash_documents(["vision transformers at scale", "survey sampling weights", "vision at scale", ""])
    terms = [documents.indices[documents.indptr[k] : documents.indptr[k + 1]] for k in range(documents.shape[0])]
    corpus = DocumentFrequencies.of(documents)
    prior = DocumentFrequencies.of(hash_documents(["vision models", "sampling theory", "graph theory"] * 3))
    dense = (corpus + prior).idf()
    columns = np.concatenate([np.flatnonzero(corpus.counts), np.flatnonzero(prior.counts), [0, N_FEATURES - 1]])
    assert np.array_equal(SparseIdf.of(terms, prior)[columns], dense[columns])
    assert np.array_equal(SparseIdf.of(terms)[columns], corpus.idf()[columns])
