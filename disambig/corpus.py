"""A columnar view of a set of mentions: everything pairwise features read, computed once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from stdnum.iso7064 import mod_11_2

from disambig.coauthors import coauthor_key, written_coauthor_key
from disambig.csr import csr_from_arrays, index_array, row_entries
from disambig.emails import author_email
from disambig.mention import Mention
from disambig.names import ParsedName
from disambig.text import (
    N_FEATURES,
    DocumentFrequencies,
    SparseIdf,
    hash_documents,
    join_fields,
    smoothed_idf,
    weighted_unit_row,
    weighted_unit_rows,
)

TEXT_FIELDS = ("title", "abstract", "topics", "venue", "affiliations", "context")


def field_texts(mentions: Sequence[Mention], field: str) -> list[str]:
    if field == "title":
        return [m.title for m in mentions]
    if field == "abstract":
        return [m.abstract for m in mentions]
    if field == "topics":
        return [join_fields(m.topics) for m in mentions]
    if field == "venue":
        return [m.venue for m in mentions]
    if field == "affiliations":
        return [join_fields(m.affiliations) for m in mentions]
    if field == "context":
        return [join_fields(m.title, m.abstract, m.topics) for m in mentions]
    raise ValueError(f"unknown text field {field!r}")


# Four groups of four, joined by a hyphen, a dash or a space as people write them, or by nothing.
_ORCID_JOIN = r"[-\s\u2010-\u2015]?"
_ORCID = re.compile(
    rf"(?<![0-9])([0-9]{{4}}){_ORCID_JOIN}([0-9]{{4}}){_ORCID_JOIN}([0-9]{{4}}){_ORCID_JOIN}([0-9]{{3}}[0-9X])(?![0-9X])"
)


def normalise_orcid(raw: str) -> str:
    """The 16 characters of the first ORCID iD in the field with a right check character, bare
    or as a URL ("https://orcid.org/0000-...-0097/"); "" if there is none. Placeholders
    ("0000-0000-0000-0000") and typos would otherwise be one person's id for strangers, or two
    ids of one person a conflict."""
    for found in _ORCID.finditer(raw.upper()):
        digits = "".join(found.groups())
        if mod_11_2.is_valid(digits):
            return digits
    return ""


def document_frequencies(mentions: Sequence[Mention]) -> dict[str, DocumentFrequencies]:
    """Per text field, how many of the mentions contain each hashed term."""
    return {f: DocumentFrequencies.of(hash_documents(field_texts(mentions, f))) for f in TEXT_FIELDS}


@dataclass(frozen=True)
class MentionTable:
    """Per-mention arrays aligned by row; `take` slices every column at once."""

    names: list[ParsedName]
    text: dict[str, sp.csr_matrix]  # unit rows: a dot product is an IDF-weighted cosine
    coauthors: sp.csr_matrix  # binary presence of normalised coauthor keys
    coauthors_full: sp.csr_matrix  # binary presence of coauthors whose first name is spelled out
    coauthor_weighted: sp.csr_matrix  # unit rows, IDF-weighted: rare coauthors count more
    coauthor_labels: list[tuple[str, ...]]  # the coauthors as written, for explanations
    years: np.ndarray  # float, NaN = unknown
    emails: np.ndarray  # str, "" = unknown
    orcids: np.ndarray  # str, "" = unknown
    works: np.ndarray  # str, "" = unknown: two mentions of one work are two different authors
    # Sentence embeddings of title + abstract (unit rows, zero = no text); None unless the model
    # has the embedding feature (see disambig.embeddings).
    embeddings: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)

    def take(self, rows: np.ndarray, *, compact: bool = False) -> MentionTable:
        """These rows; with `compact`, also without the sparse columns they do not use (see
        compact_columns): what one block is scored on."""
        rows = np.asarray(rows, dtype=np.int64)
        return MentionTable(
            names=[self.names[r] for r in rows.tolist()],
            text={k: take_rows(v, rows, compact) for k, v in self.text.items()},
            coauthors=take_rows(self.coauthors, rows, compact),
            coauthors_full=take_rows(self.coauthors_full, rows, compact),
            coauthor_weighted=take_rows(self.coauthor_weighted, rows, compact),
            coauthor_labels=[self.coauthor_labels[r] for r in rows.tolist()],
            years=self.years[rows],
            emails=self.emails[rows],
            orcids=self.orcids[rows],
            works=self.works[rows],
            embeddings=None if self.embeddings is None else self.embeddings[rows],
        )


@dataclass(frozen=True, slots=True)
class MentionParts:
    """What one mention contributes to a table, independent of the other mentions: parsing and
    hashing done once, so a resolver can keep them for stored mentions (records never change)."""

    name: ParsedName
    terms: tuple[np.ndarray, ...]  # per TEXT_FIELDS, the hashed term columns present (int32)
    coauthor_keys: tuple[str, ...]  # surname + initial, own name excluded, first spelling kept
    full_coauthor_keys: tuple[str, ...]  # surname + spelled-out first name
    coauthor_labels: tuple[str, ...]  # the coauthors as written, aligned with coauthor_keys
    year: float
    email: str
    orcid: str
    work_id: str
    embedding: np.ndarray | None = None  # of title + abstract, for a model with embeddings


def mention_parts(
    mentions: Sequence[Mention], names: Sequence[ParsedName], *, embed: bool = False
) -> list[MentionParts]:
    """With `embed`, each part carries its mention's sentence embedding (disambig.embeddings)."""
    # One hashing call for every field of every mention: a call's fixed cost is most of the cost
    # of the one mention an online resolution hashes. Row f * n + k is field f of mention k.
    n = len(mentions)
    vectors = _embed(mentions) if embed else None
    hashed = hash_documents([text for f in TEXT_FIELDS for text in field_texts(mentions, f)])
    indptr, indices = hashed.indptr, hashed.indices.astype(np.int32)
    parts = []
    for row, (mention, own) in enumerate(zip(mentions, names)):
        keys, full, labels = _coauthor_keys(mention, own)
        parts.append(
            MentionParts(
                name=own,
                terms=tuple(indices[indptr[f * n + row] : indptr[f * n + row + 1]] for f in range(len(TEXT_FIELDS))),
                coauthor_keys=keys,
                full_coauthor_keys=full,
                coauthor_labels=labels,
                year=float(mention.year) if mention.year else np.nan,
                email=author_email(mention.email, mention.affiliations, own.surname),
                orcid=normalise_orcid(mention.orcid),
                work_id=mention.work_id.strip(),
                embedding=None if vectors is None else vectors[row],
            )
        )
    return parts


