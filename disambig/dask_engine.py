"""Clustering on a Dask cluster (dask.distributed): the same model, the same identities as Engine.

No process sees the whole corpus; disambig.shards explains which statistics must be computed
corpus-wide, and how, so that the identities are Engine's to the bit. The run:
1. The driver streams the mentions once into shard files on local disk (JSONL or Parquet,
   shards.write_shards).
2. Each shard goes to a worker (through Dask, so workers need not share a disk; shards are
   placed so every worker gets a similar number of pairs to score), which parses and hashes it
   once, keeps it in memory and reports its statistics. The driver merges them.
3. The workers cluster the blocks of their shards, in tasks of similar work, heaviest first,
   with the corpus-wide statistics and the model (sent once per worker by Dask's own
   serialization), and return (mention id, identity id, confidence) per row. The driver puts
   them back in input order.

dask[distributed] (and pyarrow for Parquet shards) come with the `disambig[dask]` extra.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE
from disambig.engine import Assignment
from disambig.errors import ServiceError
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.shards import (
    SHARD_FORMATS,
    DaskUnavailableError,
    ShardSet,
    StatisticsMerger,
    block_groups,
    cluster_blocks,
    load_shard,
    read_shard,
    shard_statistics,
    shard_table,
    write_shards,
)

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
SHARDS_PER_WORKER = 8  # more shards than workers, so one slow shard does not hold the run up
CONNECT_SECONDS = 10
__all__ = ["DaskEngine", "DaskUnavailableError", "dask_client", "place_shards", "read_shard", "write_shards"]


# --- the driver --------------------------------------------------------------------------------


def place_shards(work: Sequence[int], threads: dict[str, int]) -> dict[int, list[str]]:
    """Shards (by estimated work) to workers (by threads): heaviest first onto the worker that
    would finish it earliest. Empty shards and a cluster without workers yet get no placement."""
    if not threads:
        return {}
    load = dict.fromkeys(sorted(threads), 0)
    place: dict[int, list[str]] = {}
    for shard in sorted(range(len(work)), key=lambda i: (-work[i], i)):
        if not work[shard]:
            continue
        worker = min(load, key=lambda w: ((load[w] + work[shard]) / max(threads[w], 1), w))
        load[worker] += work[shard]
        place[shard] = [worker]
    return place


def _default_shards(client: Client) -> int:
    return SHARDS_PER_WORKER * (len(client.nthreads()) or DEFAULT_WORKERS)


class DaskEngine:
    """Clusters mentions on a Dask cluster, in tasks of blocks of one shard each; see the module doc."""

    def __init__(
        self,
        client: Client,
        model: PairwiseModel,
        *,
        max_block_size: int = DEFAULT_MAX_BLOCK_SIZE,
        shards: int = 0,
        shard_dir: Path | None = None,
        shard_format: str = "jsonl",
    ) -> None:
        if shard_format not in SHARD_FORMATS:
            raise ValueError(f"unknown shard format {shard_format!r}; expected one of {', '.join(SHARD_FORMATS)}")
        self.client = client
        self.model = model
        self.max_block_size = max_block_size
        self.shards = shards
        self.shard_dir = shard_dir
        self.shard_format = shard_format

    def cluster(
        self,
        mentions: Iterable[Mention],
        progress: Callable[[int], object] | None = None,
        after_reading: Callable[[int], object] | None = None,
    ) -> list[Assignment]:
        """One assignment per mention, in input order, equal to Engine.cluster's.

        `mentions` is read once, as a stream; after_reading(n) hears how many there were before
        any clustering starts (a caller may stop there by raising); progress(n) hears of each
        shard's n mentions as it is clustered.
        """
        with contextlib.ExitStack() as stack:
            directory = self.shard_dir
            if directory is None:
                directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="disambig-shards-")))
            started = time.perf_counter()
            shards = write_shards(mentions, directory, self.shards or _default_shards(self.client), self.shard_format)
            log.info("%d mentions written to %d shards in %.1f s", shards.mentions, len(shards.paths), _since(started))
            if after_reading is not None:
                after_reading(shards.mentions)
            result = self._cluster_shards(shards, progress) if shards.mentions else []
        return result

    def _cluster_shards(self, shards: ShardSet, progress: Callable[[int], object] | None) -> list[Assignment]:
        from distributed import as_completed

        client = self.client
        started = time.perf_counter()
        threads: dict[str, int] = client.nthreads()
        place = place_shards(shards.work, threads)
        workers = len(threads) or DEFAULT_WORKERS
        # Futures by shard; a shard's data is released on the workers once its blocks are done.
        loaded: dict[int, Any] = {}
        tables: dict[int, Any] = {}
        pending: dict[Any, tuple[int, int]] = {}  # future -> (shard, number of mentions)
        result: list[Assignment | None] = [None] * shards.mentions
        try:
            payloads: list[Any] = []
            for shard, path in enumerate(shards.paths):
                if path.stat().st_size == 0 or (shards.fmt == "parquet" and not _parquet_rows(path)):
                    continue
                # Through Dask, not by path: workers on other machines need not share this disk.
                # Each shard goes where place_shards balanced the work: a worker does not take
                # work from another on its own when the data it would need is large.
                where = place.get(shard)
                payloads += client.scatter([path.read_bytes()], workers=where, hash=False)
                loaded[shard] = client.submit(
                    load_shard,
                    shards.fmt,
                    payloads[-1],
                    self.max_block_size,
                    self.model.needs_embeddings,
                    workers=where,
                    pure=False,
                )
            statistics = {
                client.submit(shard_statistics, f, workers=place.get(shard), pure=False): shard
                for shard, f in loaded.items()
            }
            merger = StatisticsMerger()
            for future, stats in as_completed(list(statistics), with_results=True):
                merger.add(statistics[future], stats)
            del payloads, statistics  # every shard is loaded: the raw bytes may go
            log.info("%d shards loaded and counted in %.1f s", len(loaded), _since(started))
            started = time.perf_counter()
            corpus, key_ids = merger.finish(dict(self.model.text_prior))
            [model] = client.scatter([self.model], broadcast=True, hash=False)
            [corpus_future] = client.scatter([corpus], broadcast=True, hash=False)
            for shard, future in loaded.items():
                tables[shard] = client.submit(
                    shard_table, future, corpus_future, key_ids[shard], workers=place.get(shard), pure=False
                )
            groups = block_groups(merger.block_sizes, workers * SHARDS_PER_WORKER)
            remaining = Counter(shard for shard, _ in groups)
            for rank, (shard, blocks) in enumerate(groups):
                future = client.submit(
                    cluster_blocks,
                    loaded[shard],
                    tables[shard],
                    model,
                    blocks,
                    priority=len(groups) - rank,
                    workers=place.get(shard),
                    allow_other_workers=True,
                    pure=False,
                )
                pending[future] = (shard, sum(merger.block_sizes[shard][b] for b in blocks))
            for future, part in as_completed(list(pending), with_results=True):
                shard, count = pending.pop(future)
                for row, mention_id, identity, confidence in zip(
                    part.rows.tolist(), part.mention_ids, part.identity_ids, part.confidence
                ):
                    result[row] = Assignment(mention_id, identity, confidence)
                remaining[shard] -= 1
                if not remaining[shard]:
                    del loaded[shard], tables[shard]
                if progress is not None:
                    progress(count)
            log.info("%d tasks of blocks clustered in %.1f s", len(groups), _since(started))
        finally:
            client.cancel([*loaded.values(), *tables.values(), *pending])
        missing = [i for i, a in enumerate(result) if a is None]
        if missing:
            raise RuntimeError(f"{len(missing)} mentions got no identity (first: row {missing[0]})")
        return [a for a in result if a is not None]


def _since(started: float) -> float:
    return time.perf_counter() - started


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    rows: int = pq.ParquetFile(str(path)).metadata.num_rows
    return rows


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A client of the scheduler at `scheduler`, else of a LocalCluster of `workers` processes
    (one thread each), closed on exit."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise DaskUnavailableError("dask.distributed") from exc
    # Dask logs every connection it opens and closes at INFO, and the traceback of a comm closed
    # on shutdown as well: the user asked for clustering, not for that.
    dask_log = logging.getLogger("distributed")
    level = dask_log.level
    dask_log.setLevel(max(level, logging.WARNING))
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError) as exc:
                raise ServiceError(f"Dask scheduler {scheduler}: {exc}") from exc
            with client:
                yield client
            return
        # Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which makes glibc hand freed
        # memory back at once: every feature slab is then page-faulted in anew (20 times the
        # page faults, a third more CPU here). The workers get glibc's own adaptive default.
        with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
            cluster = LocalCluster(
                n_workers=workers or DEFAULT_WORKERS,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # a free port: never clash with another cluster on 8787
                silence_logs=logging.ERROR,
            )
        with cluster, Client(cluster) as client:
            yield client
    finally:
        dask_log.setLevel(level)
