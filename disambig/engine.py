"""The engine: mentions in, identities out. Staged, each stage public (prepare -> score -> cluster).

The CLI, the gRPC service and the batch engines are adapters around this module; it knows nothing
of files, networks or registries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE, Block, make_blocks, resolve_name_order
from disambig.clustering import cluster_block, membership_confidence
from disambig.corpus import MentionTable, build_table
from disambig.features import BlockNames, PairContext, featurize, iter_row_slabs, slab_pairs
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.names import parse_name
from disambig.text import DocumentFrequencies

# A shared e-mail address is strong evidence, but labs share mailboxes: it shrinks the chance of
# "different people" twentyfold rather than forcing a merge.
SHARED_EMAIL_ODDS = 20.0

# Pairs featurised and scored at once: bounds the feature matrix to ~PAIR_CHUNK x 19 floats.
PAIR_CHUNK = 250_000


@dataclass(frozen=True, slots=True)
class Assignment:
    """The identity one mention was given."""

    mention_id: str
    identity_id: str
    confidence: float


@dataclass(frozen=True)
class Prepared:
    """A corpus ready to score: its columnar table and its blocks."""

    mentions: Sequence[Mention]
    table: MentionTable
    blocks: list[Block]


@dataclass(frozen=True)
class ScoredBlock:
    """Condensed (scipy order) link probabilities of one block, and its hard constraints."""

    probabilities: np.ndarray
    cannot_link: np.ndarray
    must_link: tuple[np.ndarray, np.ndarray]


def name_blocks(mentions: Sequence[Mention], max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> list[Block]:
    """The blocks of a corpus, from names alone."""
    return make_blocks(resolve_name_order([parse_name(m.name) for m in mentions]), max_block_size)


def prepare(
    mentions: Sequence[Mention],
    text_prior: Mapping[str, DocumentFrequencies] | None = None,
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
) -> Prepared:
    names = resolve_name_order([parse_name(m.name) for m in mentions])
    table = build_table(mentions, names, text_prior)
    return Prepared(mentions, table, make_blocks(names, max_block_size))


def score_block(model: PairwiseModel, table: MentionTable) -> ScoredBlock:
    """Score every pair of one block; pairs ruled out by a hard constraint are not classified."""
    n = len(table)
    total = n * (n - 1) // 2
    probabilities = np.zeros(total, dtype=np.float32)
    cannot_link = np.zeros(total, dtype=bool)
    must_i: list[np.ndarray] = []
    must_j: list[np.ndarray] = []
    if n < 2:
        return ScoredBlock(probabilities, cannot_link, (np.empty(0, np.int64), np.empty(0, np.int64)))
    names = BlockNames(table)
    orcids = table.orcids
    emails = table.emails
    offset = 0
    for row_start, row_stop in iter_row_slabs(n, PAIR_CHUNK):
        i, j = slab_pairs(n, row_start, row_stop)
        span = slice(offset, offset + len(i))  # a row slab is contiguous in condensed order
        offset += len(i)
        has_orcid = (orcids[i] != "") & (orcids[j] != "")
        same_orcid = has_orcid & (orcids[i] == orcids[j])
        ruled_out = (~names.compatible(i, j) | (has_orcid & ~same_orcid)) & ~same_orcid
        cannot_link[span] = ruled_out
        keep = ~ruled_out
        ctx = PairContext(table, names, row_start, row_stop)
        slab_probabilities = np.zeros(len(i), dtype=np.float32)
        slab_probabilities[keep] = model.predict(featurize(ctx, (i[keep], j[keep])))
        same_email = keep & (emails[i] != "") & (emails[i] == emails[j])
        slab_probabilities[same_email] = 1.0 - (1.0 - slab_probabilities[same_email]) / SHARED_EMAIL_ODDS
        slab_probabilities[same_orcid] = 1.0
        probabilities[span] = slab_probabilities
        must_i.append(i[same_orcid])
        must_j.append(j[same_orcid])
    return ScoredBlock(probabilities, cannot_link, (np.concatenate(must_i), np.concatenate(must_j)))


def identity_id_for(member_ids: Sequence[str]) -> str:
    """A deterministic id for a stateless cluster: derived from its smallest mention id."""
    anchor = min(member_ids)
    return "id-" + hashlib.blake2b(anchor.encode("utf-8"), digest_size=8).hexdigest()


def cluster_prepared_block(model: PairwiseModel, prepared: Prepared, block: Block) -> Iterator[tuple[int, str, float]]:
    """(row, identity id, confidence) for every mention of one block."""
    table = prepared.table.take(block.rows)
    scored = score_block(model, table)
    labels = cluster_block(scored.probabilities, model.threshold, scored.cannot_link, scored.must_link)
    confidence = membership_confidence(len(table), scored.probabilities, labels)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        rows = block.rows[members]
        identity = identity_id_for([prepared.mentions[int(r)].mention_id for r in rows])
        for member, row in zip(members, rows):
            yield int(row), identity, float(confidence[member])


class Engine:
    """Clusters a set of mentions into identities with one pairwise model."""

    def __init__(self, model: PairwiseModel, *, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> None:
        self.model = model
        self.max_block_size = max_block_size

    def prepare(self, mentions: Sequence[Mention]) -> Prepared:
        return prepare(mentions, self.model.text_prior, max_block_size=self.max_block_size)

    def cluster(self, mentions: Sequence[Mention]) -> list[Assignment]:
        """One assignment per mention, in input order."""
        prepared = self.prepare(mentions)
        result: list[Assignment | None] = [None] * len(mentions)
        for block in prepared.blocks:
            for row, identity, confidence in cluster_prepared_block(self.model, prepared, block):
                result[row] = Assignment(mentions[row].mention_id, identity, round(confidence, 4))
        assert all(a is not None for a in result)
        return [a for a in result if a is not None]
