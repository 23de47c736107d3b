"""Pair features of one new mention against a stored block, from structures kept per block.

`features.featurize` over a PairContext computes every similarity as a sparse product of the new
row with the whole block matrix, transposing that matrix on each call, and `BlockNames` compares
every given-name variant of the block with every other. For an online resolution the block is
the same from one call to the next, one row longer, so `BlockIndex` keeps:

- the block's rows transposed over the block's own vocabulary, every matrix stacked into one: a
  single sparse product gives the new row's dot products with every row for every field. Each
  value is the one `PairContext` computes, bit for bit: scipy's product sums the new row's entries
  in their order in both cases, and a column of the new row no block row has adds nothing.
- the block's BlockNames, extended by a row without comparing names again when the row's given
  name and surname are variants the block already has.

The features themselves are still computed by `features.featurize`, with a PairContext whose
slabs come from here; tests compare them with the plain PairContext bit for bit.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from disambig.corpus import MentionTable, take_rows
from disambig.csr import csr_from_arrays, index_array, row_times, transposed
from disambig.features import BlockNames, PairContext

# Rows appended to a block since its main segment was built are kept in a second, small segment;
# the main one is rebuilt when they pass this share of it (or TAIL_ROWS rows).
TAIL_SHARE = 0.125
TAIL_ROWS = 64

# What BlockNames holds: per variant (given names, surnames) and per row (variant, surname_variant),
# and the coauthor matrix its neighbour counts read. Another attribute means BlockNames changed in a
# way `_extend_names` does not know: names are then always built whole.
NAME_ATTRIBUTES = frozenset(
    {
        "variant",
        "givens",
        "part_counts",
        "match",
        "middle",
        "first_sim",
        "full_first",
        "given_letters",
        "_coauthors",
        "surname_variant",
        "surname_sim",
    }
)


def _matrices(table: MentionTable) -> list[sp.csr_matrix]:
    """The matrices PairContext takes slabs of, in one fixed order."""
    return [*table.text.values(), table.coauthors, table.coauthors_full, table.coauthor_weighted]


class Segment:
    """Rows [start, stop) of a block table, every matrix transposed over the block's own
    vocabulary and stacked: `dots` gives a new row's products with those rows, one scipy product
    for all. A term is keyed by (matrix, column) as one integer, matrix in the high bits."""

    def __init__(self, matrices: list[sp.csr_matrix], start: int, stop: int) -> None:
        self.start, self.stop = start, stop
        rows = stop - start
        spans = [(m.indptr[start], m.indptr[stop]) for m in matrices]
        keys = np.concatenate(
            [_keys(k, m.indices[first:last]) for k, (m, (first, last)) in enumerate(zip(matrices, spans, strict=True))]
        )
        self.vocabulary = np.unique(keys)
        stored = np.cumsum([0] + [last - first for first, last in spans])
        indptr = np.concatenate(
            [[0]]
            + [
                m.indptr[start + 1 : stop + 1].astype(np.int64) - first + stored[k]
                for k, (m, (first, _)) in enumerate(zip(matrices, spans, strict=True))
            ]
        )
        stacked = csr_from_arrays(
            np.concatenate([m.data[first:last] for m, (first, last) in zip(matrices, spans, strict=True)]),
            index_array(np.searchsorted(self.vocabulary, keys), len(self.vocabulary)),
            index_array(indptr, int(stored[-1])),
            (len(matrices) * rows, max(len(self.vocabulary), 1)),
        )
        self.transposed = transposed(stacked)  # (block vocabulary) x (matrices * rows)

    def _local(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(local columns of the keys the segment has, which keys those are)."""
        if not len(self.vocabulary):
            return np.empty(0, dtype=np.int32), np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self.vocabulary, keys), len(self.vocabulary) - 1)
        known = self.vocabulary[at] == keys
        return index_array(at[known], len(self.vocabulary)), known

    def dots(self, rows: list[sp.csr_matrix]) -> np.ndarray:
        """(matrices, segment rows) float32: the new row's dot products, per matrix. The row (one
        1-row matrix per block matrix) is taken over this segment's vocabulary: entries keep their
        order, and columns the segment never uses are left out (they add nothing)."""
        keys = np.concatenate([_keys(k, row.indices) for k, row in enumerate(rows)])
        local, known = self._local(keys)
        data = np.concatenate([row.data for row in rows])[known]
        product = row_times(local, data, self.transposed)
        return np.asarray(product, dtype=np.float32).reshape(len(rows), self.stop - self.start)

    def linked(self, coauthor_rows: sp.csr_matrix, coauthor_matrix: int) -> np.ndarray:
        """For each segment row, how many of the given binary coauthor rows share a coauthor with it."""
        rows = self.stop - self.start
        local, known = self._local(_keys(coauthor_matrix, coauthor_rows.indices))
        if not len(local):
            return np.zeros(rows, dtype=np.int64)
        n = coauthor_rows.shape[0]
        row_of = np.repeat(np.arange(n), np.diff(coauthor_rows.indptr))[known]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=n), out=indptr[1:])
        indptr = index_array(indptr, len(local))
        # Built as CSR directly (row_of is sorted): scipy's conversion from (row, column) pairs
        # costs more than the product for the few rows of one resolution.
        matrix = csr_from_arrays(
            np.ones(len(local), dtype=np.float32), local, indptr, (n, max(len(self.vocabulary), 1))
        )
        # Coauthor columns lead to coauthor rows only: the other matrices' part of the product is empty.
        product = (matrix @ self.transposed).tocsr()
        # Stored entries of a product of positive values are the nonzero ones, once each: a
        # column's count of them is its count of linked rows (scipy's sum(axis=0) would transpose).
        counts = np.bincount(product.indices, minlength=product.shape[1])
        return counts[coauthor_matrix * rows : (coauthor_matrix + 1) * rows].astype(np.int64)


