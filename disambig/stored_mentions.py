"""Stored mentions of a name block, parsed, hashed, weighted and indexed once per process.

A stored record never changes, so what parsing and hashing make of it can be kept, and so can a
block's table, with the weights (IDF) it was built with and its scoring index
(`block_scoring.BlockIndex`). Each load brings a cached block up to date with the registry
without reading the whole block again:

- the change feed since the previous load (of any block) tells whether mentions moved between
  identities (a merge, a split, a re-clustering; also by another replica or process). Only those
  move a stored mention: then every cached block reads its owners again when next loaded.
- otherwise only the block's mentions linked since its previous load are read (a mention is
  never deleted, and is linked once); not even those when every change since was a link this
  process wrote itself (`note_own_links`), which it knows without asking.

A block's rows are in link order, and its weights (IDF) are fitted to its first mentions in that
order: as many as the last step of a ladder (`weights_ladder`) its size has reached. Mentions new
at a load are appended to the table with its weights, until the block reaches the next step: then
the weights are refitted and the table reweighted. So the weights a decision sees depend on what the
registry holds, never on which loads a process happened to make: a server restarted mid-stream,
or a second replica, decides exactly as one that had cached the block all along.
A mention this process has just resolved and stored is not read back: its parsed form and its
table row (made with the block's weights while scoring it) are kept (`remember`).
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType
from typing import Any, NamedTuple

from disambig.block_scoring import BlockIndex, IdentityCodes
from disambig.corpus import MentionParts, MentionTable, TableWeights, mention_parts, reweighted, stack_tables
from disambig.mention import Mention, mention_from_record
from disambig.names import parse_name
from disambig.registry.store import LINKING_CHANGES, BlockSession, Stored
from disambig.text import DocumentFrequencies

DEFAULT_CAPACITY = 200_000  # mentions; about 4 KB each with their block tables and indexes (measured)
REFIT_EVERY = 10  # a block's weights are refitted each time it grows by a tenth
KEPT_ROWS = 1_024  # just-resolved mentions kept for their block's next load (one block's newest, mostly)
OWN_LINKS_KEPT = 16_384  # own links remembered for the delta reads they save (a few MB at most)


class FeedPosition(NamedTuple):
    seq: int  # every change up to this one was read
    moved: int  # the last change read that moved stored mentions between identities


@dataclass(frozen=True)
class StoredBlock:
    """A block's stored mentions in table row order, with their owners, table and index."""

    mentions: list[Mention]
    parts: list[MentionParts]
    owners: list[str]
    table: MentionTable
    weights: TableWeights
    index: BlockIndex
    codes: IdentityCodes


@dataclass(frozen=True)
class _BlockTable(StoredBlock):
    """A cached block: its rows' mention ids, and how far the feed was followed for it."""

    ids: list[str]
    row_of: dict[str, int]
    seq: int  # every mention of the block linked up to this change is in the table
    owners_seq: int  # the owners were read whole at this point of the feed
    refit_at: int  # the size at which its weights are next refitted


class _TableCache:
    """Block tables, least recently kept first, counting the mentions they hold: the capacity
    check runs on every load, and summing hundreds of blocks each time was a visible cost."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, _BlockTable] = OrderedDict()
        self.mentions = 0

    def get(self, key: str) -> _BlockTable | None:
        return self._entries.get(key)

    def put(self, key: str, entry: _BlockTable) -> None:
        """Keep the entry as the most recent."""
        self.pop(key)
        self._entries[key] = entry
        self.mentions += len(entry.ids)

    def pop(self, key: str) -> _BlockTable | None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.mentions -= len(entry.ids)
        return entry

    def pop_oldest(self) -> str:
        key, entry = self._entries.popitem(last=False)
        self.mentions -= len(entry.ids)
        return key


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """Some blocks' cached tables at one moment (None: not cached), for `StoredMentions.restore`."""

    tables: Mapping[str, _BlockTable | None]  # read-only


