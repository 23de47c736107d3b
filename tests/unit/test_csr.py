"""csr_from_arrays: scipy's matrix, without scipy's constructor where that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import disambig.csr as csr
from disambig.csr import csr_from_arrays, row_times, transposed


def _arrays(rows: int, columns: int, seed: int, index_dtype: type = np.int32) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, min(columns, 5) + 1, size=rows)
    picked = [np.sort(rng.choice(columns, size=k, replace=False)) for k in lengths]
    indices = np.concatenate(picked) if picked else np.empty(0, np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = rng.random(len(indices), dtype=np.float32)
    return data, indices.astype(index_dtype), indptr.astype(index_dtype)


def _same(made: sp.csr_matrix, expected: sp.csr_matrix) -> None:
    assert type(made) is type(expected)
    assert made.shape == expected.shape and made.dtype == expected.dtype
    assert vars(made).keys() == vars(expected).keys()
    for name in ("data", "indices", "indptr"):
        ours, theirs = getattr(made, name), getattr(expected, name)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    other = sp.random(made.shape[1], 4, density=0.5, format="csr", dtype=np.float32, rng=0)
    assert np.array_equal((made @ other).toarray(), (expected @ other).toarray())
    assert np.array_equal(made.T.tocsr().toarray(), expected.T.tocsr().toarray())
    assert np.array_equal(sp.vstack([made, expected]).toarray(), sp.vstack([expected, expected]).toarray())


@pytest.mark.parametrize(("rows", "columns", "seed"), [(1, 1, 0), (1, 300, 1), (7, 12, 2), (0, 5, 3), (40, 2**18, 4)])
def test_the_matrix_is_scipys_own(rows: int, columns: int, seed: int) -> None:
    data, indices, indptr = _arrays(rows, columns, seed)
    made = csr_from_arrays(data, indices, indptr, (rows, columns))
    _same(made, sp.csr_matrix((data, indices, indptr), shape=(rows, columns)))
    assert made.data is data and made.indices is indices and made.indptr is indptr  # no check, no copy


def test_the_shortcut_is_in_use_with_this_scipy() -> None:
    # Were it off (a scipy that sets other attributes), every matrix would be built by scipy,
    # right but with the cost this module exists to avoid: a scipy upgrade should show it.
    assert csr._TEMPLATE is not None


@pytest.mark.parametrize(
    "case",
    ["int64 indices", "mixed index dtypes", "2-d data", "pointers short of the entries", "small slice"],
)
def test_what_scipy_would_change_goes_through_scipy(case: str) -> None:
    data, indices, indptr = _arrays(6, 30, 5)
    rows = 6
    if case == "int64 indices":
        indices, indptr = indices.astype(np.int64), indptr.astype(np.int64)
    elif case == "mixed index dtypes":
        indptr = indptr.astype(np.int64)
    elif case == "2-d data":
        data = data.reshape(1, -1)
    elif case == "pointers short of the entries":
        indptr = indptr.copy()
        indptr[-1] -= 1  # scipy drops the last entry (prune)
    elif case == "small slice":
        big = np.concatenate([data, np.zeros(10 * len(data) + 10, np.float32)])
        data = big[: len(data)]  # scipy copies it, so the matrix does not hold the big array
    if case == "2-d data":
        with pytest.raises(ValueError):
            csr_from_arrays(data, indices, indptr, (rows, 30))
        return
    made = csr_from_arrays(data, indices, indptr, (rows, 30))
    _same(made, sp.csr_matrix((data, indices, indptr), shape=(rows, 30)))
    if case == "small slice":
        assert not np.shares_memory(made.data, big)


def test_without_the_shortcut_scipy_builds_every_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csr, "_TEMPLATE", None)
    data, indices, indptr = _arrays(3, 8, 6)
    made = csr_from_arrays(data, indices, indptr, (3, 8))
    _same(made, sp.csr_matrix((data, indices, indptr), shape=(3, 8)))
    assert made.indices is not indices  # scipy's own (a view after its prune)


@pytest.mark.parametrize("seed", range(12))
def test_transposed_is_scipys_transpose_entry_for_entry(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows, columns = int(rng.integers(0, 30)), int(rng.integers(1, 50))
    data, indices, indptr = _arrays(rows, columns, seed)
    if seed % 3 == 0 and len(indices):  # rows with their entries out of order, as a product leaves them
        for r in range(rows):
            indices[indptr[r] : indptr[r + 1]] = indices[indptr[r] : indptr[r + 1]][::-1]
    matrix = csr_from_arrays(data, indices, indptr, (rows, columns))
    ours, scipys = transposed(matrix), matrix.T.tocsr()
    assert ours.shape == scipys.shape
    for name in ("data", "indices", "indptr"):
        # The order of entries decides the bits of the products summed over them.
        assert getattr(ours, name).dtype == getattr(scipys, name).dtype
        assert np.array_equal(getattr(ours, name), getattr(scipys, name))


def test_transposed_leaves_int64_matrices_to_scipy() -> None:
    data, indices, indptr = _arrays(5, 9, 1, index_dtype=np.int64)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(5, 9))
    assert np.array_equal(transposed(matrix).toarray(), matrix.toarray().T)


@pytest.mark.parametrize("seed", range(40))
def test_row_times_sums_as_scipy_does_to_the_bit(seed: int) -> None:
    """A cosine is a sum of float32 products; summed in another order it can differ in the last
    bit, and identical titles must keep exactly the same cosine online as in a batch."""
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(1, 120)), int(rng.integers(1, 200))
    data, indices, indptr = _arrays(height, width, seed)
    data *= rng.choice(np.array([1e-3, 1.0, 1e3], np.float32), size=len(data))  # sums that round
    matrix = csr_from_arrays(data, indices, indptr, (height, width))
    k = int(rng.integers(0, min(height, 25) + 1))
    columns = rng.choice(height, size=k, replace=False).astype(np.int32)  # in no particular order
    values = rng.random(k, dtype=np.float32)
    row = csr_from_arrays(values, columns, np.array([0, k], np.int32), (1, height))
    ours, scipys = row_times(columns, values, matrix), (row @ matrix).toarray()[0]
    assert ours.dtype == scipys.dtype == np.float32
    assert np.array_equal(ours.view(np.uint32), scipys.view(np.uint32))