def _embed(mentions: Sequence[Mention]) -> np.ndarray:
    from disambig.embeddings import shared_embedder

    return shared_embedder().embed_mentions(mentions)


def build_table(
    mentions: Sequence[Mention],
    names: Sequence[ParsedName],
    text_prior: Mapping[str, DocumentFrequencies] | None = None,
    *,
    embed: bool = False,
) -> MentionTable:
    """Vectorise a corpus. IDF = corpus counts + prior counts, so small batches stay sensible.
    With `embed`, the table carries sentence embeddings (for a model with the embedding feature)."""
    return assemble_table(mention_parts(mentions, names, embed=embed), text_prior)


def assemble_table(
    parts: Sequence[MentionParts], text_prior: Mapping[str, DocumentFrequencies] | None = None
) -> MentionTable:
    return TableWeights.fit(parts, text_prior).rows(parts)


@dataclass
class TableWeights:
    """The corpus-level weights of a table: text IDF per field, and the coauthor vocabulary with
    its IDF. Fitted on a corpus, they can also weight rows added later (online resolution), at
    the price of weights that no longer count those rows."""

    text_idf: dict[str, SparseIdf]
    coauthor_columns: dict[str, int]
    coauthor_idf: np.ndarray
    coauthor_docs: int
    full_columns: dict[str, int]

    @classmethod
    def fit(
        cls, parts: Sequence[MentionParts], text_prior: Mapping[str, DocumentFrequencies] | None = None
    ) -> TableWeights:
        text_idf: dict[str, SparseIdf] = {}
        for k, field in enumerate(TEXT_FIELDS):
            prior = text_prior.get(field) if text_prior else None
            text_idf[field] = SparseIdf.of([p.terms[k] for p in parts], prior)
        columns: dict[str, int] = {}
        full: dict[str, int] = {}
        for p in parts:
            for key in p.coauthor_keys:
                columns.setdefault(key, len(columns))
            for key in p.full_coauthor_keys:
                full.setdefault(key, len(full))
        counts = np.bincount([columns[key] for p in parts for key in p.coauthor_keys], minlength=len(columns)).astype(
            np.float32
        )
        return cls(text_idf, columns, smoothed_idf(len(parts), counts), len(parts), full)

    def rows(self, parts: Sequence[MentionParts]) -> MentionTable:
        """The table of these mentions, weighted by these weights (new coauthors get columns)."""
        if len(parts) == 1:  # an online resolution's one mention: no intermediate binary rows
            text = {
                field: weighted_unit_row(parts[0].terms[k], self.text_idf[field], N_FEATURES)
                for k, field in enumerate(TEXT_FIELDS)
            }
        else:
            text = {
                field: weighted_unit_rows(binary_rows([p.terms[k] for p in parts], N_FEATURES), self.text_idf[field])
                for k, field in enumerate(TEXT_FIELDS)
            }
        rows = [
            [self.coauthor_columns.setdefault(key, len(self.coauthor_columns)) for key in p.coauthor_keys]
            for p in parts
        ]
        full_rows = [
            [self.full_columns.setdefault(key, len(self.full_columns)) for key in p.full_coauthor_keys] for p in parts
        ]
        if len(self.coauthor_columns) > len(self.coauthor_idf):  # coauthors the fit never saw
            unseen = smoothed_idf(self.coauthor_docs, np.zeros(len(self.coauthor_columns) - len(self.coauthor_idf)))
            self.coauthor_idf = np.concatenate([self.coauthor_idf, unseen])
        coauthors = binary_rows(rows, len(self.coauthor_columns))
        return MentionTable(
            names=[p.name for p in parts],
            text=text,
            coauthors=coauthors,
            coauthors_full=binary_rows(full_rows, len(self.full_columns)),
            coauthor_weighted=weighted_unit_rows(coauthors, _fit_width(self.coauthor_idf, coauthors.shape[1])),
            coauthor_labels=[p.coauthor_labels for p in parts],
            years=np.array([p.year for p in parts], dtype=np.float32),
            emails=np.array([p.email for p in parts], dtype=object),
            orcids=np.array([p.orcid for p in parts], dtype=object),
            works=np.array([p.work_id for p in parts], dtype=object),
            embeddings=part_embeddings(parts),
        )


