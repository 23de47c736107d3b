"""Shards: a corpus too large for one process, partitioned by name block, with the corpus-wide
statistics that make each shard's blocks score exactly as in one table of the whole corpus.

Both batch engines that never hold the whole corpus use this module: the local one
(disambig.streaming, a process pool on this machine) and the Dask one (disambig.dask_engine).
disambig.engine.Engine sees the whole corpus at once; they do not. Three things Engine computes
over the whole corpus must therefore be computed corpus-wide before any block is clustered, or
the identities would differ:

- the word order of "Wang Wei" and "GUPTA AJAY K." names, and the two-word surname of "José
  García Márquez": the corpus's unambiguous names, its coauthors' too, vote (resolve_name_order);
- the document frequencies of the text fields, which weight every text cosine (IDF = corpus
  counts + the model's prior);
- the coauthor vocabulary and its document frequencies, which weight the coauthor cosine. Column
  ids follow first appearance in the corpus, as in disambig.corpus, so a shard's table rows are
  the very rows of the in-process table: the scores are equal to the last bit, not just close.

The steps:
1. write_shards streams the mentions once into shard files, partitioned by a hash of the block
   key, so every block lies whole in one shard, and counts the votes on word order. Names whose
   word order is ambiguous wait in a spool until the votes of the whole corpus are in.
2. Each shard is parsed and hashed (load_shard) and reports its statistics (shard_statistics);
   a StatisticsMerger sums them into CorpusStatistics and maps each shard's coauthor keys to
   corpus ids.
3. The blocks of each shard are clustered (shard_table, then cluster_blocks) with those
   statistics and the model, giving (mention id, identity id, confidence) per row.
"""

from __future__ import annotations

import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from disambig.blocking import DEFAULT_MAX_BLOCK_SIZE, Block, CorpusVotes, make_blocks
from disambig.coauthors import coauthor_names
from disambig.corpus import TEXT_FIELDS, MentionTable, binary_rows, mention_parts, part_embeddings
from disambig.engine import cluster_tables, identity_id_for
from disambig.errors import DisambigError
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.names import ParsedName, parse_name, swapped
from disambig.text import N_FEATURES, DocumentFrequencies, smoothed_idf, weighted_unit_rows

SHARD_FORMATS = ("jsonl", "parquet")
PARQUET_ROW_GROUP = 5_000
_POSITION_BITS = 16  # a coauthor's position in its list (< MAX_LIST_ITEMS = 20,000 < 2**16)


class DaskUnavailableError(DisambigError):
    """--engine dask (or its Parquet shards) without the disambig[dask] extra installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"--engine dask needs {what}: pip install 'disambig[dask]'")


# --- shards on disk ----------------------------------------------------------------------------


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


def record_mention(record: dict[str, Any]) -> Mention:
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
    row_shards: np.ndarray  # uint16: the shard of every row, in input order


def write_shards(mentions: Iterable[Mention], directory: Path, shards: int, fmt: str = "jsonl") -> ShardSet:
    """Stream mentions into `shards` files partitioned by block key (one pass, bounded memory).

    The block key of a name whose word order is ambiguous ("Wang Wei", "GUPTA AJAY K.") or that
    may have a two-word surname ("José García Márquez") depends on the votes of the whole corpus,
    as in resolve_name_order: such mentions wait in a spool file until the end.
    """
    if fmt not in SHARD_FORMATS:
        raise ValueError(f"unknown shard format {fmt!r}; expected one of {', '.join(SHARD_FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"shard-{i:05d}.{fmt}" for i in range(shards)]
    writer: _JsonlShards | _ParquetShards = _JsonlShards(paths) if fmt == "jsonl" else _ParquetShards(paths)
    spool_path = directory / "ambiguous-order.jsonl"
    votes = CorpusVotes()  # as blocking.resolve_name_order counts them
    names: dict[str, ParsedName] = {}  # names repeat (Zipf): parse each spelling once
    block_sizes: Counter[str] = Counter()
    work = [0] * shards
    row_shards = array("H")
    rows = 0

    def write(key: str, record: dict[str, Any]) -> int:
        shard = shard_of(key, shards)
        block_sizes[key] += 1
        work[shard] += block_sizes[key]
        writer.write(shard, record)
        return shard

    try:
        with open(spool_path, "wb") as spool:
            for row, mention in enumerate(mentions):
                rows += 1
                name = names.get(mention.name)
                if name is None:
                    name = names[mention.name] = parse_name(mention.name)
                votes.see(name, coauthor_names(mention.coauthors))
                if votes.undecided(name):
                    spool.write(orjson.dumps(_record(mention, row, False)) + b"\n")
                    row_shards.append(0)  # known once the votes are in
                else:
                    row_shards.append(write(name.block_key, _record(mention, row, False)))
        with open(spool_path, "rb") as waiting:
            for line in waiting:
                record = orjson.loads(line)
                name = names.get(record["name"]) or parse_name(record["name"])
                reading = votes.reading(name)
                record["swap"] = reading is not name  # read as swapped(name)
                row_shards[record["row"]] = write(reading.block_key, record)
    finally:
        writer.close()
        spool_path.unlink(missing_ok=True)
    return ShardSet(paths, fmt, rows, work, np.frombuffer(row_shards, dtype=np.uint16))


# --- per shard -----------------------------------------------------------------------------------


@dataclass
class LoadedShard:
    """One shard parsed and hashed: what its table is made of once the corpus-wide statistics
    are known. Plain arrays and lists, so it pickles quickly (the parts of disambig.corpus, one
    small array per row and field, took longer to pickle than to compute)."""

    rows: np.ndarray  # global row of each local row, ascending
    mention_ids: list[str]
    names: list[ParsedName]  # resolved by the corpus's votes on word order
    terms: dict[str, sp.csr_matrix]  # per text field: binary rows of hashed terms
    coauthor_rows: sp.csr_matrix  # binary rows of local coauthor key ids, each row's keys in order
    full_rows: sp.csr_matrix  # binary rows of local full coauthor key ids
    coauthor_labels: list[tuple[str, ...]]
    years: np.ndarray  # float32, NaN = unknown
    emails: np.ndarray
    orcids: np.ndarray
    works: np.ndarray
    keys: list[str]  # local coauthor key id -> key
    key_counts: np.ndarray  # int64: rows of this shard listing each key
    key_first: np.ndarray  # int64: (row << 16 | position) of each key's first appearance
    blocks: list[Block]  # local rows; rows are in input order, so blocks form (and split) as in the corpus
    embeddings: np.ndarray | None = None  # sentence embeddings, for a model with them (disambig.embeddings)


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


def load_shard(
    fmt: str, payload: bytes, max_block_size: int = DEFAULT_MAX_BLOCK_SIZE, embed: bool = False
) -> LoadedShard:
    """Parse a shard, resolve its names, hash its texts and list its coauthor keys (and, with
    `embed`, compute the sentence embeddings of its texts)."""
    return parse_shard(sorted_records(fmt, payload), max_block_size, embed)


def sorted_records(fmt: str, payload: bytes) -> list[dict[str, Any]]:
    """The records of a shard file's bytes, in input order."""
    return sorted(read_shard(fmt, payload), key=lambda r: int(r["row"]))