def _keys(matrix: int, columns: np.ndarray) -> np.ndarray:
    return (np.int64(matrix) << np.int64(40)) | columns.astype(np.int64)


@dataclass
class _Names:
    """A BlockNames with the indexes needed to extend it by rows of known variants."""

    names: BlockNames
    rows: int
    given_of: dict[tuple[str, ...], int]
    surname_of: dict[str, int]

    @classmethod
    def of(cls, table: MentionTable) -> _Names:
        names = BlockNames(table)
        surnames = dict.fromkeys(n.surname for n in table.names)
        return cls(
            names, len(table), {g: k for k, g in enumerate(names.givens)}, {s: k for k, s in enumerate(surnames)}
        )

    def extended(self, table: MentionTable) -> _Names:
        """The names of `table`, whose first self.rows rows are those these names were made of."""
        added = table.names[self.rows :]
        if not _EXTENDABLE or any(n.given not in self.given_of or n.surname not in self.surname_of for n in added):
            return _Names.of(table)
        names = copy.copy(self.names)
        for key in list(vars(names)):
            if key not in NAME_ATTRIBUTES:  # cached properties of the shorter table
                del names.__dict__[key]
        names.variant = np.concatenate([self.names.variant, [self.given_of[n.given] for n in added]]).astype(
            self.names.variant.dtype
        )
        names.surname_variant = np.concatenate(
            [self.names.surname_variant, [self.surname_of[n.surname] for n in added]]
        ).astype(self.names.surname_variant.dtype)
        names._coauthors = table.coauthors
        return _Names(names, len(table), self.given_of, self.surname_of)


def _extendable() -> bool:
    from disambig.corpus import assemble_table, mention_parts
    from disambig.mention import Mention
    from disambig.names import parse_name

    sample = [Mention("a", "Ada Lovelace", ("C. Babbage",)), Mention("b", "A. Lovelace")]
    table = assemble_table(mention_parts(sample, [parse_name(m.name) for m in sample]))
    return set(vars(BlockNames(table))) == NAME_ATTRIBUTES


_EXTENDABLE = _extendable()


class OneRowContext(PairContext):
    """A PairContext for the last row of `table` against the others, its slabs given."""

    def __init__(
        self, table: MentionTable, names: BlockNames, slabs: dict[int, np.ndarray], neighbours: np.ndarray
    ) -> None:
        row = len(table) - 1
        super().__init__(table, names, row, row + 1)
        self._slabs = slabs
        self._neighbours = neighbours

    def _slab(self, matrix: sp.csr_matrix) -> np.ndarray:
        slab = self._slabs.get(id(matrix))
        return slab if slab is not None else super()._slab(matrix)

    @cached_property
    def shared_neighbours(self) -> np.ndarray:
        return self._neighbours


