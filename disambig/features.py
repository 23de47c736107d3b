"""Declared pairwise features. Each computes its whole column for a batch of pairs at once.

The order of FEATURES is the column order of the model; a model records the names it was
trained with and refuses to load against a different list.
E-mail and ORCID are rules, not features (see engine.score_block): no labelled data carries them,
and a model cannot learn weights it never saw.
Missing evidence is NaN, never 0: "no coauthors listed" is not "no coauthors shared", and the
gradient-boosted model routes NaN on its own branch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from disambig.corpus import MentionTable
from disambig.names import GivenMatch, given_match, part_match

Pairs = tuple[np.ndarray, np.ndarray]  # local row indices i < j within one block


class BlockNames:
    """Name relations among the distinct given-name variants of one block (few, even in big blocks)."""

    def __init__(self, table: MentionTable) -> None:
        variants: dict[tuple[str, ...], int] = {}
        self.variant = np.array([variants.setdefault(n.given, len(variants)) for n in table.names])
        givens = list(variants)
        self.givens = givens
        self.part_counts = np.array([len(g) for g in givens])
        n = len(givens)
        self.match = np.empty((n, n), dtype=np.int8)
        self.middle = np.zeros((n, n), dtype=np.int8)
        for a in range(n):
            for b in range(a, n):
                m = int(given_match(givens[a], givens[b]))
                self.match[a, b] = self.match[b, a] = m
                rel = _middle_relation(givens[a], givens[b])
                self.middle[a, b] = self.middle[b, a] = rel
        firsts = [g[0] if g else "" for g in givens]
        self.first_sim = process.cdist(firsts, firsts, scorer=JaroWinkler.similarity, dtype=np.float32)
        full = np.array([len(f) > 1 for f in firsts])
        self.first_sim[~full, :] = np.nan
        self.first_sim[:, ~full] = np.nan
        self.full_first = full.astype(np.float32)
        # Letters of the spelled-out given names ("Shang-Yung" 9, "Wei" 3): a name-intrinsic
        # measure of ambiguity, as a two-syllable given name is shared by far fewer people.
        # Block sizes are not used: in labelled sets they reflect how the set was built
        # (chosen prolific names), not how common a name is.
        self.given_letters = np.array(
            [sum(len(p) for p in g if len(p) > 1) if len(g[0] if g else "") > 1 else np.nan for g in givens],
            dtype=np.float32,
        )
        self._coauthors = table.coauthors
        surnames = [nm.surname for nm in table.names]
        surname_variants: dict[str, int] = {}
        self.surname_variant = np.array([surname_variants.setdefault(s, len(surname_variants)) for s in surnames])
        unique_surnames = list(surname_variants)
        self.surname_sim = process.cdist(
            unique_surnames, unique_surnames, scorer=JaroWinkler.similarity, dtype=np.float32
        )

    # Mentions linked by a shared coauthor (self-links removed): two papers with no coauthor in
    # common may still both share coauthors with a third paper of the same person.
    def _links(self, rows: np.ndarray | slice) -> sp.csr_matrix:
        linked = (self._coauthors[rows] @ self._coauthors.T).tocsr()
        linked.data[:] = 1.0
        return linked

    @cached_property
    def coauthor_neighbours(self) -> sp.csr_matrix:
        linked = self._links(slice(None))
        linked.setdiag(0)
        linked.eliminate_zeros()
        return linked.astype(np.float32)

    def neighbour_slab(self, row_start: int, row_stop: int) -> np.ndarray:
        """For rows [row_start, row_stop) and every row j: how many other mentions share a
        coauthor with both. A few rows (online resolution) read only their neighbours' links
        instead of the whole block's square."""
        if row_stop - row_start > FEW_ROWS:
            top = self.coauthor_neighbours[row_start:row_stop]
            return np.asarray((top @ self.coauthor_neighbours.T).toarray(), dtype=np.float32)
        top = _without_self(self._links(slice(row_start, row_stop)), row_start)
        through = np.unique(top.indices)
        second = _without_self_rows(self._links(through), through)
        return np.asarray((top[:, through] @ second).toarray(), dtype=np.float32)

    def compatible(self, i: np.ndarray | int, j: np.ndarray) -> np.ndarray:
        """Whether the given names of rows i and j may be one person's; `i` one row for all."""
        return self.match[self.variant[i], self.variant[j]] != GivenMatch.INCOMPATIBLE


