"""Stored mentions of a name block, parsed, hashed and weighted once per process.

A stored record never changes, so what parsing and hashing make of it can be kept: each
resolution reads only the block's (mention id, identity id) rows, and the records of mentions
this process has not seen yet. The owners are read every time, since curation and re-clustering
move mentions between identities, also from other replicas.

A block's table is kept too, with the weights (IDF) it was built with; mentions stored since are
appended with those weights, and the table is rebuilt once they are more than REWEIGHT_SHARE of
it, so weights never drift far from the block's own counts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from disambig.corpus import MentionParts, MentionTable, TableWeights, mention_parts, stack_tables
from disambig.mention import Mention, mention_from_record
from disambig.names import parse_name
from disambig.registry.store import BlockSession
from disambig.text import DocumentFrequencies

DEFAULT_CAPACITY = 200_000  # mentions; about 1-2 KB each, and as much again in block tables
REWEIGHT_SHARE = 0.1


@dataclass(frozen=True)
class StoredBlock:
    """A block's stored mentions in table row order, with their owners and table."""

    mentions: list[Mention]
    parts: list[MentionParts]
    owners: list[str]
    table: MentionTable
    weights: TableWeights


@dataclass(frozen=True)
class _BlockTable:
    ids: tuple[str, ...]
    table: MentionTable
    weights: TableWeights


class StoredMentions:
    """A bounded, thread-safe LRU of parsed stored mentions by id."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[Mention, MentionParts]] = OrderedDict()
        self._tables: OrderedDict[str, _BlockTable] = OrderedDict()
        self._lock = threading.Lock()

    def load(
        self, session: BlockSession, block_key: str, text_prior: Mapping[str, DocumentFrequencies] | None = None
    ) -> StoredBlock:
        """The block as stored now; call under the block's lock (Registry.locked_blocks)."""
        owner_of = dict(session.block_owners(block_key))
        with self._lock:
            cached = self._tables.pop(block_key, None)
        cached_ids = set(cached.ids) if cached is not None else set()
        extra = [i for i in owner_of if i not in cached_ids]
        if (
            cached is None
            or len(extra) > REWEIGHT_SHARE * len(cached.ids)
            or len(cached.ids) + len(extra) != len(owner_of)
        ):
            ids = list(owner_of)
            found = self._mentions(session, ids)
            parts = [found[i][1] for i in ids]
            weights = TableWeights.fit(parts, text_prior)
            entry = _BlockTable(tuple(ids), weights.rows(parts), weights)
        else:
            found = self._mentions(session, [*cached.ids, *extra])
            table = cached.table
            if extra:
                table = stack_tables(table, cached.weights.rows([found[i][1] for i in extra]))
            entry = _BlockTable((*cached.ids, *extra), table, cached.weights)
        with self._lock:
            self._tables[block_key] = entry
            while sum(len(t.ids) for t in self._tables.values()) > self.capacity:
                self._tables.popitem(last=False)
        return StoredBlock(
            mentions=[found[i][0] for i in entry.ids],
            parts=[found[i][1] for i in entry.ids],
            owners=[owner_of[i] for i in entry.ids],
            table=entry.table,
            weights=entry.weights,
        )

    def _mentions(self, session: BlockSession, ids: Sequence[str]) -> dict[str, tuple[Mention, MentionParts]]:
        found = self._get(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            records = session.records(missing)
            fresh = [mention_from_record(dict(records[i]), f"registry {i}", default_id=i) for i in missing]
            loaded = dict(zip(missing, zip(fresh, parts_of(fresh), strict=True), strict=True))
            self._put(loaded)
            found.update(loaded)
        return found

    def _get(self, ids: Sequence[str]) -> dict[str, tuple[Mention, MentionParts]]:
        with self._lock:
            found = {i: self._items[i] for i in ids if i in self._items}
            for i in found:
                self._items.move_to_end(i)
        return found

    def _put(self, items: dict[str, tuple[Mention, MentionParts]]) -> None:
        with self._lock:
            self._items.update(items)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


def parts_of(mentions: Sequence[Mention]) -> list[MentionParts]:
    return mention_parts(mentions, [parse_name(m.name) for m in mentions])