@dataclass
class BlockIndex:
    """Scoring structures of one block table (rows [0, rows)); built on first use, and carried
    over to the table with rows appended (`extended`)."""

    table: MentionTable
    base: Segment | None = None
    _tail: Segment | None = None
    _names: _Names | None = None
    _next_names: _Names | None = None
    # The table `context` made _next_names for, weakly: a cached index must not keep a whole
    # copy of its block alive.
    _next_table: weakref.ref[MentionTable] | None = None
    _usable: bool = field(default=True)

    def __post_init__(self) -> None:
        self._usable = all(m.dtype == np.float32 for m in _matrices(self.table))

    @property
    def rows(self) -> int:
        return len(self.table)

    def extended(self, table: MentionTable) -> BlockIndex:
        """The index of `table`: this one's rows followed by new ones, with the same weights."""
        out = BlockIndex(table)
        if self.base is not None:
            tail = len(table) - self.base.stop
            if 0 <= tail <= max(TAIL_ROWS, TAIL_SHARE * self.base.stop):
                out.base = self.base
        # Only for the very table `context` made them for: a decision dropped unwritten (or a
        # search) leaves names whose last row is a mention that was never stored, and a table
        # with another one row appended has the same length.
        if self._next_names is not None and self._next_table is not None and self._next_table() is table:
            out._names = self._next_names
        else:
            out._names = self._names  # extended lazily, from these
        return out

    def _segments(self) -> list[Segment]:
        matrices = _matrices(self.table)
        base = self.base if self.base is not None else Segment(matrices, 0, self.rows)
        self.base = base
        if base.stop == self.rows:
            return [base]
        if self._tail is None or self._tail.stop != self.rows:
            self._tail = Segment(matrices, base.stop, self.rows)
        return [base, self._tail]

    def prepare(self) -> None:
        """Build now what the first scoring against this table would."""
        if self._usable and self.rows:
            self._segments()
            self.names()

    def names(self) -> _Names:
        if self._names is None or self._names.rows > self.rows:
            self._names = _Names.of(self.table)
        elif self._names.rows < self.rows:
            self._names = self._names.extended(self.table)
        return self._names

    def context(self, full: MentionTable, row: MentionTable | None = None) -> tuple[BlockNames, PairContext]:
        """Names and pair context of `full`: this table plus one new last row (same weights),
        which is `row` (the 1-row table stacked onto this one) if given."""
        last = len(full) - 1
        if not self._usable or self.rows == 0 or not _matrices_match(self.table, full):
            names = BlockNames(full)
            return names, PairContext(full, names, last, last + 1)
        self._next_names, self._next_table = self.names().extended(full), weakref.ref(full)
        names = self._next_names.names
        given = row is not None and len(row) == 1
        new = _matrices(row) if row is not None and given else [m[last : last + 1] for m in _matrices(full)]
        parts = [segment.dots(new) for segment in self._segments()]
        dots = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        slabs: dict[int, np.ndarray] = {}
        for k, matrix in enumerate(_matrices(full)):
            slab = np.zeros((1, self.rows + 1), dtype=np.float32)
            slab[0, : self.rows] = dots[k]
            slabs[id(matrix)] = slab
        coauthor_matrix = len(full.text)
        through = np.flatnonzero(dots[coauthor_matrix])
        neighbours = np.zeros((1, self.rows + 1), dtype=np.float32)
        if len(through):
            coauthor_rows = take_rows(full.coauthors, through, compact=False)
            linked = np.concatenate([s.linked(coauthor_rows, coauthor_matrix) for s in self._segments()])
            linked[through] -= 1  # a mention is not its own neighbour
            neighbours[0, : self.rows] = linked
        return names, OneRowContext(full, names, slabs, neighbours)


@dataclass(frozen=True)
class IdentityCodes:
    """The identities of a block's rows as codes: `identities` sorted (np.unique's order)."""

    identities: np.ndarray
    code: np.ndarray
    of: dict[str, int]

    @classmethod
    def of_owners(cls, owners: Sequence[str]) -> IdentityCodes:
        identities, code = np.unique(np.asarray(owners, dtype=object), return_inverse=True)
        return cls(identities, code.ravel(), {str(i): k for k, i in enumerate(identities)})

    def extended(self, added: Sequence[str]) -> IdentityCodes | None:
        """With rows of these owners appended; None if one is a new identity (codes change)."""
        if any(owner not in self.of for owner in added):
            return None
        extra = np.array([self.of[owner] for owner in added], dtype=self.code.dtype)
        return IdentityCodes(self.identities, np.concatenate([self.code, extra]), self.of)


def _matrices_match(table: MentionTable, full: MentionTable) -> bool:
    return len(full) == len(table) + 1 and list(full.text) == list(table.text)
