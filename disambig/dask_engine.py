"""Clustering on a Dask cluster (dask.distributed): the same model, the same identities as Engine.

The in-process engine sees the whole corpus at once; here no process does. Three things the
engine computes over the whole corpus must therefore be computed corpus-wide before any block is
clustered, or the identities would differ:

- the word order of "Wang Wei" names: the corpus's unambiguous names vote (resolve_name_order);
- the document frequencies of the text fields, which weight every text cosine (IDF = corpus
  counts + the model's prior);
- the coauthor vocabulary and its document frequencies, which weight the coauthor cosine. Column
  ids follow first appearance in the corpus, as in disambig.corpus, so a shard's table rows are
  the very rows of the in-process table: the scores are equal to the last bit, not just close.

The run:
1. The driver streams the mentions once into shard files on local disk (JSONL or Parquet),
   partitioned by a hash of the block key, so every block lies whole in one shard, and counts
   the votes on word order. Names whose word order is ambiguous wait in a spool until the votes
   of the whole corpus are in.
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
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import orjson
from threadpoolctl import threadpool_limits

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE, Block, make_blocks
from disambig.corpus import TEXT_FIELDS, MentionParts, MentionTable, binary_rows, mention_parts
from disambig.engine import Assignment, cluster_table, identity_id_for
from disambig.errors import DisambigError, ServiceError
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.names import ParsedName, parse_name, swapped
from disambig.text import N_FEATURES, DocumentFrequencies, smoothed_idf, weighted_unit_rows

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

SHARD_FORMATS = ("jsonl", "parquet")
DEFAULT_WORKERS = 2
SHARDS_PER_WORKER = 8  # more shards than workers, so one slow shard does not hold the run up
PARQUET_ROW_GROUP = 5_000
CONNECT_SECONDS = 10
_POSITION_BITS = 16  # a coauthor's position in its list (< MAX_LIST_ITEMS = 20,000 < 2**16)


class DaskUnavailableError(DisambigError):
    """--engine dask without dask installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"--engine dask needs {what}: pip install 'disambig[dask]'")


# --- shards on the driver's disk ----------------------------------------------------------------


def shard_of(block_key: str, shards: int) -> int:
    """Which shard holds a block: stable across processes and runs (unlike hash())."""
    return zlib.crc32(block_key.encode("utf-8")) % shards


def _record(mention: Mention, row: int, swap: bool) -> dict[str, Any]:
    return {
        "row": row,
        "swap": swap,
        "mention_id": mention.mention_id,
        "name": mention.name,
        "coauthors": list(mention.coauthors),
        "title": mention.title,
        "abstract": mention.abstract,
        "venue": mention.venue,
        "year": mention.year,
        "affiliations": list(mention.affiliations),
        "topics": list(mention.topics),
        "email": mention.email,
        "orcid": mention.orcid,
        "work_id": mention.work_id,
    }


def _mention(record: dict[str, Any]) -> Mention:
    """The Mention a shard record was written from (already validated by the reader)."""
    return Mention(
        mention_id=record["mention_id"],
        name=record["name"],
        coauthors=tuple(record["coauthors"] or ()),
        title=record["title"],
        abstract=record["abstract"],
        venue=record["venue"],
        year=record["year"],
        affiliations=tuple(record["affiliations"] or ()),
        topics=tuple(record["topics"] or ()),
        email=record["email"],
        orcid=record["orcid"],
        work_id=record["work_id"],
    )


class _JsonlShards:
    def __init__(self, paths: list[Path]) -> None:
        self.handles: list[IO[bytes]] = [open(p, "wb") for p in paths]  # noqa: SIM115 (closed in close())

    def write(self, shard: int, record: dict[str, Any]) -> None:
        self.handles[shard].write(orjson.dumps(record) + b"\n")

    def close(self) -> None:
        for handle in self.handles:
            handle.close()


def _parquet_schema() -> Any:
    import pyarrow as pa

    text = pa.string()
    strings = pa.list_(pa.string())
    return pa.schema(
        [
            ("row", pa.int64()),
            ("swap", pa.bool_()),
            ("mention_id", text),
            ("name", text),
            ("coauthors", strings),
            ("title", text),
            ("abstract", text),
            ("venue", text),
            ("year", pa.int64()),
            ("affiliations", strings),
            ("topics", strings),
            ("email", text),
            ("orcid", text),
            ("work_id", text),
        ]
    )