def parse_shard(
    records: Sequence[dict[str, Any]], max_block_size: int = DEFAULT_MAX_BLOCK_SIZE, embed: bool = False
) -> LoadedShard:
    """load_shard of records already read and sorted by row."""
    mentions = [record_mention(r) for r in records]
    names = [swapped(parse_name(m.name)) if r["swap"] else parse_name(m.name) for r, m in zip(records, mentions)]
    rows = np.array([int(r["row"]) for r in records], dtype=np.int64)
    with threadpool_limits(1):
        parts = mention_parts(mentions, names, embed=embed)
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
        names=[p.name for p in parts],
        terms={field: binary_rows([p.terms[k] for p in parts], N_FEATURES) for k, field in enumerate(TEXT_FIELDS)},
        coauthor_rows=binary_rows(coauthor_rows, len(vocabulary)),
        full_rows=binary_rows(full_rows, len(full_vocabulary)),
        coauthor_labels=[p.coauthor_labels for p in parts],
        years=np.array([p.year for p in parts], dtype=np.float32),
        emails=np.array([p.email for p in parts], dtype=object),
        orcids=np.array([p.orcid for p in parts], dtype=object),
        works=np.array([p.work_id for p in parts], dtype=object),
        keys=list(vocabulary),
        key_counts=np.asarray(counts, dtype=np.int64),
        key_first=np.asarray(firsts, dtype=np.int64),
        blocks=make_blocks(names, max_block_size),
        embeddings=part_embeddings(parts),
    )


def shard_statistics(shard: LoadedShard) -> ShardStatistics:
    terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for field, matrix in shard.terms.items():
        counts = np.bincount(matrix.indices, minlength=N_FEATURES)
        present = np.flatnonzero(counts)
        terms[field] = (present.astype(np.int32), counts[present])
    sizes = [len(b.rows) for b in shard.blocks]
    return ShardStatistics(len(shard.rows), terms, shard.keys, shard.key_counts, shard.key_first, sizes)


def shard_table(shard: LoadedShard, corpus: CorpusStatistics, key_ids: np.ndarray) -> MentionTable:
    """The shard's rows of the table disambig.corpus.build_table makes of the whole corpus."""
    local = shard.coauthor_rows
    # Corpus ids in place of local ones, each row's keys in the same order.
    coauthors = sp.csr_matrix(
        (local.data, key_ids[local.indices].astype(local.indices.dtype), local.indptr),
        shape=(local.shape[0], max(corpus.coauthor_width, 1)),
    )
    with threadpool_limits(1):
        text = {field: weighted_unit_rows(shard.terms[field], corpus.text_idf[field]) for field in TEXT_FIELDS}
        weighted = weighted_unit_rows(coauthors, corpus.coauthor_idf)
    return MentionTable(
        names=shard.names,
        text=text,
        coauthors=coauthors,
        coauthors_full=shard.full_rows,
        coauthor_weighted=weighted,
        coauthor_labels=shard.coauthor_labels,
        years=shard.years,
        emails=shard.emails,
        orcids=shard.orcids,
        works=shard.works,
        embeddings=shard.embeddings,
    )


def cluster_blocks(shard: LoadedShard, table: MentionTable, model: PairwiseModel, blocks: Sequence[int]) -> ShardResult:
    """Cluster some blocks of a shard, as Engine.cluster does each block of the corpus."""
    rows: list[int] = []
    mention_ids: list[str] = []
    identity_ids: list[str] = []
    confidence: list[float] = []
    with threadpool_limits(1):  # one core per worker: OpenMP threads on top only fight for it
        tables = (table.take(shard.blocks[index].rows, compact=True) for index in blocks)
        for index, (labels, block_confidence) in zip(blocks, cluster_tables(model, tables), strict=True):
            block = shard.blocks[index]
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


# --- corpus-wide -----------------------------------------------------------------------------------


class StatisticsMerger:
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