def reweighted(
    table: MentionTable,
    weights: TableWeights,
    fitted: int,
    text_prior: Mapping[str, DocumentFrequencies] | None = None,
) -> tuple[TableWeights, MentionTable]:
    """What `TableWeights.fit(parts[:fitted], text_prior)` and its `rows(parts)` make of the parts
    this table (weighted by `weights`) was made from, computed from the table alone: a weighted
    row keeps the columns of its binary row, and coauthor columns, numbered in the order the
    rows first name them, stay where they are. A growing block refits its weights this way,
    without the per-mention work of `rows` over all its mentions."""
    text_idf: dict[str, SparseIdf] = {}
    text: dict[str, sp.csr_matrix] = {}
    for field, matrix in table.text.items():
        binary = _binary_pattern(matrix)
        prior = text_prior.get(field) if text_prior else None
        text_idf[field] = SparseIdf.of_present(fitted, binary.indices[: binary.indptr[fitted]], prior)
        text[field] = weighted_unit_rows(binary, text_idf[field])
    coauthors = table.coauthors
    seen = coauthors.indices[: coauthors.indptr[fitted]]
    named = int(seen.max()) + 1 if len(seen) else 0  # the first `fitted` rows name columns 0..named-1
    idf = smoothed_idf(fitted, np.bincount(seen, minlength=named).astype(np.float32))
    if len(weights.coauthor_columns) > named:  # as `rows` extends it for coauthors the fit never saw
        idf = np.concatenate([idf, smoothed_idf(fitted, np.zeros(len(weights.coauthor_columns) - named))])
    refitted = TableWeights(text_idf, dict(weights.coauthor_columns), idf, fitted, dict(weights.full_columns))
    coauthor_weighted = weighted_unit_rows(coauthors, _fit_width(idf, coauthors.shape[1]))
    return refitted, replace(table, text=text, coauthor_weighted=coauthor_weighted)