class _ParquetShards:
    def __init__(self, paths: list[Path]) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise DaskUnavailableError("pyarrow for Parquet shards") from exc
        self.schema = _parquet_schema()
        self.writers = [pq.ParquetWriter(str(p), self.schema) for p in paths]
        self.buffers: list[list[dict[str, Any]]] = [[] for _ in paths]

    def write(self, shard: int, record: dict[str, Any]) -> None:
        buffer = self.buffers[shard]
        buffer.append(record)
        if len(buffer) >= PARQUET_ROW_GROUP:
            self._flush(shard)

    def _flush(self, shard: int) -> None:
        import pyarrow as pa

        if self.buffers[shard]:
            self.writers[shard].write_table(pa.Table.from_pylist(self.buffers[shard], schema=self.schema))
            self.buffers[shard] = []

    def close(self) -> None:
        for shard, writer in enumerate(self.writers):
            self._flush(shard)
            writer.close()


def read_shard(fmt: str, payload: bytes) -> list[dict[str, Any]]:
    """The records of one shard file's bytes."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        records: list[dict[str, Any]] = pq.read_table(pa.BufferReader(payload)).to_pylist()
        return records
    return [orjson.loads(line) for line in payload.splitlines() if line]


@dataclass(frozen=True)
class ShardSet:
    """A corpus written as shards: every block whole in one file, rows numbered in input order."""

    paths: list[Path]
    fmt: str
    mentions: int
    work: list[int]  # per shard: sum of n (n + 1) / 2 over its name blocks, the pairs to score


def write_shards(mentions: Iterable[Mention], directory: Path, shards: int, fmt: str = "jsonl") -> ShardSet:
    """Stream mentions into `shards` files partitioned by block key (one pass, bounded memory).

    The block key of a two-word name with no comma ("Wang Wei") depends on the votes of the
    whole corpus, as in resolve_name_order: such mentions wait in a spool file until the end.
    """
    if fmt not in SHARD_FORMATS:
        raise ValueError(f"unknown shard format {fmt!r}; expected one of {', '.join(SHARD_FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"shard-{i:05d}.{fmt}" for i in range(shards)]
    writer: _JsonlShards | _ParquetShards = _JsonlShards(paths) if fmt == "jsonl" else _ParquetShards(paths)
    spool_path = directory / "ambiguous-order.jsonl"
    unambiguous: Counter[str] = Counter()
    every: Counter[str] = Counter()
    names: dict[str, ParsedName] = {}  # names repeat (Zipf): parse each spelling once
    block_sizes: Counter[str] = Counter()
    work = [0] * shards
    rows = 0

    def write(key: str, record: dict[str, Any]) -> None:
        shard = shard_of(key, shards)
        block_sizes[key] += 1
        work[shard] += block_sizes[key]
        writer.write(shard, record)

    try:
        with open(spool_path, "wb") as spool:
            for row, mention in enumerate(mentions):
                rows += 1
                name = names.get(mention.name)
                if name is None:
                    name = names[mention.name] = parse_name(mention.name)
                every[name.surname_key] += 1
                if not name.order_ambiguous:
                    unambiguous[name.surname_key] += 1
                if name.order_ambiguous and name.first:
                    spool.write(orjson.dumps(_record(mention, row, False)) + b"\n")
                else:
                    write(name.block_key, _record(mention, row, False))
        votes = unambiguous or every
        with open(spool_path, "rb") as waiting:
            for line in waiting:
                record = orjson.loads(line)
                name = names.get(record["name"]) or parse_name(record["name"])
                alternative = swapped(name)
                record["swap"] = votes[alternative.surname_key] > votes[name.surname_key]
                write(alternative.block_key if record["swap"] else name.block_key, record)
    finally:
        writer.close()
        spool_path.unlink(missing_ok=True)
    return ShardSet(paths, fmt, rows, work)


# --- on the workers ----------------------------------------------------------------------------


@dataclass
class LoadedShard:
    """One shard parsed and hashed, kept in a worker's memory between the two rounds."""

    rows: np.ndarray  # global row of each local row, ascending
    mention_ids: list[str]
    parts: list[MentionParts]  # names resolved by the corpus's votes, texts hashed, coauthor keys
    coauthor_rows: list[list[int]]  # per row: local ids of its coauthor keys, in order
    full_rows: list[list[int]]  # per row: local ids of its full coauthor keys
    full_width: int
    keys: list[str]  # local coauthor key id -> key
    key_counts: np.ndarray  # int64: rows of this shard listing each key
    key_first: np.ndarray  # int64: (row << 16 | position) of each key's first appearance
    blocks: list[Block]  # local rows; rows are in input order, so blocks form (and split) as in the corpus


@dataclass(frozen=True)
class ShardStatistics:
    """What one shard contributes to the corpus-wide statistics."""

    rows: int
    terms: dict[str, tuple[np.ndarray, np.ndarray]]  # field -> (hashed term ids, document counts)
    keys: list[str]
    key_counts: np.ndarray
    key_first: np.ndarray
    block_sizes: list[int]


