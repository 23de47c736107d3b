"""The in-process engine for inputs of any size: Engine's identities with one shard in memory.

Engine prepares one table of the whole corpus: 2.6 GB summed over its processes at 100,000 mentions.
StreamingEngine never holds the corpus: it streams the mentions into shard files on local disk
(disambig.shards explains how blocks, word order and the corpus-wide statistics stay exactly
Engine's), then a local process pool works shard by shard, each worker holding one shard:

1. The driver writes the shards, keeping only the shard of each row (two bytes a mention).
2. Each worker parses and hashes a shard and reports the shard's statistics; the driver merges
   them and writes the corpus-wide statistics to disk (plain arrays: nothing is ever pickled to
   a file, so nothing is ever unpickled from one).
3. Each worker parses a shard again (cheaper than any safe format for the parsed form),
   clusters its blocks, and writes one line per row in input
   order: mention id, work id, name, identity id, confidence. Heaviest shards first, so no
   worker idles at the end.
4. The driver reads those files back in input order, one line of one shard at a time.

The pool is forked before anything is read, while the driver is small: a child shares its
parent's pages at fork, and summed RSS counts them once per process.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
from threadpoolctl import threadpool_limits

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE
from disambig.engine import Assignment
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.shards import (
    CorpusStatistics,
    ShardSet,
    ShardStatistics,
    StatisticsMerger,
    cluster_blocks,
    load_shard,
    parse_shard,
    record_mention,
    shard_statistics,
    shard_table,
    sorted_records,
    write_shards,
)

log = logging.getLogger(__name__)

# Shards of about this many mentions at a million: a worker holds one (a few hundred MB at
# most), and the last shards are short, so both workers finish together.
DEFAULT_SHARDS = 64

T = TypeVar("T")
Summarise = Callable[[Sequence[tuple[Mention, str]]], Any]


@dataclass
class _Worker:
    model: PairwiseModel
    summarise: Summarise | None
    max_block_size: int
    corpus: tuple[Path, CorpusStatistics] | None = None


_WORKER: _Worker | None = None


def _init_worker(model: PairwiseModel, summarise: Summarise | None, max_block_size: int) -> None:
    global _WORKER
    _WORKER = _Worker(model, summarise, max_block_size)
    threadpool_limits(1)  # each worker owns one core: OpenMP threads on top only fight for it


def _ready() -> None:
    """A task that does nothing: submitted first, so the pool forks at once."""


def _statistics(path: Path) -> ShardStatistics:
    """Parse a shard and report its statistics."""
    assert _WORKER is not None
    return shard_statistics(load_shard("jsonl", path.read_bytes(), _WORKER.max_block_size))


def save_corpus(corpus: CorpusStatistics, path: Path) -> None:
    arrays = {f"text_idf.{field}": idf for field, idf in corpus.text_idf.items()}
    np.savez(path, allow_pickle=False, coauthor_idf=corpus.coauthor_idf, **arrays)


def load_corpus(path: Path) -> CorpusStatistics:
    with np.load(path, allow_pickle=False) as arrays:
        text_idf = {k.removeprefix("text_idf."): arrays[k] for k in arrays.files if k.startswith("text_idf.")}
        coauthor_idf = arrays["coauthor_idf"]
    return CorpusStatistics(text_idf, coauthor_idf, len(coauthor_idf))


def _corpus(path: Path) -> CorpusStatistics:
    """The corpus-wide statistics, read once per worker."""
    assert _WORKER is not None
    if _WORKER.corpus is None or _WORKER.corpus[0] != path:
        _WORKER.corpus = (path, load_corpus(path))
    return _WORKER.corpus[1]


def _cluster(path: Path, corpus_path: Path, keys_path: Path, out: Path) -> tuple[int, Any]:
    """Cluster every block of one shard; write its rows' results in input order to `out`."""
    assert _WORKER is not None
    records = sorted_records("jsonl", path.read_bytes())  # for the output and the summary
    shard = parse_shard(records, _WORKER.max_block_size, _WORKER.model.needs_embeddings)
    path.unlink()  # read for the last time: the disk holds the results instead
    table = shard_table(shard, _corpus(corpus_path), np.load(keys_path))
    result = cluster_blocks(shard, table, _WORKER.model, range(len(shard.blocks)))
    local = np.searchsorted(shard.rows, result.rows)  # shard.rows ascend, as records do
    identities = [""] * len(records)
    confidence = [0.0] * len(records)
    for row, identity, value in zip(local.tolist(), result.identity_ids, result.confidence):
        identities[row] = identity
        confidence[row] = value
    with open(out, "wb") as handle:
        handle.writelines(
            orjson.dumps([r["mention_id"], r["work_id"], r["name"], identity, value]) + b"\n"
            for r, identity, value in zip(records, identities, confidence)
        )
    summary = None
    if _WORKER.summarise is not None:
        summary = _WORKER.summarise([(record_mention(r), i) for r, i in zip(records, identities)])
    return len(records), summary


