"""A columnar view of a set of mentions: everything pairwise features read, computed once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from disambig.mention import Mention
from disambig.names import ParsedName, parse_name
from disambig.text import N_FEATURES, DocumentFrequencies, hash_documents, join_fields, weighted_unit_rows

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


def normalise_orcid(raw: str) -> str:
    digits = re.sub(r"[^0-9Xx]", "", raw.rsplit("/", 1)[-1]).upper()
    return digits if len(digits) == 16 else ""


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

    def __len__(self) -> int:
        return len(self.names)

    def take(self, rows: np.ndarray) -> MentionTable:
        return MentionTable(
            names=[self.names[int(r)] for r in rows],
            text={k: v[rows] for k, v in self.text.items()},
            coauthors=self.coauthors[rows],
            coauthors_full=self.coauthors_full[rows],
            coauthor_weighted=self.coauthor_weighted[rows],
            coauthor_labels=[self.coauthor_labels[int(r)] for r in rows],
            years=self.years[rows],
            emails=self.emails[rows],
            orcids=self.orcids[rows],
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


def mention_parts(mentions: Sequence[Mention], names: Sequence[ParsedName]) -> list[MentionParts]:
    hashed = [hash_documents(field_texts(mentions, f)) for f in TEXT_FIELDS]
    parts = []
    for row, (mention, own) in enumerate(zip(mentions, names)):
        keys, full, labels = _coauthor_keys(mention, own)
        parts.append(
            MentionParts(
                name=own,
                terms=tuple(m.indices[m.indptr[row] : m.indptr[row + 1]].astype(np.int32) for m in hashed),
                coauthor_keys=keys,
                full_coauthor_keys=full,
                coauthor_labels=labels,
                year=float(mention.year) if mention.year else np.nan,
                email=mention.email.strip().lower(),
                orcid=normalise_orcid(mention.orcid),
            )
        )
    return parts


def build_table(
    mentions: Sequence[Mention],
    names: Sequence[ParsedName],
    text_prior: Mapping[str, DocumentFrequencies] | None = None,
) -> MentionTable:
    """Vectorise a corpus. IDF = corpus counts + prior counts, so small batches stay sensible."""
    return assemble_table(mention_parts(mentions, names), text_prior)


def assemble_table(
    parts: Sequence[MentionParts], text_prior: Mapping[str, DocumentFrequencies] | None = None
) -> MentionTable:
    text: dict[str, sp.csr_matrix] = {}
    for k, field in enumerate(TEXT_FIELDS):
        hashed = _binary_rows([p.terms[k] for p in parts], N_FEATURES)
        frequencies = DocumentFrequencies.of(hashed)
        if text_prior and field in text_prior:
            frequencies = frequencies + text_prior[field]
        text[field] = weighted_unit_rows(hashed, frequencies.idf())
    coauthors, weighted, full = _coauthor_matrices(parts)
    return MentionTable(
        names=[p.name for p in parts],
        text=text,
        coauthors=coauthors,
        coauthors_full=full,
        coauthor_weighted=weighted,
        coauthor_labels=[p.coauthor_labels for p in parts],
        years=np.array([p.year for p in parts], dtype=np.float32),
        emails=np.array([p.email for p in parts], dtype=object),
        orcids=np.array([p.orcid for p in parts], dtype=object),
    )


def _binary_rows(rows: Sequence[Sequence[int] | np.ndarray], width: int) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = np.concatenate([np.asarray(r, dtype=np.int32) for r in rows]) if rows else np.empty(0, np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), max(width, 1)))


def coauthor_key(name: ParsedName) -> str:
    """Surname + first initial: how coauthors are matched, robust to "M. Oquab" / "Maxime Oquab"."""
    return f"{name.surname_key}_{name.first_initial}"


def _coauthor_keys(mention: Mention, own: ParsedName) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Coauthor keys (surname + initial: robust to formatting) and full keys (surname + first
    name: precise where "J. Wang" stands for many people)."""
    own_key = coauthor_key(own)
    keys: dict[str, str] = {}
    full: dict[str, None] = {}
    for raw in mention.coauthors:
        name = parse_name(raw)
        if not name.surname_key:
            continue
        key = coauthor_key(name)
        if key == own_key:
            continue
        keys.setdefault(key, raw)
        if name.has_full_first:
            full[f"{name.surname_key}_{name.first}"] = None
    return tuple(keys), tuple(full), tuple(keys.values())


def _coauthor_matrices(parts: Sequence[MentionParts]) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    vocabulary: dict[str, int] = {}
    full_vocabulary: dict[str, int] = {}
    rows = [[vocabulary.setdefault(k, len(vocabulary)) for k in p.coauthor_keys] for p in parts]
    full_rows = [[full_vocabulary.setdefault(k, len(full_vocabulary)) for k in p.full_coauthor_keys] for p in parts]
    binary = _binary_rows(rows, len(vocabulary))
    counts = np.bincount(binary.indices, minlength=binary.shape[1]).astype(np.float32)
    idf = (np.log((1.0 + binary.shape[0]) / (1.0 + counts)) + 1.0).astype(np.float32)
    return binary, weighted_unit_rows(binary, idf), _binary_rows(full_rows, len(full_vocabulary))
