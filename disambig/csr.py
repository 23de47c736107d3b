"""CSR matrices from arrays this package built itself, without scipy's format checks.

An online resolution makes about twenty small CSR matrices (its mention's rows, the block table
with that row appended, the row over a block's vocabulary). scipy's constructor spends about
12 us on each choosing an index dtype and checking the arrays, more than the copy or product
that follows. `csr_from_arrays` skips those checks when it can tell in O(1) that they would pass
and change nothing: int32 `indices` and `indptr` (the dtype scipy would keep), one dimension
each, one pointer per row plus one, from 0 to the end of `indices`, and no slice of a much bigger
array (which scipy would copy). Anything else goes through scipy's constructor, which checks no
more than that either (entries in range are not checked).

The shortcut sets the attributes scipy's constructor sets. At import it builds one matrix both
ways and compares them; should a scipy release set others, every matrix goes through the
constructor, slower but right.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

_INT32 = np.dtype(np.int32)
_INT32_MAX = int(np.iinfo(np.int32).max)
_ARRAYS = frozenset({"data", "indices", "indptr", "_shape"})


def _unchecked(
    template: Mapping[str, object], data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    matrix = sp.csr_matrix.__new__(sp.csr_matrix)
    state = vars(matrix)
    state.update(template)
    state["data"], state["indices"], state["indptr"], state["_shape"] = data, indices, indptr, shape
    return matrix


def _scipy_template() -> dict[str, object] | None:
    """What scipy sets on a CSR matrix besides its arrays and shape, if a matrix made with it
    is scipy's own to the attribute; None otherwise."""
    data, indices, indptr = np.array([1.0, 2.0], np.float32), np.array([0, 2], np.int32), np.array([0, 1, 2], np.int32)
    checked = sp.csr_matrix((data, indices, indptr), shape=(2, 3))
    state = vars(checked)
    if not state.keys() >= _ARRAYS:
        return None
    template = {key: value for key, value in state.items() if key not in _ARRAYS}
    made = _unchecked(template, data, indices, indptr, (2, 3))
    same = (
        vars(made).keys() == state.keys()
        and all(np.shares_memory(getattr(made, key), getattr(checked, key)) for key in ("data", "indices", "indptr"))
        and made.shape == checked.shape
        and made.dtype == checked.dtype
        and np.array_equal((made @ checked.T).toarray(), (checked @ checked.T).toarray())
    )
    return template if same else None


_TEMPLATE = _scipy_template()


def index_array(values: np.ndarray, bound: int) -> np.ndarray:
    """Sparse index values below `bound` as int32 when they fit: scipy takes int32 index arrays as
    they are, and scans int64 ones for whether they would fit; and only int32 ones take the
    shortcut of csr_from_arrays."""
    return values.astype(np.int32, copy=False) if bound <= _INT32_MAX else values


def _small_view(array: np.ndarray) -> bool:
    """scipy copies a slice of less than half its base, so that a small matrix does not keep a big
    array alive; such arrays go through its constructor."""
    base = array.base
    return isinstance(base, np.ndarray) and array.size < base.size // 2


def csr_from_arrays(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """sp.csr_matrix((data, indices, indptr), shape=shape), sharing the arrays."""
    rows, columns = shape
    if (
        _TEMPLATE is not None
        and indices.dtype == _INT32
        and indptr.dtype == _INT32
        and data.ndim == indices.ndim == indptr.ndim == 1
        and len(indptr) == rows + 1
        and len(data) == len(indices)
        and indptr[0] == 0
        and indptr[-1] == len(indices)
        and not (_small_view(data) or _small_view(indices))
        and 0 < columns <= _INT32_MAX
        and rows <= _INT32_MAX
    ):
        return _unchecked(_TEMPLATE, data, indices, indptr, (int(rows), int(columns)))
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def transposed(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """matrix.T.tocsr(), arrays and entry order alike (each new row's entries by old row, as
    scipy's conversion leaves them), without the two matrices scipy builds on the way: a small
    block segment paid more for those than for the transposition."""
    rows, columns = matrix.shape
    indices, indptr = matrix.indices, matrix.indptr
    if indices.dtype != _INT32 or indptr.dtype != _INT32:
        return matrix.T.tocsr()
    # A stable sort by column keeps each column's entries in row order: scipy's bucket order.
    order = np.argsort(indices, kind="stable")
    row_of = np.repeat(np.arange(rows, dtype=np.int32), np.diff(indptr))
    counts = np.bincount(indices, minlength=columns)
    new_indptr = np.zeros(columns + 1, dtype=np.int32)
    np.cumsum(counts, out=new_indptr[1:])
    return csr_from_arrays(matrix.data[order], row_of[order], new_indptr, (columns, rows))


def row_entries(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the entries of `rows` of `matrix` are in its indices and data, row after row (a run
    of consecutive positions each), and how many each row has."""
    starts = matrix.indptr[rows].astype(np.int64)
    lengths = matrix.indptr[rows + 1] - starts
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths), lengths


def row_times(columns: np.ndarray, values: np.ndarray, matrix: sp.csr_matrix) -> np.ndarray:
    """The dense product of one sparse row (its entries `columns`, `values`, in their order) with
    `matrix`: (row @ matrix).toarray()[0] to the bit, as scipy sums it (in float32 for float32
    operands, each output's terms in the order of the row's entries), without the two matrices
    scipy builds for a product."""
    gather, lengths = row_entries(matrix, columns)
    out = np.zeros(matrix.shape[1], dtype=np.result_type(values.dtype, matrix.dtype))
    if len(gather):
        # np.add.at adds in index order, one term at a time, as scipy's product does.
        np.add.at(out, matrix.indices[gather], np.repeat(values, lengths) * matrix.data[gather])
    out += 0  # -0.0 would be +0.0 there: scipy stores no zero sum
    return out