FEW_ROWS = 16


def _without_self(links: sp.csr_matrix, first_row: int) -> sp.csr_matrix:
    """Drop the links of rows first_row, first_row + 1, ... to themselves."""
    return _without_self_rows(links, np.arange(first_row, first_row + links.shape[0]))


def _without_self_rows(links: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    links = links.tocoo()
    keep = links.col != np.asarray(rows)[links.row]
    return sp.csr_matrix((links.data[keep], (links.row[keep], links.col[keep])), shape=links.shape)


def _middle_relation(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """-1 middle names conflict, 0 one side has none, 1 initials agree, 2 full middle names agree."""
    if len(a) < 2 or len(b) < 2:
        return 0
    relation = part_match(a[1], b[1])
    if relation == GivenMatch.INCOMPATIBLE:
        return -1
    return 1 if relation == GivenMatch.INITIALS_ONLY else 2


class PairContext:
    """What features read for the pairs whose first row lies in [row_start, row_stop) of a block.

    Similarities are computed as dense (rows x block) slabs with one sparse product per field, so
    memory is bounded by the slab, not by the square of the block.
    """

    def __init__(self, table: MentionTable, names: BlockNames, row_start: int, row_stop: int) -> None:
        self.table = table
        self.names = names
        self.row_start = row_start
        self.row_stop = row_stop
        self._store: dict[str, np.ndarray] = {}

    def _slab(self, matrix: sp.csr_matrix) -> np.ndarray:
        top = matrix[self.row_start : self.row_stop]
        return np.asarray((top @ matrix.T).toarray(), dtype=np.float32)

    def similarity(self, field: str) -> np.ndarray:
        return self._cache(field, lambda: self._slab(self.table.text[field]))

    def _cache(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._store:
            self._store[key] = make()
        return self._store[key]

    @cached_property
    def shared_coauthors(self) -> np.ndarray:
        return self._slab(self.table.coauthors)

    @cached_property
    def shared_full_coauthors(self) -> np.ndarray:
        return self._slab(self.table.coauthors_full)

    @cached_property
    def shared_neighbours(self) -> np.ndarray:
        return self.names.neighbour_slab(self.row_start, self.row_stop)

    @cached_property
    def coauthor_cosine(self) -> np.ndarray:
        return self._slab(self.table.coauthor_weighted)

    @cached_property
    def coauthor_counts(self) -> np.ndarray:
        return np.diff(self.table.coauthors.indptr).astype(np.float32)

    @cached_property
    def embedding_cosine(self) -> np.ndarray:
        embeddings = self.table.embeddings
        if embeddings is None:
            raise ValueError("the model needs sentence embeddings, and this table was built without them")
        return np.asarray(embeddings[self.row_start : self.row_stop] @ embeddings.T, dtype=np.float32)

    @cached_property
    def has_embedding(self) -> np.ndarray:
        embeddings = self.table.embeddings
        assert embeddings is not None
        return np.asarray(embeddings.any(axis=1))

    def has_text(self, field: str) -> np.ndarray:
        return self._cache("has:" + field, lambda: np.diff(self.table.text[field].indptr) > 0)

    def lookup(self, slab: np.ndarray, pairs: Pairs) -> np.ndarray:
        i, j = pairs
        if self.row_stop - self.row_start == 1:  # every pair's first row is that row
            return slab[0][j]  # a gather along one axis, cheaper than numpy's two-axis one
        return slab[i - self.row_start, j]

    def variant_lookup(self, matrix: np.ndarray, variant: np.ndarray, pairs: Pairs) -> np.ndarray:
        """matrix[variant[i], variant[j]] for the pairs: a name comparison by name variants."""
        i, j = pairs
        if self.row_stop - self.row_start == 1:
            return matrix[variant[self.row_start]][variant[j]]
        return matrix[variant[i], variant[j]]


@dataclass(frozen=True, slots=True)
class PairFeature:
    """One named column of the pairwise feature matrix."""

    name: str
    compute: Callable[[PairContext, Pairs], np.ndarray]
    description: str


def _cosine(field: str) -> Callable[[PairContext, Pairs], np.ndarray]:
    def compute(ctx: PairContext, pairs: Pairs) -> np.ndarray:
        values = ctx.lookup(ctx.similarity(field), pairs).copy()
        present = ctx.has_text(field)
        values[~(present[pairs[0]] & present[pairs[1]])] = np.nan
        return values

    return compute


def _given_match(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.variant_lookup(ctx.names.match, ctx.names.variant, pairs).astype(np.float32)


def _first_name_similarity(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.variant_lookup(ctx.names.first_sim, ctx.names.variant, pairs)


def _middle_relation_feature(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.variant_lookup(ctx.names.middle, ctx.names.variant, pairs).astype(np.float32)


def _full_first_names(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    v = ctx.names.variant
    full = ctx.names.full_first
    return full[v[pairs[0]]] + full[v[pairs[1]]]


def _surname_similarity(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.variant_lookup(ctx.names.surname_sim, ctx.names.surname_variant, pairs)


def _shared_coauthors(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.lookup(ctx.shared_coauthors, pairs)


def _shared_full_coauthors(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    return ctx.lookup(ctx.shared_full_coauthors, pairs)


def _shared_neighbours(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    values = ctx.lookup(ctx.shared_neighbours, pairs)
    return np.log1p(values)


def _coauthor_cosine(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    values = ctx.lookup(ctx.coauthor_cosine, pairs).copy()
    counts = ctx.coauthor_counts
    values[(counts[pairs[0]] == 0) | (counts[pairs[1]] == 0)] = np.nan
    return values


def _fewest_coauthors(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    counts = ctx.coauthor_counts
    return np.minimum(counts[pairs[0]], counts[pairs[1]])


def _year_gap(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    years = ctx.table.years
    return np.abs(years[pairs[0]] - years[pairs[1]])


def _given_letters(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    v = ctx.names.variant
    lengths = ctx.names.given_letters
    return np.fmin(lengths[v[pairs[0]]], lengths[v[pairs[1]]])


FEATURES: tuple[PairFeature, ...] = (
    PairFeature("given_match", _given_match, "0 incompatible, 1 initials agree, 2 variant, 3 exact"),
    PairFeature("first_name_similarity", _first_name_similarity, "Jaro-Winkler of full first names"),
    PairFeature("middle_relation", _middle_relation_feature, "-1 conflict, 0 absent, 1 initial, 2 full"),
    PairFeature("full_first_names", _full_first_names, "how many sides spell the first name out"),
    PairFeature("surname_similarity", _surname_similarity, "Jaro-Winkler of folded surnames"),
    PairFeature("shared_coauthors", _shared_coauthors, "coauthors in common (surname + initial)"),
    PairFeature("shared_full_coauthors", _shared_full_coauthors, "coauthors in common (surname + first name)"),
    PairFeature("shared_neighbours", _shared_neighbours, "log(1 + other mentions sharing a coauthor with both)"),
    PairFeature("coauthor_cosine", _coauthor_cosine, "IDF-weighted cosine of coauthor sets"),
    PairFeature("fewest_coauthors", _fewest_coauthors, "coauthor count of the sparser side"),
    PairFeature("title_cosine", _cosine("title"), "IDF-weighted cosine of titles"),
    PairFeature("abstract_cosine", _cosine("abstract"), "IDF-weighted cosine of abstracts"),
    PairFeature("topics_cosine", _cosine("topics"), "IDF-weighted cosine of topics/keywords"),
    PairFeature("context_cosine", _cosine("context"), "cosine of title + abstract + topics"),
    PairFeature("venue_cosine", _cosine("venue"), "IDF-weighted cosine of venue names"),
    PairFeature("affiliation_cosine", _cosine("affiliations"), "IDF-weighted cosine of affiliations"),
    PairFeature("year_gap", _year_gap, "absolute difference of publication years"),
    PairFeature("given_letters", _given_letters, "letters of spelled-out given names, shorter side"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def _embedding_cosine(ctx: PairContext, pairs: Pairs) -> np.ndarray:
    values = ctx.lookup(ctx.embedding_cosine, pairs).copy()
    present = ctx.has_embedding
    values[~(present[pairs[0]] & present[pairs[1]])] = np.nan
    return values


# Features only a model trained with `--embeddings` has, after FEATURES (disambig.embeddings).
EMBEDDING_FEATURES: tuple[PairFeature, ...] = (
    PairFeature(
        "text_embedding_cosine", _embedding_cosine, "cosine of all-MiniLM-L6-v2 embeddings of title + abstract"
    ),
)
EMBEDDING_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in EMBEDDING_FEATURES)


def feature_set(embeddings: bool) -> tuple[PairFeature, ...]:
    """The features of a model: FEATURES, and EMBEDDING_FEATURES after them for a model with embeddings."""
    return FEATURES + EMBEDDING_FEATURES if embeddings else FEATURES


def featurize(ctx: PairContext, pairs: Pairs, features: Sequence[PairFeature] = FEATURES) -> np.ndarray:
    """The feature matrix (pairs x features), float32."""
    columns = [np.asarray(f.compute(ctx, pairs), dtype=np.float32) for f in features]
    return np.column_stack(columns) if columns else np.empty((len(pairs[0]), 0), np.float32)


def iter_row_slabs(n: int, max_pairs: int) -> Iterator[tuple[int, int]]:
    """Row ranges of an n-row block whose upper-triangle pairs number about max_pairs each."""
    start = 0
    while start < n - 1:
        stop = start
        count = 0
        while stop < n - 1 and (count == 0 or count + (n - 1 - stop) <= max_pairs):
            count += n - 1 - stop
            stop += 1
        yield start, stop
        start = stop


def slab_pairs(n: int, row_start: int, row_stop: int) -> Pairs:
    """All pairs (i, j), i < j, with row_start <= i < row_stop."""
    rows = np.arange(row_start, row_stop)
    lengths = n - 1 - rows
    i = np.repeat(rows, lengths)
    offsets = np.arange(len(i)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    j = i + 1 + offsets
    return i.astype(np.int64), j.astype(np.int64)


# What licenses a merge: some evidence beyond a compatible name and a shared venue. Clusters
# may only grow along pairs that have it (see engine.score_block), so two people who share an
# initial and a venue but no coauthor, no topic and no affiliation stay apart however rare
# their name is: the "D. Haziza" case.
EVIDENCE_MIN_COSINE = 0.2
_EVIDENCE_COSINES = ("title_cosine", "topics_cosine", "context_cosine", "affiliation_cosine")


def linking_evidence(features: np.ndarray, names: BlockNames, pairs: Pairs) -> np.ndarray:
    """Per pair: a shared coauthor, similar text or affiliation, the same spelled-out name, or
    the same two or more initials ("J.C." and "J. C.")."""
    column = {name: features[:, k] for k, name in enumerate(FEATURE_NAMES)}
    evidence = column["shared_coauthors"] > 0
    for name in _EVIDENCE_COSINES:
        evidence |= column[name] >= EVIDENCE_MIN_COSINE  # a missing text (NaN) compares False
    same_full_name = (column["given_match"] >= GivenMatch.VARIANT) & (column["full_first_names"] == 2)
    same_variant = names.variant[pairs[0]] == names.variant[pairs[1]]
    several_initials = names.part_counts[names.variant[pairs[0]]] >= 2
    return evidence | same_full_name | (same_variant & several_initials)