@dataclass(frozen=True)
class CorpusStatistics:
    """Corpus-wide weights every shard's table is built with, exactly as build_table's."""

    text_idf: dict[str, np.ndarray]
    coauthor_idf: np.ndarray
    coauthor_width: int


@dataclass(frozen=True)
class ShardResult:
    rows: np.ndarray
    mention_ids: list[str]
    identity_ids: list[str]
    confidence: list[float]


def load_shard(fmt: str, payload: bytes, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> LoadedShard:
    """Parse a shard, resolve its names, hash its texts and list its coauthor keys."""
    records = sorted(read_shard(fmt, payload), key=lambda r: int(r["row"]))
    mentions = [_mention(r) for r in records]
    names = [swapped(parse_name(m.name)) if r["swap"] else parse_name(m.name) for r, m in zip(records, mentions)]
    rows = np.array([int(r["row"]) for r in records], dtype=np.int64)
    with threadpool_limits(1):
        parts = mention_parts(mentions, names)
    # Local ids here; the driver maps them to the corpus's ids, which follow first appearance
    # (row, then position in the row's keys) as the in-process vocabulary's do.
    vocabulary: dict[str, int] = {}
    full_vocabulary: dict[str, int] = {}
    counts: list[int] = []
    firsts: list[int] = []
    coauthor_rows: list[list[int]] = []
    for row, part in zip(rows.tolist(), parts):
        local: list[int] = []
        for position, key in enumerate(part.coauthor_keys):  # distinct within a row
            column = vocabulary.get(key)
            if column is None:
                column = vocabulary[key] = len(vocabulary)
                counts.append(0)
                firsts.append((row << _POSITION_BITS) | position)
            counts[column] += 1
            local.append(column)
        coauthor_rows.append(local)
    full_rows = [[full_vocabulary.setdefault(k, len(full_vocabulary)) for k in p.full_coauthor_keys] for p in parts]
    return LoadedShard(
        rows=rows,
        mention_ids=[m.mention_id for m in mentions],
        parts=parts,
        coauthor_rows=coauthor_rows,
        full_rows=full_rows,
        full_width=len(full_vocabulary),
        keys=list(vocabulary),
        key_counts=np.asarray(counts, dtype=np.int64),
        key_first=np.asarray(firsts, dtype=np.int64),
        blocks=make_blocks(names, max_block_size),
    )


def shard_statistics(shard: LoadedShard) -> ShardStatistics:
    terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, field in enumerate(TEXT_FIELDS):
        present_terms = [p.terms[k] for p in shard.parts]
        counts = np.bincount(np.concatenate(present_terms) if present_terms else [], minlength=N_FEATURES)
        present = np.flatnonzero(counts)
        terms[field] = (present.astype(np.int32), counts[present])
    sizes = [len(b.rows) for b in shard.blocks]
    return ShardStatistics(len(shard.rows), terms, shard.keys, shard.key_counts, shard.key_first, sizes)


def shard_table(shard: LoadedShard, corpus: CorpusStatistics, key_ids: np.ndarray) -> MentionTable:
    """The shard's rows of the table disambig.corpus.build_table makes of the whole corpus."""
    parts = shard.parts
    with threadpool_limits(1):
        text = {
            field: weighted_unit_rows(binary_rows([p.terms[k] for p in parts], N_FEATURES), corpus.text_idf[field])
            for k, field in enumerate(TEXT_FIELDS)
        }
        ids = key_ids.tolist()
        coauthors = binary_rows([[ids[c] for c in row] for row in shard.coauthor_rows], corpus.coauthor_width)
        weighted = weighted_unit_rows(coauthors, corpus.coauthor_idf)
    return MentionTable(
        names=[p.name for p in parts],
        text=text,
        coauthors=coauthors,
        coauthors_full=binary_rows(shard.full_rows, shard.full_width),
        coauthor_weighted=weighted,
        coauthor_labels=[p.coauthor_labels for p in parts],
        years=np.array([p.year for p in parts], dtype=np.float32),
        emails=np.array([p.email for p in parts], dtype=object),
        orcids=np.array([p.orcid for p in parts], dtype=object),
    )


def cluster_blocks(shard: LoadedShard, table: MentionTable, model: PairwiseModel, blocks: Sequence[int]) -> ShardResult:
    """Cluster some blocks of a shard, as Engine.cluster does each block of the corpus."""
    rows: list[int] = []
    mention_ids: list[str] = []
    identity_ids: list[str] = []
    confidence: list[float] = []
    with threadpool_limits(1):  # one core per worker: OpenMP threads on top only fight for it
        for index in blocks:
            block = shard.blocks[index]
            labels, block_confidence = cluster_table(model, table.take(block.rows))
            for label in np.unique(labels):
                members = np.flatnonzero(labels == label)
                identity = identity_id_for([shard.mention_ids[int(block.rows[m])] for m in members])
                for m in members:
                    local = int(block.rows[m])
                    rows.append(int(shard.rows[local]))
                    mention_ids.append(shard.mention_ids[local])
                    identity_ids.append(identity)
                    confidence.append(round(float(block_confidence[m]), 4))
    return ShardResult(np.asarray(rows, dtype=np.int64), mention_ids, identity_ids, confidence)


def _work(size: int) -> int:
    return size * (size - 1) // 2 + size


def block_groups(block_sizes: dict[int, list[int]], parts: int) -> list[tuple[int, list[int]]]:
    """(shard, blocks) tasks of similar pairwise work, heaviest first so no worker idles at the
    end (as engine._tasks groups blocks for the process pool)."""
    total = sum(_work(n) for sizes in block_sizes.values() for n in sizes)
    target = max(total // max(parts, 1), 10_000)
    groups: list[tuple[int, int, list[int]]] = []
    for shard, sizes in block_sizes.items():
        current: list[int] = []
        work = 0
        for index in sorted(range(len(sizes)), key=lambda b: -sizes[b]):
            current.append(index)
            work += _work(sizes[index])
            if work >= target:
                groups.append((work, shard, current))
                current, work = [], 0
        if current:
            groups.append((work, shard, current))
    groups.sort(key=lambda g: (-g[0], g[1]))
    return [(shard, blocks) for _, shard, blocks in groups]


# --- the driver --------------------------------------------------------------------------------


class _StatisticsMerger:
    """Sums shard statistics into CorpusStatistics, and maps each shard's keys to corpus ids."""

    def __init__(self) -> None:
        self.rows = 0
        self.terms = {f: np.zeros(N_FEATURES, dtype=np.int64) for f in TEXT_FIELDS}
        self.key_index: dict[str, int] = {}
        self.key_counts: list[int] = []
        self.key_first: list[int] = []
        self.shard_keys: dict[int, np.ndarray] = {}  # shard -> merged index of each local key
        self.block_sizes: dict[int, list[int]] = {}

    def add(self, shard: int, stats: ShardStatistics) -> None:
        self.rows += stats.rows
        for field, (present, counts) in stats.terms.items():
            self.terms[field][present] += counts
        indices = np.empty(len(stats.keys), dtype=np.int64)
        for local, (key, count, first) in enumerate(
            zip(stats.keys, stats.key_counts.tolist(), stats.key_first.tolist())
        ):
            index = self.key_index.get(key)
            if index is None:
                index = self.key_index[key] = len(self.key_counts)
                self.key_counts.append(count)
                self.key_first.append(first)
            else:
                self.key_counts[index] += count
                self.key_first[index] = min(self.key_first[index], first)
            indices[local] = index
        self.shard_keys[shard] = indices
        self.block_sizes[shard] = stats.block_sizes

    def finish(self, text_prior: dict[str, DocumentFrequencies]) -> tuple[CorpusStatistics, dict[int, np.ndarray]]:
        text_idf = {}
        for field in TEXT_FIELDS:
            frequencies = DocumentFrequencies(self.rows, self.terms[field].astype(np.float32))
            if text_prior and field in text_prior:
                frequencies = frequencies + text_prior[field]
            text_idf[field] = frequencies.idf()
        # Corpus ids follow first appearance (row, then position in the coauthor list), as the
        # in-process vocabulary does; counts and IDF are computed as there, over the same array.
        width = max(len(self.key_counts), 1)
        order = np.argsort(np.asarray(self.key_first, dtype=np.int64), kind="stable")
        corpus_id = np.empty(len(order), dtype=np.int64)
        corpus_id[order] = np.arange(len(order), dtype=np.int64)
        counts = np.zeros(width, dtype=np.int64)
        counts[corpus_id] = np.asarray(self.key_counts, dtype=np.int64)
        idf = smoothed_idf(self.rows, counts.astype(np.float32))
        key_ids = {shard: corpus_id[indices] for shard, indices in self.shard_keys.items()}
        return CorpusStatistics(text_idf, idf, width), key_ids


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
                    load_shard, shards.fmt, payloads[-1], self.max_block_size, workers=where, pure=False
                )
            statistics = {
                client.submit(shard_statistics, f, workers=place.get(shard), pure=False): shard
                for shard, f in loaded.items()
            }
            merger = _StatisticsMerger()
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
