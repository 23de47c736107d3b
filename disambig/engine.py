"""The engine: mentions in, identities out. Staged, each stage public (prepare -> score -> cluster).

The CLI, the gRPC service and the batch engines are adapters around this module; it knows nothing
of files, networks or registries.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_limits

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE, Block, make_blocks, resolve_name_order
from disambig.clustering import cluster_block, condensed_index, membership_confidence, must_link_groups
from disambig.coauthors import coauthor_names
from disambig.corpus import MentionTable, build_table, compact_columns
from disambig.features import (
    BlockNames,
    PairContext,
    PairFeature,
    featurize,
    iter_row_slabs,
    linking_evidence,
    slab_pairs,
)
from disambig.identifiers import apply_identifiers, pair_rules
from disambig.mention import Mention
from disambig.merging import merge_clusters
from disambig.model import PairwiseModel
from disambig.names import ParsedName, parse_name
from disambig.text import DocumentFrequencies

# Pairs featurised and scored at once: bounds the feature matrix to PAIR_CHUNK x len(FEATURES) floats.
PAIR_CHUNK = 250_000
# Blocks scored in one classifier call at most (score_blocks): each waits with its features.
BATCH_BLOCKS = 500


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


def corpus_names(mentions: Sequence[Mention]) -> list[ParsedName]:
    """Each mention's name, read in the word order the corpus's names vote for."""
    coauthors = (name for m in mentions for name in coauthor_names(m.coauthors))
    return resolve_name_order([parse_name(m.name) for m in mentions], coauthors)


def name_blocks(mentions: Sequence[Mention], max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> list[Block]:
    """The blocks of a corpus, from names alone."""
    return make_blocks(corpus_names(mentions), max_block_size)


def prepare(
    mentions: Sequence[Mention],
    text_prior: Mapping[str, DocumentFrequencies] | None = None,
    *,
    max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
    embed: bool = False,
) -> Prepared:
    """The table and blocks of a corpus; with `embed`, the table carries sentence embeddings."""
    names = corpus_names(mentions)
    table = build_table(mentions, names, text_prior, embed=embed)
    return Prepared(mentions, table, make_blocks(names, max_block_size))


def score_block(
    model: PairwiseModel,
    table: MentionTable,
    *,
    require_evidence: bool = True,
    curated_links: Sequence[tuple[int, int]] = (),
) -> ScoredBlock:
    """Score every pair of one block; pairs ruled out by a hard constraint are not classified."""
    scoring = _scoring(table, model.features, require_evidence, curated_links)
    try:
        features = next(scoring)
        while True:
            features = scoring.send(model.predict(features))
    except StopIteration as done:
        scored: ScoredBlock = done.value
        return scored


def score_blocks(model: PairwiseModel, tables: Iterable[MentionTable]) -> Iterator[ScoredBlock]:
    """score_block of each table, in order, with one classifier call for many small blocks.

    A call has a fixed cost (about 0.1 ms of numpy steps per call, 1.7 ms with scikit-learn's own
    predict_proba), more than all the other work of a block of a few mentions, and most blocks
    are that small. The probabilities are score_block's to the bit: the classifier scores each
    pair on its own.
    """
    waiting: list[_Waiting] = []
    scored: list[ScoredBlock | None] = []  # in table order; None while a block waits
    pairs = 0
    for table in tables:
        scoring = _scoring(table, model.features, True, ())
        try:
            features = next(scoring)
            waiting.append((len(scored), scoring, features))
            scored.append(None)
            pairs += len(features)
        except StopIteration as finished:  # a single mention: nothing to score
            scored.append(finished.value)
        if pairs >= PAIR_CHUNK or len(scored) >= BATCH_BLOCKS:
            yield from _predict_waiting(model, waiting, scored)
            pairs = 0
    yield from _predict_waiting(model, waiting, scored)


_Waiting = tuple[int, Generator[np.ndarray, np.ndarray, ScoredBlock], np.ndarray]  # slot, scoring, features


def _predict_waiting(
    model: PairwiseModel, waiting: list[_Waiting], scored: list[ScoredBlock | None]
) -> Iterator[ScoredBlock]:
    """Score the features of the waiting blocks in one call, again until all are finished, then
    hand out every scored block in order."""
    while waiting:
        probabilities = model.predict(np.concatenate([features for _, _, features in waiting]))
        still: list[_Waiting] = []
        start = 0
        for slot, scoring, features in waiting:
            stop = start + len(features)
            try:
                still.append((slot, scoring, scoring.send(probabilities[start:stop])))
            except StopIteration as finished:
                scored[slot] = finished.value
            start = stop
        waiting[:] = still
    for block in scored:
        assert block is not None
        yield block
    scored.clear()


def _scoring(
    table: MentionTable,
    feature_list: Sequence[PairFeature],
    require_evidence: bool,
    curated_links: Sequence[tuple[int, int]],
) -> Generator[np.ndarray, np.ndarray, ScoredBlock]:
    """Scores one block: yields the features of each row slab, is sent their probabilities."""
    table = compact_columns(table)
    n = len(table)
    total = n * (n - 1) // 2
    probabilities = np.zeros(total, dtype=np.float32)
    cannot_link = np.zeros(total, dtype=bool)
    must_i: list[np.ndarray] = []
    must_j: list[np.ndarray] = []
    link_i: list[np.ndarray] = []
    link_j: list[np.ndarray] = []
    if n < 2:
        return ScoredBlock(probabilities, cannot_link, (np.empty(0, np.int64), np.empty(0, np.int64)))
    names = BlockNames(table)
    offset = 0
    for row_start, row_stop in iter_row_slabs(n, PAIR_CHUNK):
        i, j = slab_pairs(n, row_start, row_stop)
        span = slice(offset, offset + len(i))  # a row slab is contiguous in condensed order
        offset += len(i)
        rules = pair_rules(table, names, (i, j))
        cannot_link[span] = rules.ruled_out
        keep = ~rules.ruled_out
        ctx = PairContext(table, names, row_start, row_stop)
        slab_probabilities = np.zeros(len(i), dtype=np.float32)
        features = featurize(ctx, (i[keep], j[keep]), feature_list)
        slab_probabilities[keep] = yield features
        linked = np.zeros(len(i), dtype=bool)
        linked[keep] = linking_evidence(features, names, (i[keep], j[keep]))
        linked |= rules.same_email | rules.same_orcid
        link_i.append(i[linked])
        link_j.append(j[linked])
        apply_identifiers(slab_probabilities, rules)
        probabilities[span] = slab_probabilities
        must_i.append(i[rules.same_orcid])
        must_j.append(j[rules.same_orcid])
    if require_evidence:
        # Clusters grow only within components of the evidence graph: pairs in different
        # components are never linked, directly or through a chain. A curator's must-link is
        # evidence too.
        link_i.append(np.array([a for a, _ in curated_links], dtype=np.int64))
        link_j.append(np.array([b for _, b in curated_links], dtype=np.int64))
        component = must_link_groups(n, (np.concatenate(link_i), np.concatenate(link_j)))
        offset = 0
        for row_start, row_stop in iter_row_slabs(n, PAIR_CHUNK):
            i, j = slab_pairs(n, row_start, row_stop)
            cannot_link[offset : offset + len(i)] |= component[i] != component[j]
            offset += len(i)
    return ScoredBlock(probabilities, cannot_link, (np.concatenate(must_i), np.concatenate(must_j)))


def identity_id_for(member_ids: Sequence[str]) -> str:
    """A deterministic id for a cluster: derived from its smallest mention id."""
    anchor = min(member_ids)
    return "id-" + hashlib.blake2b(anchor.encode("utf-8"), digest_size=8).hexdigest()


def cluster_table(
    model: PairwiseModel,
    table: MentionTable,
    cannot_pairs: Sequence[tuple[int, int]] = (),
    must_pairs: Sequence[tuple[int, int]] = (),
    fixed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels and per-mention confidence for the mentions of one block.

    Extra cannot-link and must-link row pairs (curation) join the model's own constraints.
    `fixed` gives rows that already belong to an identity a code >= 0 (-1 for free rows): rows
    with one code stay together, rows with different codes stay apart, free rows go where the
    model puts them. That is how a registry clusters new mentions around its identities.
    """
    n = len(table)
    fixed_cannot = np.zeros(n * (n - 1) // 2, dtype=bool)
    if fixed is not None and (fixed >= 0).any():
        members = np.flatnonzero(fixed >= 0)
        order = members[np.argsort(fixed[members], kind="stable")]
        chained = fixed[order[1:]] == fixed[order[:-1]]  # a chain is enough to hold a group together
        must_pairs = [*must_pairs, *zip(order[:-1][chained].tolist(), order[1:][chained].tolist(), strict=True)]
        offset = 0
        for row_start, row_stop in iter_row_slabs(n, PAIR_CHUNK):
            i, j = slab_pairs(n, row_start, row_stop)
            fixed_cannot[offset : offset + len(i)] = (fixed[i] >= 0) & (fixed[j] >= 0) & (fixed[i] != fixed[j])
            offset += len(i)
    scored = score_block(model, table, curated_links=must_pairs)
    scored.cannot_link[fixed_cannot] = True
    return _cluster_scored(model, table, scored, cannot_pairs, must_pairs)


def cluster_tables(model: PairwiseModel, tables: Iterable[MentionTable]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """cluster_table of each table (no curation), in order, the small ones scored together.

    `tables` is read once, a batch of blocks ahead of the results."""
    mine, scoring = itertools.tee(tables)
    for table, scored in zip(mine, score_blocks(model, scoring), strict=True):
        yield _cluster_scored(model, table, scored)


def _cluster_scored(
    model: PairwiseModel,
    table: MentionTable,
    scored: ScoredBlock,
    cannot_pairs: Sequence[tuple[int, int]] = (),
    must_pairs: Sequence[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    n = len(table)
    if cannot_pairs:
        a = np.array([min(p) for p in cannot_pairs])
        b = np.array([max(p) for p in cannot_pairs])
        scored.cannot_link[condensed_index(n, a, b)] = True
    if must_pairs:
        a = np.array([min(p) for p in must_pairs])
        b = np.array([max(p) for p in must_pairs])
        scored = ScoredBlock(
            scored.probabilities,
            scored.cannot_link,
            (np.concatenate([scored.must_link[0], a]), np.concatenate([scored.must_link[1], b])),
        )
    labels = cluster_block(scored.probabilities, model.threshold, scored.cannot_link, scored.must_link)
    if model.merger is not None and len(table) > 1:
        return merge_clusters(
            model.merger, model.merge_threshold, table, scored.probabilities, scored.cannot_link, labels
        )
    return labels, membership_confidence(squareform(scored.probabilities, checks=False), labels)


_WORKER_MODEL: PairwiseModel | None = None


def _init_worker(model: PairwiseModel) -> None:
    global _WORKER_MODEL
    _WORKER_MODEL = model
    # Each worker owns one core: OpenMP threads on top of processes only fight for it.
    threadpool_limits(1)


def _cluster_tables(tables: list[tuple[int, MentionTable]]) -> list[tuple[int, np.ndarray, np.ndarray]]:
    assert _WORKER_MODEL is not None
    results = cluster_tables(_WORKER_MODEL, [table for _, table in tables])
    return [(index, *result) for (index, _), result in zip(tables, results, strict=True)]


def _tasks(prepared: Prepared, pairs_per_task: int) -> list[list[tuple[int, MentionTable]]]:
    """Blocks grouped into tasks of similar work, largest first so no worker idles at the end."""
    order = sorted(range(len(prepared.blocks)), key=lambda b: -len(prepared.blocks[b].rows))
    tasks: list[list[tuple[int, MentionTable]]] = []
    current: list[tuple[int, MentionTable]] = []
    work = 0
    for index in order:
        rows = prepared.blocks[index].rows
        current.append((index, prepared.table.take(rows, compact=True)))
        work += len(rows) * (len(rows) - 1) // 2 + len(rows)
        if work >= pairs_per_task:
            tasks.append(current)
            current, work = [], 0
    if current:
        tasks.append(current)
    return tasks


class Engine:
    """Clusters a set of mentions into identities with one pairwise model."""

    def __init__(self, model: PairwiseModel, *, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE, jobs: int = 1) -> None:
        self.model = model
        self.max_block_size = max_block_size
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)

    def prepare(self, mentions: Sequence[Mention]) -> Prepared:
        return prepare(
            mentions, self.model.text_prior, max_block_size=self.max_block_size, embed=self.model.needs_embeddings
        )

    def block_keys(self, mentions: Sequence[Mention]) -> list[str]:
        """The name block of every mention (before any sub-blocking)."""
        keys = [""] * len(mentions)
        for block in name_blocks(mentions, self.max_block_size):
            for row in block.rows:
                keys[int(row)] = block.key.split("/")[0]
        return keys

    def _block_results(self, prepared: Prepared) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        if self.jobs == 1 or len(prepared.blocks) < 2:
            tables = (prepared.table.take(block.rows, compact=True) for block in prepared.blocks)
            for index, result in enumerate(cluster_tables(self.model, tables)):
                yield (index, *result)
            return
        total = sum(len(b.rows) ** 2 // 2 for b in prepared.blocks)
        tasks = _tasks(prepared, max(total // (self.jobs * 8), 10_000))
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            self.jobs, mp_context=context, initializer=_init_worker, initargs=(self.model,)
        ) as pool:
            for results in pool.map(_cluster_tables, tasks):
                yield from results

    def cluster_around(self, mentions: Sequence[Mention], fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cluster labels (unique across blocks) and confidence, in one process, keeping rows of one
        fixed code >= 0 together and rows of different codes apart (see cluster_table)."""
        prepared = self.prepare(mentions)
        labels = np.zeros(len(mentions), dtype=np.int64)
        confidence = np.ones(len(mentions), dtype=np.float64)
        next_label = 0
        for block in prepared.blocks:
            table = prepared.table.take(block.rows, compact=True)
            block_labels, block_confidence = cluster_table(self.model, table, fixed=fixed[block.rows])
            labels[block.rows] = block_labels + next_label
            confidence[block.rows] = block_confidence
            next_label += int(block_labels.max()) + 1
        return labels, confidence

    def cluster(self, mentions: Sequence[Mention], progress: Callable[[int], object] | None = None) -> list[Assignment]:
        """One assignment per mention, in input order; progress(n) hears of each block's n mentions."""
        prepared = self.prepare(mentions)
        result: list[Assignment | None] = [None] * len(mentions)
        for index, labels, confidence in self._block_results(prepared):
            rows = prepared.blocks[index].rows
            if progress is not None:
                progress(len(rows))
            for label in np.unique(labels):
                members = np.flatnonzero(labels == label)
                identity = identity_id_for([mentions[int(rows[m])].mention_id for m in members])
                for m in members:
                    row = int(rows[m])
                    result[row] = Assignment(mentions[row].mention_id, identity, round(float(confidence[m]), 4))
        missing = [i for i, a in enumerate(result) if a is None]
        if missing:
            raise RuntimeError(f"{len(missing)} mentions got no identity (first: row {missing[0]})")
        return [a for a in result if a is not None]