def _binary_pattern(weighted: sp.csr_matrix) -> sp.csr_matrix:
    """The binary rows a weighted_unit_rows matrix was made from: ones at its entries (in the
    descending column order it stores them; weighted_unit_rows sorts them back)."""
    ones = np.ones(len(weighted.indices), dtype=np.float32)
    return csr_from_arrays(ones, weighted.indices, weighted.indptr, weighted.shape)


def part_embeddings(parts: Sequence[MentionParts]) -> np.ndarray | None:
    """The parts' sentence embeddings stacked, or None when they carry none."""
    vectors = [p.embedding for p in parts]
    if not vectors or all(v is None for v in vectors):
        return None
    if any(v is None for v in vectors):
        raise ValueError("a table of mentions with sentence embeddings and mentions without")
    return np.stack(vectors)  # type: ignore[arg-type]


def _fit_width(idf: np.ndarray, width: int) -> np.ndarray:
    # An empty vocabulary still makes a one-column matrix (scipy needs a width).
    return idf[:width] if len(idf) >= width else np.concatenate([idf, np.ones(width - len(idf), np.float32)])


def stack_tables(first: MentionTable, second: MentionTable) -> MentionTable:
    """Rows of `first` then `second`, both weighted by one TableWeights (`second` made later, so
    its coauthor columns may be wider). An online resolution stacks its mention's row onto its
    block's table on every call: the matrices' arrays are concatenated, not put through scipy's
    general stacking, which costs more than the copy."""
    return MentionTable(
        names=[*first.names, *second.names],
        text={k: append_rows(v, second.text[k]) for k, v in first.text.items()},
        coauthors=append_rows(first.coauthors, second.coauthors),
        coauthors_full=append_rows(first.coauthors_full, second.coauthors_full),
        coauthor_weighted=append_rows(first.coauthor_weighted, second.coauthor_weighted),
        coauthor_labels=[*first.coauthor_labels, *second.coauthor_labels],
        years=np.concatenate([first.years, second.years]),
        emails=np.concatenate([first.emails, second.emails]),
        orcids=np.concatenate([first.orcids, second.orcids]),
        works=np.concatenate([first.works, second.works]),
        embeddings=_stack_embeddings(first, second),
    )


def append_rows(first: sp.csr_matrix, second: sp.csr_matrix) -> sp.csr_matrix:
    """The rows of `first` then `second`, as wide as the wider: scipy's vstack of the two, each
    widened, entry for entry."""
    if first.dtype != second.dtype or first.indices.dtype != second.indices.dtype:
        return sp.vstack([widen(first, second.shape[1]), widen(second, first.shape[1])], format="csr")
    indptr = np.concatenate([first.indptr, second.indptr[1:] + first.indptr[-1]])
    return csr_from_arrays(
        np.concatenate([first.data, second.data]),
        np.concatenate([first.indices, second.indices]),
        indptr,
        (first.shape[0] + second.shape[0], max(first.shape[1], second.shape[1])),
    )