@dataclass(frozen=True, eq=False)
class Computed:
    """A new mention as a resolution made it: parsed, its table row under a block's weights, and
    the block's table with that row stacked on (with its index). Once remembered, only the newest
    mention of a block keeps the block's tables: they are whole copies of the block, and only the
    newest can be the one the next load takes as is."""

    block_key: str
    mention: Mention
    parts: MentionParts
    row: MentionTable
    weights: TableWeights
    before: MentionTable | None
    after: MentionTable | None
    index: BlockIndex | None  # of `after`

    @cached_property
    def faithful(self) -> bool:
        """Whether reading the stored record back gives this very mention (then it need not be)."""
        read_back = mention_from_record(self.mention.to_dict(), "", default_id=self.mention.mention_id, stored=True)
        return read_back == self.mention


class StoredMentions:
    """A bounded, thread-safe cache of parsed stored mentions by id, and of block tables.

    Two ways back, for two cases: a decision dropped unwritten to be made again goes back to the
    tables its loads started from (`checkpoint`, `restore`); after a failure, the blocks concerned
    are dropped and read again whole (`forget`)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, embed: bool = False) -> None:
        self.capacity = capacity
        self.embed = embed  # parts carry sentence embeddings (for a model with them)
        self._items: OrderedDict[str, tuple[Mention, MentionParts]] = OrderedDict()
        self._tables = _TableCache()
        self._rows: dict[str, Computed] = {}  # by mention id: rows of mentions stored since their block's last load
        self._newest: dict[str, str] = {}  # block key -> id of its newest mention in _rows (the one with tables)
        self._lock = threading.Lock()
        self._feed_seq: int | None = None  # the feed is read up to here
        self._moved_seq = -1  # the last change that moved stored mentions between identities
        # This process's own links, so that a block no other writer touched is brought up to
        # date without reading its delta: block key -> [(seq, mention id, owner)], the sequence
        # numbers of every change they made, and how far back the record is complete.
        self._own_links: dict[str, list[tuple[int, str, str]]] = {}
        self._own_count = 0
        self._own_changes: set[int] = set()  # ours, not yet read from the feed
        self._own_since = 0  # every own link after this change is in _own_links
        self._foreign_seq = 0  # the last change read from the feed that was not one of ours
        self._others_wrote = True  # whether the last read of the feed found changes not ours

    def load(
        self,
        session: BlockSession,
        block_key: str,
        text_prior: Mapping[str, DocumentFrequencies] | None = None,
        feed: FeedPosition | None = None,
    ) -> StoredBlock:
        """The block as the session reads it (a resolver decides on it, then checks under the
        feed lock that it has not changed before writing). `feed`: where `follow_feed` just
        read the feed to on this session, for loads of several blocks in a row; else it is read
        now."""
        seq, moved = feed if feed is not None else self.follow_feed(session)
        with self._lock:
            cached = self._tables.pop(block_key)
        if cached is not None and moved <= cached.owners_seq:
            delta = self._own_delta(block_key, cached.seq, seq)
            records: dict[str, Mapping[str, Any]] = {}
            if delta is None:
                rows = session.block_delta(block_key, cached.seq)
                delta = [(i, owner) for i, owner, _ in rows]
                records = {i: record for i, _, record in rows}
            owner_of = {i: owner for i, owner in delta if i not in cached.row_of}
            grown = self._grown(session, cached, owner_of, cached.owners, seq, text_prior, records=records)
            return self._keep(block_key, grown)
        owners = dict(session.block_owners(block_key))
        if cached is not None:
            extra = {i: owner for i, owner in owners.items() if i not in cached.row_of}
            if len(cached.ids) + len(extra) == len(owners):
                refreshed = [owners[i] for i in cached.ids]
                entry = self._grown(session, cached, extra, refreshed, seq, text_prior, owners_seq=seq)
                return self._keep(block_key, entry)
        ids = list(owners)
        found = self._mentions(session, ids)
        with self._lock:
            for i in ids:
                self._rows.pop(i, None)
        mentions, parts = [found[i][0] for i in ids], [found[i][1] for i in ids]
        entry = _built(ids, mentions, parts, [owners[i] for i in ids], text_prior, seq, owners_seq=seq)
        return self._keep(block_key, entry)

    def checkpoint(self, block_keys: Iterable[str]) -> Checkpoint:
        """These blocks' tables as cached now, for `restore`."""
        with self._lock:
            return Checkpoint(MappingProxyType({key: self._tables.get(key) for key in block_keys}))

    def restore(self, checkpoint: Checkpoint) -> None:
        """The blocks' tables back as `checkpoint` took them: the loads made since are undone, for
        a decision dropped unwritten and made again (Resolver._resolve_wave). A block's weights
        depend only on what the registry holds (`weights_ladder`), but its table may not have the
        newest rows: made again from the same tables, a decision sees the loads it would have seen
        had it been made under the lock in the first place.

        Only the tables go back. The feed read meanwhile stays read: it shows committed changes
        only, and a table older than the feed position is still brought up to date by its next
        load (from its own `seq` and `owners_seq`). The rows a load took from `_rows` are not put
        back: the next load makes equal ones from the block's weights."""
        with self._lock:
            for key, entry in checkpoint.tables.items():
                if entry is None:
                    self._tables.pop(key)
                else:
                    self._tables.put(key, entry)

    def forget(self, block_keys: Iterable[str]) -> None:
        """After a failure (a transaction that loaded these blocks rolled back, or `remember` failed
        partway): their tables and the rows kept for their next load are dropped, and each block
        is next read whole, as by a cache starting empty.

        Not `restore`: the cause of a failure is not known and may be in the cache (a table a load
        could not extend); going back to the tables the failed attempt started from would make
        every retry start from them again. Nor does the feed position move: the feed shows
        committed changes only (sequence numbers commit in order) and a transaction writes its own
        after its last load, so what a failed one read of it is true. Reading it again would read
        the same changes; forgetting the position would skip the moves made until the next read,
        and every block still cached would keep owners they changed."""
        keys = set(block_keys)
        with self._lock:
            for key in keys:
                self._tables.pop(key)
            self._rows = {i: c for i, c in self._rows.items() if c.block_key not in keys}

    def remember(self, computed: Iterable[Computed]) -> None:
        """Keep what resolutions made of mentions now stored. Call only once they are committed:
        the next load of their block takes a kept row as the stored mention's, so no mention whose
        transaction rolled back may have one kept."""
        items: dict[str, tuple[Mention, MentionParts]] = {}
        faithful = [c for c in computed if c.faithful]  # reading the record back gives this mention
        with self._lock:
            for c in faithful:
                items[c.mention.mention_id] = (c.mention, c.parts)
                older = self._rows.get(self._newest.get(c.block_key, ""))
                if older is not None and older.block_key == c.block_key:
                    self._rows[older.mention.mention_id] = replace(older, before=None, after=None, index=None)
                self._rows[c.mention.mention_id] = c
                self._newest[c.block_key] = c.mention.mention_id
            while len(self._rows) > KEPT_ROWS:
                self._rows.pop(next(iter(self._rows)))
            if len(self._newest) > 2 * KEPT_ROWS:
                self._newest = {key: i for key, i in self._newest.items() if i in self._rows}
        self._put(items)

    def note_own_links(self, links: Iterable[tuple[str, Stored]]) -> None:
        """Committed links this process wrote, by block key: the feed then shows their changes
        as ours, and a block that only we changed since its last load needs no delta read.
        Noted after the commit, so a load that reads the feed first counts them as another
        writer's and reads the delta, as before."""
        with self._lock:
            for block_key, stored in links:
                if not stored.changes:
                    continue
                # In sequence order (threads may note out of order): a load takes its range by bisection.
                bisect.insort(
                    self._own_links.setdefault(block_key, []),
                    (stored.changes[-1], stored.mention_id, stored.identity_id),
                    key=_seq_of,
                )
                self._own_count += 1
                self._own_changes.update(stored.changes)
                if self._own_count > OWN_LINKS_KEPT:  # start the record again from here
                    self._own_since = max(self._own_since, stored.changes[-1])
                    self._own_links.clear()
                    self._own_count = 0

    def _own_delta(self, block_key: str, after: int, upto: int) -> list[tuple[str, str]] | None:
        """What block_delta(block_key, after) reads, known without reading it if every change
        after `after` read from the feed (up to `upto`) was one of this process's own links;
        else None."""
        with self._lock:
            if after < self._foreign_seq or after < self._own_since:
                return None
            links = self._own_links.get(block_key, [])
            first = bisect.bisect_right(links, after, key=_seq_of)
            last = bisect.bisect_right(links, upto, key=_seq_of)
            # In link order, as block_delta reads them: the rows are appended in this order.
            return [(mid, owner) for _, mid, owner in links[first:last]]

    def _grown(
        self,
        session: BlockSession,
        cached: _BlockTable,
        extra: Mapping[str, str],
        owners: list[str],
        seq: int,
        text_prior: Mapping[str, DocumentFrequencies] | None,
        owners_seq: int | None = None,
        records: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> _BlockTable:
        """The cached block with the mentions of `extra` (id -> owner, in link order) appended
        under its weights; then, if the block reaches its next refit, reweighted whole. `records`:
        stored records of some of them, already read."""
        kept = cached.owners_seq if owners_seq is None else owners_seq
        new = list(extra)
        refitting = len(cached.ids) + len(new) >= cached.refit_at
        found = self._mentions(session, new, records)
        with self._lock:
            made = [self._rows.pop(i, None) for i in new]
        codes = cached.codes if owners is cached.owners else IdentityCodes.of_owners(owners)
        if not new:
            return _BlockTable(**{**vars(cached), "owners": owners, "codes": codes, "seq": seq, "owners_seq": kept})
        last = made[0] if len(new) == 1 else None
        if (
            last is not None
            and last.weights is cached.weights
            and last.before is cached.table
            and last.after is not None
            and last.index is not None
        ):
            # The table and index its resolution scored it against, with its row already on.
            table, index = last.after, last.index
        else:
            if last is not None and last.weights is cached.weights:
                rows = last.row  # the very row its resolution scored it with
            else:
                rows = cached.weights.rows([found[i][1] for i in new])
            table = stack_tables(cached.table, rows)
            index = cached.index if refitting else cached.index.extended(table)  # a refit builds its own
        row_of = dict(cached.row_of)
        row_of.update((i, len(cached.ids) + k) for k, i in enumerate(new))
        added = list(extra.values())
        grown = _BlockTable(
            ids=[*cached.ids, *new],
            row_of=row_of,
            mentions=[*cached.mentions, *(found[i][0] for i in new)],
            parts=[*cached.parts, *(found[i][1] for i in new)],
            owners=[*owners, *added],
            table=table,
            weights=cached.weights,
            index=index,
            codes=codes.extended(added) or IdentityCodes.of_owners([*owners, *added]),
            seq=seq,
            owners_seq=kept,
            refit_at=cached.refit_at,
        )
        if not refitting:
            return grown
        # The next step of the ladder: weights refitted to the block's first mentions in link order.
        fitted, refit_at = weights_ladder(len(grown.ids))
        weights, table = reweighted(grown.table, grown.weights, fitted, text_prior)
        return replace(grown, weights=weights, table=table, index=BlockIndex(table), refit_at=refit_at)

    def _keep(self, block_key: str, entry: _BlockTable) -> StoredBlock:
        with self._lock:
            self._tables.put(block_key, entry)
            evicted = set()
            while self._tables.mentions > self.capacity:
                evicted.add(self._tables.pop_oldest())
            if evicted:  # what was kept for them would only hold their old tables in memory
                self._rows = {i: c for i, c in self._rows.items() if c.block_key not in evicted}
        return entry

    def position_if_alone(self) -> FeedPosition | None:
        """How far the feed was read, without reading it, if the last read found only this
        process's own changes (else None, as before the first read): where a decision presuming
        that nothing was written since starts from, when no other writer seems busy."""
        with self._lock:
            if self._feed_seq is None or self._others_wrote:
                return None
            return FeedPosition(self._feed_seq, self._moved_seq)

    def skip_own_changes(self, after: int, last: int) -> None:
        """The changes after `after` up to `last` are this process's own, written right after the
        feed's position `after` (no other change came between): the feed counts as read up to
        `last`, and the next read starts after them."""
        with self._lock:
            if self._feed_seq == after:
                self._feed_seq = last
                self._own_changes = {seq for seq in self._own_changes if seq > last}

    def follow_feed(self, session: BlockSession) -> FeedPosition:
        """Read the change feed to its end: how far it now is known (the last change as of this
        read), and the last change in it that moved mentions."""
        return self.follow_feed_and_find(session, ())[0]

    def follow_feed_and_find(
        self, session: BlockSession, mention_ids: Sequence[str]
    ) -> tuple[FeedPosition, dict[str, tuple[str, float]]]:
        """follow_feed, and which of these mentions are stored ((identity id, confidence) by
        mention id), in one read where it can: a resolution needs both before deciding."""
        with self._lock:
            after = self._feed_seq
        if after is None:
            last = session.last_change()
            with self._lock:
                self._feed_seq = max(self._feed_seq or 0, last)
                self._foreign_seq = max(self._foreign_seq, last)  # what came before is not known
                self._others_wrote = True  # nor whether another writer is busy: the next read tells
                position = FeedPosition(last, self._moved_seq)
            return position, session.stored(mention_ids)
        changes, stored = session.changes_and_stored(after, mention_ids)
        return self._followed(after, changes), stored

    def _followed(self, after: int, changes: list[tuple[int, str]]) -> FeedPosition:
        """Take in the changes read from the feed after change `after`, in order."""
        moved = max((seq for seq, kind in changes if kind not in LINKING_CHANGES), default=-1)
        seen = changes[-1][0] if changes else after
        with self._lock:
            foreign = max((seq for seq, _ in changes if seq not in self._own_changes), default=0)
            self._foreign_seq = max(self._foreign_seq, foreign)
            self._others_wrote = foreign > 0
            if self._own_changes:  # each change is read from the feed once
                self._own_changes = {seq for seq in self._own_changes if seq > seen}
            self._moved_seq = max(self._moved_seq, moved)
            self._feed_seq = max(self._feed_seq or 0, seen)
            return FeedPosition(seen, self._moved_seq)

    def _mentions(
        self, session: BlockSession, ids: Sequence[str], records: Mapping[str, Mapping[str, Any]] | None = None
    ) -> dict[str, tuple[Mention, MentionParts]]:
        """The parsed mentions of these ids: cached, else from `records` (stored records already
        read), else read."""
        found = self._get(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            given = records or {}
            unread = [i for i in missing if i not in given]
            records = {**given, **session.records(unread)} if unread else given
            fresh = [mention_from_record(dict(records[i]), f"registry {i}", default_id=i, stored=True) for i in missing]
            loaded = dict(zip(missing, zip(fresh, parts_of(fresh, embed=self.embed), strict=True), strict=True))
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


def weights_ladder(size: int) -> tuple[int, int]:
    """For a block of `size` mentions: how many of its first mentions (in link order) its weights
    are fitted to, and the size at which they are next refitted. The steps are 1, 2, ..., 10, 11,
    ..., 20, 22, ...: each a tenth (at least one, rounded down) above the last, so a block growing
    one mention at a time reweights about ten rows a mention, and its weights count about ten
    elevenths of it or more."""
    step, following = 0, 1
    while following <= size:
        step, following = following, following + max(1, following // REFIT_EVERY)
    return step, following


def _built(
    ids: list[str],
    mentions: list[Mention],
    parts: list[MentionParts],
    owners: list[str],
    text_prior: Mapping[str, DocumentFrequencies] | None,
    seq: int,
    owners_seq: int,
) -> _BlockTable:
    """A block's table from its mentions in link order, with weights fitted to its first ones."""
    fitted, refit_at = weights_ladder(len(ids))
    weights = TableWeights.fit(parts[:fitted], text_prior)
    table = weights.rows(parts)
    return _BlockTable(
        ids=ids,
        row_of={i: k for k, i in enumerate(ids)},
        mentions=mentions,
        parts=parts,
        owners=owners,
        table=table,
        weights=weights,
        index=BlockIndex(table),
        codes=IdentityCodes.of_owners(owners),
        seq=seq,
        owners_seq=owners_seq,
        refit_at=refit_at,
    )


def _seq_of(link: tuple[int, str, str]) -> int:
    return link[0]


def parts_of(mentions: Sequence[Mention], *, embed: bool = False) -> list[MentionParts]:
    return mention_parts(mentions, [parse_name(m.name) for m in mentions], embed=embed)
