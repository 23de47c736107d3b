"""Stored mentions of a name block, parsed and hashed once per process.

A stored record never changes, so what parsing and hashing make of it can be kept: each
resolution reads only the block's (mention id, identity id) rows, and the records of mentions
this process has not seen yet. The owners are read every time, since curation and re-clustering
move mentions between identities, also from other replicas.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from disambig.corpus import MentionParts, mention_parts
from disambig.mention import Mention, mention_from_record
from disambig.names import parse_name
from disambig.registry.store import BlockSession

DEFAULT_CAPACITY = 200_000  # mentions; about 1-2 KB each


@dataclass(frozen=True)
class StoredBlock:
    mentions: list[Mention]
    parts: list[MentionParts]
    owners: list[str]


class StoredMentions:
    """A bounded, thread-safe LRU of parsed stored mentions by id."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[Mention, MentionParts]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, session: BlockSession, block_key: str) -> StoredBlock:
        rows = session.block_owners(block_key)
        ids = [mention_id for mention_id, _ in rows]
        found = self._get(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            records = session.records(missing)
            fresh = [mention_from_record(dict(records[i]), f"registry {i}", default_id=i) for i in missing]
            loaded = dict(zip(missing, zip(fresh, parts_of(fresh), strict=True), strict=True))
            self._put(loaded)
            found.update(loaded)
        return StoredBlock(
            mentions=[found[i][0] for i in ids],
            parts=[found[i][1] for i in ids],
            owners=[identity for _, identity in rows],
        )

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