def _stack_embeddings(first: MentionTable, second: MentionTable) -> np.ndarray | None:
    # A table of no rows (an empty block) has no embeddings to say whether it would have them.
    if not len(first) or not len(second):
        return second.embeddings if len(second) else first.embeddings
    if first.embeddings is None and second.embeddings is None:
        return None
    if first.embeddings is None or second.embeddings is None:
        raise ValueError("stacking a table with sentence embeddings and one without")
    return np.concatenate([first.embeddings, second.embeddings])


def widen(matrix: sp.csr_matrix, width: int) -> sp.csr_matrix:
    return csr_from_arrays(matrix.data, matrix.indices, matrix.indptr, (matrix.shape[0], max(width, matrix.shape[1])))


def binary_rows(rows: Sequence[Sequence[int] | np.ndarray], width: int) -> sp.csr_matrix:
    lengths = [len(r) for r in rows]
    indptr = index_array(np.cumsum([0, *lengths]), sum(lengths))
    # One call, not an array per row: a big block's table is built whole when first read. The
    # casting is for an empty list, which numpy reads as float64; every column is an int.
    indices = np.concatenate(rows, dtype=np.int32, casting="unsafe") if len(rows) else np.empty(0, np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    return csr_from_arrays(data, indices, indptr, (len(rows), max(width, 1)))


def _coauthor_keys(mention: Mention, own: ParsedName) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Coauthor keys (surname + initial: robust to formatting) and full keys (surname + first
    name: precise where "J. Wang" stands for many people)."""
    own_key = coauthor_key(own)
    keys: dict[str, str] = {}
    full: dict[str, None] = {}
    for raw in mention.coauthors:
        key, name = written_coauthor_key(raw)
        if not key or key == own_key:
            continue
        keys.setdefault(key, raw)
        if name is not None and name.has_full_first:
            full[f"{name.surname_key}_{name.first}"] = None
    return tuple(keys), tuple(full), tuple(keys.values())


def compact_columns(table: MentionTable) -> MentionTable:
    """The same table without the sparse columns no row uses, the others kept in order.

    Every row product (cosines, shared coauthors) is unchanged to the bit, entry order included,
    but a block's products no longer pay for the corpus's width: scipy transposes a matrix in
    time proportional to its columns, 2**18 hashed terms and the whole coauthor vocabulary,
    which cost more than the products themselves on blocks of a few mentions. A table that is
    already compact is returned as it is.
    """
    matrices = [*table.text.values(), table.coauthors, table.coauthors_full, table.coauthor_weighted]
    if all(m.shape[1] <= max(m.nnz, 1) for m in matrices):
        return table
    return replace(
        table,
        text={field: _used_columns(matrix) for field, matrix in table.text.items()},
        coauthors=_used_columns(table.coauthors),
        coauthors_full=_used_columns(table.coauthors_full),
        coauthor_weighted=_used_columns(table.coauthor_weighted),
    )


def take_rows(matrix: sp.csr_matrix, rows: np.ndarray, compact: bool) -> sp.csr_matrix:
    """matrix[rows] (same entries in the same order), without scipy's per-call checks, which
    cost more than the copy for the few rows of a block; compact: see compact_columns."""
    gather, lengths = row_entries(matrix, rows)
    indptr = np.zeros(len(rows) + 1, dtype=matrix.indptr.dtype)
    np.cumsum(lengths, out=indptr[1:])
    indices = matrix.indices[gather]
    width = matrix.shape[1]
    if compact:
        columns, inverse = np.unique(indices, return_inverse=True)
        indices, width = inverse.reshape(-1).astype(matrix.indices.dtype), max(len(columns), 1)
    return csr_from_arrays(matrix.data[gather], indices, indptr, (len(rows), width))


def _used_columns(matrix: sp.csr_matrix) -> sp.csr_matrix:
    return take_rows(matrix, np.arange(matrix.shape[0]), compact=True)