class Clustered:
    """The result of StreamingEngine.cluster: iterate for (mention, assignment) in input order.

    A mention here carries its id, name and work id only. `summaries` holds what the summarise
    function made of each shard (in no particular order)."""

    def __init__(self, shards: ShardSet, results: dict[int, Path], summaries: list[Any]) -> None:
        self.shards = shards
        self.results = results
        self.summaries = summaries

    def __len__(self) -> int:
        return self.shards.mentions

    def __iter__(self) -> Iterator[tuple[Mention, Assignment]]:
        with contextlib.ExitStack() as stack:
            handles = {s: stack.enter_context(open(p, "rb")) for s, p in self.results.items()}
            for shard in self.shards.row_shards.tolist():
                mention_id, work_id, name, identity, confidence = orjson.loads(handles[shard].readline())
                yield Mention(mention_id, name, work_id=work_id), Assignment(mention_id, identity, confidence)


class StreamingEngine:
    """Clusters a stream of mentions of any size, in bounded memory, exactly as Engine would."""

    def __init__(
        self,
        model: PairwiseModel,
        *,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
        jobs: int = 0,
        shards: int = DEFAULT_SHARDS,
        work_dir: Path | None = None,
    ) -> None:
        self.model = model
        self.max_block_size = max_block_size
        self.jobs = jobs if jobs > 0 else (os.cpu_count() or 1)
        self.shards = shards
        self.work_dir = work_dir

    @contextlib.contextmanager
    def cluster(
        self,
        mentions: Iterable[Mention],
        progress: Callable[[int], object] | None = None,
        after_reading: Callable[[int], object] | None = None,
        summarise: Summarise | None = None,
    ) -> Iterator[Clustered]:
        """Cluster `mentions`, read once as a stream; the result is read from disk, in input
        order, while the context is open.

        after_reading(n) hears how many mentions there were before any clustering starts (a
        caller may stop there by raising); progress(n) hears of each shard's n mentions as it is
        clustered. summarise(pairs), if given, runs in the workers on each shard's (mention,
        identity id) pairs in input order (a shard holds whole identities); what it returns is
        in Clustered.summaries.
        """
        with tempfile.TemporaryDirectory(prefix="disambig-shards-", dir=self.work_dir) as tmp:
            directory = Path(tmp)
            context = multiprocessing.get_context("fork")
            pool = ProcessPoolExecutor(
                self.jobs,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.model, summarise, self.max_block_size),
            )
            try:
                pool.submit(_ready).result()  # fork now, while this process is small
                started = time.perf_counter()
                shards = write_shards(mentions, directory, self.shards)
                log.info("%d mentions written to %d shards in %.1f s", shards.mentions, self.shards, _since(started))
                if after_reading is not None:
                    after_reading(shards.mentions)
                results, summaries = self._cluster_shards(pool, shards, directory, progress)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            yield Clustered(shards, results, summaries)

    def _cluster_shards(
        self,
        pool: ProcessPoolExecutor,
        shards: ShardSet,
        directory: Path,
        progress: Callable[[int], object] | None,
    ) -> tuple[dict[int, Path], list[Any]]:
        started = time.perf_counter()
        used = [s for s, path in enumerate(shards.paths) if path.stat().st_size]
        merger = StatisticsMerger()
        counting = {pool.submit(_statistics, shards.paths[s]): s for s in used}
        for counted in as_completed(counting):
            merger.add(counting[counted], counted.result())
        corpus, key_ids = merger.finish(dict(self.model.text_prior))
        corpus_path = directory / "corpus.npz"
        save_corpus(corpus, corpus_path)
        for shard in used:
            np.save(directory / f"keys-{shard:05d}.npy", key_ids[shard])
        del merger, key_ids
        log.info("%d shards counted in %.1f s", len(used), _since(started))
        started = time.perf_counter()
        results = {s: directory / f"results-{s:05d}.jsonl" for s in used}
        clustering: dict[Future[tuple[int, Any]], int] = {
            pool.submit(_cluster, shards.paths[s], corpus_path, directory / f"keys-{s:05d}.npy", results[s]): s
            for s in sorted(used, key=lambda s: (-shards.work[s], s))  # heaviest first
        }
        summaries: list[Any] = []
        for clustered in as_completed(clustering):
            count, summary = clustered.result()
            summaries.append(summary)
            if progress is not None:
                progress(count)
        log.info("%d shards clustered in %.1f s", len(used), _since(started))
        return results, summaries


def _since(started: float) -> float:
    return time.perf_counter() - started
