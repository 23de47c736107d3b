"""Registry operations over SQLAlchemy Core: one code path for SQLite and PostgreSQL.

Every write happens in one transaction together with its change-feed rows, so a change is
either fully recorded or not at all, and an acknowledged resolution is never lost.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    null,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from disambig.blocking import registry_block_key
from disambig.errors import DisambigError, FieldViolation, InvalidMentionError
from disambig.registry.liveness import ping_when_idle
from disambig.registry.schema import changes, constraints, counters, identities, mentions
from disambig.registry.sqlite_writer import BUSY_TIMEOUT_SECONDS, WriterLock

DEFAULT_URL = "sqlite:///./disambig.db"
ACTIVE, MERGED = "active", "merged"
# Changes that store mentions without moving stored ones between identities: a mention is linked
# once and never deleted, so only the other kinds (merged, split, reclustered) move one.
LINKING_CHANGES = frozenset({"created", "linked"})
# Column widths PostgreSQL enforces (SQLite does not): checked before a write on both, alike.
MAX_MENTION_ID_CHARS = 512  # mentions.mention_id
MAX_BLOCK_KEY_CHARS = 256  # mentions.block_key, identities.block_key


class UnknownIdentityError(DisambigError):
    """No identity with that id was ever issued."""


class CurationError(DisambigError):
    """A merge or split that cannot be carried out as asked (names the reason)."""


@dataclass(frozen=True, slots=True)
class NewLink:
    """A mention to store: linked to an existing identity, or to a new one (create, or no id)."""

    mention_id: str
    block_key: str
    record: Mapping[str, Any]
    identity_id: str | None
    confidence: float
    create: bool = False


@dataclass(frozen=True, slots=True)
class Stored:
    """What the registry holds for one mention after a write: its identity, and whether this
    write created that identity (False also when the mention was stored before)."""

    mention_id: str
    identity_id: str
    confidence: float
    created: bool
    already_stored: bool
    changes: tuple[int, ...] = ()  # sequence numbers of the changes this write made for it, the link last


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    identity_id: str  # the id asked for
    resolved_id: str  # where it lives now, after following merges
    status: str
    merged_into: str | None
    split_from: str | None
    block_key: str
    mention_count: int
    # The ids followed from the id asked for to where it lives now, both included; () if active.
    merge_path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    kind: str
    identity_id: str
    other_identity_id: str | None
    mention_id: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)


# The statements of every resolution, built once: building a SQLAlchemy statement and its cache
# key costs as much as running it on SQLite.
_STORED = select(mentions.c.mention_id, mentions.c.identity_id, mentions.c.confidence).where(
    mentions.c.mention_id.in_(bindparam("ids", expanding=True))
)
_BLOCK_DELTA = (
    select(mentions.c.mention_id, mentions.c.identity_id, mentions.c.record)
    .where((mentions.c.block_key == bindparam("key")) & (mentions.c.linked_seq > bindparam("after")))
    .order_by(mentions.c.linked_seq, mentions.c.mention_id)
)
_CHANGED_SINCE = (
    select(changes.c.seq)
    .where(
        (changes.c.seq > bindparam("after"))
        & (
            changes.c.kind.not_in(sorted(LINKING_CHANGES))
            | changes.c.mention_id.in_(
                select(mentions.c.mention_id).where(
                    mentions.c.block_key.in_(bindparam("keys", expanding=True))
                    & (mentions.c.linked_seq > bindparam("after"))
                )
            )
        )
    )
    .limit(1)
)
# The counter and the changes after `after` into the blocks, read in one snapshot: a writer
# advances the counter and appends its changes in one transaction, so the changes seen are all
# those up to the counter value seen.
_LAST_CHANGE_AND_WHETHER_CHANGED = select(counters.c.value, _CHANGED_SINCE.exists().label("changed")).where(
    counters.c.name == "changes"
)
_CHANGES_AFTER = select(changes.c.seq, changes.c.kind).where(changes.c.seq > bindparam("after")).order_by(changes.c.seq)
_STORED_CHUNK = 500  # mention ids a statement asks for
_CHANGES_AND_STORED = union_all(
    select(changes.c.seq, changes.c.kind, *(null().label(c.name) for c in _STORED.selected_columns)).where(
        changes.c.seq > bindparam("after")
    ),
    select(null().label("seq"), null().label("kind"), *_STORED.selected_columns).where(
        mentions.c.mention_id.in_(bindparam("ids", expanding=True))
    ),
)
_TAKE_SEQS = (
    update(counters)
    .where(counters.c.name == "changes")
    .values(value=counters.c.value + bindparam("count"))
    .returning(counters.c.value)
)
_MOVE_TO_BLOCK = update(mentions).where(mentions.c.mention_id == bindparam("mid")).values(block_key=bindparam("key"))
_LAST_CHANGE = select(func.coalesce(func.max(changes.c.seq), 0))
_TOUCH_COUNTER = update(counters).where(counters.c.name == "changes").values(value=counters.c.value)
_LINKED_TO_ACTIVE = (
    update(identities)
    .where((identities.c.identity_id == bindparam("identity")) & (identities.c.status == ACTIVE))
    .values(updated_seq=bindparam("seq"))
)
_INSERTS = {table.name: insert(table) for table in (identities, changes, mentions)}


def new_identity_id() -> str:
    return "id-" + uuid.uuid4().hex[:16]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Registry:
    """Identities, their mentions, curation constraints and the change feed."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        sqlite = make_url(url).get_backend_name() == "sqlite"
        # sqlite3's timeout is SQLite's busy timeout, the one the writer lock waits as long as.
        self.engine: Engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS} if sqlite else {})
        # A connection the database dropped (a restart of PostgreSQL) is replaced at checkout, so
        # the first call after the database returns succeeds. A SQLite file is never dropped.
        if not sqlite:
            ping_when_idle(self.engine)
        # SQLite has one writer at a time: writers queue on a lock of this process and of the
        # processes sharing the file, not on SQLite's busy timeout (sqlite_writer.py).
        self._writer: AbstractContextManager[Any] = nullcontext()
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            self._writer = WriterLock(make_url(url).database)

    @contextmanager
    def _write_transaction(self, conn: Connection | None = None) -> Iterator[Connection]:
        """A transaction that will write (on SQLite, once this process's other writers are done),
        on `conn` if given, else on a connection of the pool."""
        with self._writer, self._transaction(conn) as active:
            yield active

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is None:
            with self.engine.begin() as fresh:
                yield fresh
        else:
            with conn.begin():
                yield conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One pooled connection for transactions in a row (`reading`, then `writing`): one
        checkout (and on PostgreSQL a liveness ping if it sat idle) instead of one per transaction."""
        with self.engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic; safe to run on every start)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def reachable(self) -> bool:
        """Whether the database answers a trivial query now."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()
        if isinstance(self._writer, WriterLock):
            self._writer.close()

    # -- sequence numbers and the feed -------------------------------------------------------
    @staticmethod
    def _lock_feed(conn: Connection) -> None:
        """Take the feed's counter row now: every writer takes it before its first change, so
        what this transaction reads from here on cannot be changed by another writer until it
        commits (curation and linking decide on the identities they then write)."""
        conn.execute(_TOUCH_COUNTER)

    @staticmethod
    def _follow(conn: Connection, identity_id: str) -> tuple[Any, Any, list[str]]:
        """(row of the id asked for, row of the identity it lives in now, ids followed)."""
        row = conn.execute(select(identities).where(identities.c.identity_id == identity_id)).first()
        if row is None:
            raise UnknownIdentityError(f"no identity {identity_id!r}")
        first = row
        path = [row.identity_id]
        while row.status == MERGED and row.merged_into is not None:
            row = conn.execute(select(identities).where(identities.c.identity_id == row.merged_into)).one()
            if row.identity_id in path:  # a cycle would be a bug; never loop forever on one
                raise DisambigError(f"merge cycle through {row.identity_id!r}")
            path.append(row.identity_id)
        return first, row, path

    @staticmethod
    def _take_seqs(conn: Connection, count: int) -> int:
        """Take the feed lock and the next `count` sequence numbers; returns the last of them."""
        return int(conn.execute(_TAKE_SEQS, {"count": count}).scalar_one())

    @staticmethod
    def _next_seq(conn: Connection) -> int:
        # Incrementing one row serialises writers on it, so numbers are gap-free and committed
        # in order: a reader never sees seq n+1 before seq n.
        return Registry._take_seqs(conn, 1)

    def _record(
        self,
        conn: Connection,
        kind: str,
        identity_id: str,
        other: str | None = None,
        mention_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        seq = self._next_seq(conn)
        self._append_change(conn, seq, kind, identity_id, other, mention_id, detail)
        conn.execute(update(identities).where(identities.c.identity_id == identity_id).values(updated_seq=seq))
        return seq

    @staticmethod
    def _append_change(
        conn: Connection,
        seq: int,
        kind: str,
        identity_id: str,
        other: str | None,
        mention_id: str | None,
        detail: Mapping[str, Any] | None,
    ) -> None:
        conn.execute(
            insert(changes).values(
                seq=seq,
                kind=kind,
                identity_id=identity_id,
                other_identity_id=other,
                mention_id=mention_id,
                detail=dict(detail or {}),
            )
        )

    def _create_identity(
        self,
        conn: Connection,
        identity_id: str,
        block_key: str,
        kind: str,
        *,
        split_from: str | None = None,
        mention_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Insert a new identity and the change that created it, under one sequence number."""
        seq = self._next_seq(conn)
        conn.execute(
            insert(identities).values(
                identity_id=identity_id,
                block_key=block_key,
                status=ACTIVE,
                split_from=split_from,
                created_seq=seq,
                updated_seq=seq,
            )
        )
        self._append_change(conn, seq, kind, identity_id, split_from, mention_id, detail)
        return seq

    def changes(self, since: int = 0, limit: int = 1000) -> list[Change]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(changes).where(changes.c.seq > since).order_by(changes.c.seq).limit(limit))
            return [
                Change(r.seq, r.kind, r.identity_id, r.other_identity_id, r.mention_id, r.detail or {}) for r in rows
            ]

    # -- reads -------------------------------------------------------------------------------
    def stored(self, mention_ids: Iterable[str]) -> dict[str, tuple[str, float]]:
        """Mentions already in the registry: mention id -> (identity id, confidence)."""
        with self.engine.connect() as conn:
            return BlockSession(self, conn).stored(mention_ids)

    def block(self, block_key: str) -> list[tuple[str, str, Mapping[str, Any]]]:
        """(mention id, identity id, record) of every stored mention of a name block."""
        with self.engine.connect() as conn:
            return BlockSession(self, conn).block(block_key)

    def block_keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(mentions.c.block_key).distinct().order_by(mentions.c.block_key))]

    def block_sizes(self) -> list[tuple[str, int]]:
        """(block key, mentions) of every name block, the largest first."""
        count = func.count().label("n")
        query = select(mentions.c.block_key, count).group_by(mentions.c.block_key).order_by(count.desc())
        with self.engine.connect() as conn:
            return [(r.block_key, int(r.n)) for r in conn.execute(query)]

    @contextmanager
    def autocommit(self, conn: Connection | None = None) -> Iterator[Connection]:
        """Statements outside any transaction, on `conn` if given: on PostgreSQL each statement is
        its own transaction. On SQLite this holds for reads only: sqlite3 begins a transaction
        before a write, which leaving this rolls back."""
        with nullcontext(conn) if conn is not None else self.engine.connect() as active:
            # sqlite3 sends no BEGIN before a read already; switching its isolation level there
            # and back cost 4% of a resolution's time.
            switch = active.dialect.name != "sqlite"
            if switch:
                active.execution_options(isolation_level="AUTOCOMMIT")
            try:
                yield active
            finally:
                active.rollback()  # ends SQLAlchemy's autobegun transaction; nothing goes to the database
                if switch:
                    active.execution_options(isolation_level=active.default_isolation_level)

    @contextmanager
    def reading(self, conn: Connection | None = None) -> Iterator[BlockSession]:
        """Reads outside any transaction (no lock), on `conn` if given: each statement sees what
        was committed when it started. A transaction would give no more (PostgreSQL's READ
        COMMITTED takes a snapshot per statement, and Python's sqlite3 begins one only before a
        write) and costs PostgreSQL two more round trips, BEGIN and COMMIT, on every call."""
        with self.autocommit(conn) as active:
            yield BlockSession(self, active)

    def name_blocks(self, surname_key: str, first_initial: str = "") -> list[str]:
        """The stored name blocks of a surname (with any first initial, or this one): where a name
        search looks."""
        column = mentions.c.block_key
        # startswith escapes LIKE's wildcards: "_" would match any character ("li_%" finds "lin_a").
        condition = (
            column == f"{surname_key}_{first_initial}"
            if first_initial
            else column.startswith(f"{surname_key}_", autoescape=True)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(column).where(condition).distinct().order_by(column))]

    @contextmanager
    def writing(self, conn: Connection | None = None, *, seqs_first: bool = False) -> Iterator[BlockSession]:
        """A write transaction holding the feed lock from its first statement, on `conn` if given.

        Every writer (resolutions, curation, re-clustering, from any replica) takes the feed's
        counter row before anything else, so what a writer reads from then on no other writer
        changes until it commits: two concurrent resolutions of one new person end in one
        identity. One lock for both databases (on SQLite the row write also takes the file's
        write lock). With `seqs_first`, the caller's first statement is BlockSession.take_seqs,
        which takes the lock itself.
        """
        with self._write_transaction(conn) as active:
            if not seqs_first:
                self._lock_feed(active)
            yield BlockSession(self, active)

    def get_identity(self, identity_id: str) -> IdentityRecord:
        """An identity by any id it ever had: merged ids redirect to the survivor, through whole
        chains (A merged into B merged into C resolves to C)."""
        ((record, _),) = self.profiles([identity_id], page_size=0)
        return record

    def profiles(
        self, identity_ids: Sequence[str], page_size: int
    ) -> list[tuple[IdentityRecord, list[Mapping[str, Any]]]]:
        """Each identity (as get_identity) with the records of its first `page_size` mentions by
        mention id (list_mentions' first page), read on one connection in a few statements
        however many identities: a search answers with ten profiles."""
        with self.engine.connect() as conn:
            followed = [self._follow(conn, identity_id) for identity_id in identity_ids]
            resolved = list(dict.fromkeys(row.identity_id for _, row, _ in followed))
            counted = select(mentions.c.identity_id, func.count().label("n")).where(
                mentions.c.identity_id.in_(resolved)
            )
            counts = {r.identity_id: int(r.n) for r in conn.execute(counted.group_by(mentions.c.identity_id))}
            records: dict[str, list[Mapping[str, Any]]] = {identity: [] for identity in resolved}
            if page_size > 0:
                rank = func.row_number().over(partition_by=mentions.c.identity_id, order_by=mentions.c.mention_id)
                numbered = (
                    select(mentions.c.identity_id, mentions.c.mention_id, mentions.c.record, rank.label("n"))
                    .where(mentions.c.identity_id.in_(resolved))
                    .subquery()
                )
                page = select(numbered.c.identity_id, numbered.c.record).where(numbered.c.n <= page_size)
                for r in conn.execute(page.order_by(numbered.c.identity_id, numbered.c.mention_id)):
                    records[r.identity_id].append(r.record)
        return [
            (
                IdentityRecord(
                    identity_id=identity_id,
                    resolved_id=row.identity_id,
                    status=first.status,
                    merged_into=first.merged_into,
                    split_from=row.split_from,
                    block_key=row.block_key,
                    mention_count=counts.get(row.identity_id, 0),
                    merge_path=tuple(path) if len(path) > 1 else (),
                ),
                records[row.identity_id],
            )
            for identity_id, (first, row, path) in zip(identity_ids, followed, strict=True)
        ]

    def list_mentions(
        self, identity_id: str, page_size: int = 100, after: str | None = None
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        """One page of an identity's mention records, ordered by mention id, and the next cursor."""
        with self.engine.connect() as conn:
            _, row, _ = self._follow(conn, identity_id)
            query = select(mentions.c.mention_id, mentions.c.record).where(mentions.c.identity_id == row.identity_id)
            if after:
                query = query.where(mentions.c.mention_id > after)
            rows = list(conn.execute(query.order_by(mentions.c.mention_id).limit(page_size + 1)))
        page = rows[:page_size]
        next_cursor = page[-1].mention_id if len(rows) > page_size else None
        return [r.record for r in page], next_cursor

    def constraints_among(self, mention_ids: Iterable[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Must-link and cannot-link pairs touching the given mentions."""
        with self.engine.connect() as conn:
            return BlockSession(self, conn).constraints_among(mention_ids)

    # -- writes ------------------------------------------------------------------------------
    def record_links(self, links: Sequence[NewLink]) -> list[Stored]:
        """Store mentions and their identities in one transaction; idempotent by mention id.

        A mention stored before (by this or a concurrent writer) keeps the identity it had.
        """
        for attempt in range(2):
            try:
                with self._write_transaction() as conn:
                    return BlockSession(self, conn).record_links(links)
            except IntegrityError:
                # A concurrent writer stored one of these mentions first: retry, and the retry
                # finds it stored and returns its identity.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def merge(self, identity_ids: Sequence[str], reason: str = "") -> str:
        """Merge identities into the one with most mentions; the others redirect to it. Ids that
        are one identity already (a merge retried after its reply was lost, or made twice at
        once) give that identity and change nothing."""
        with self._write_transaction() as conn:
            # Resolve under the feed lock: a concurrent merge (another replica) cannot turn the
            # survivor chosen here into a redirect, so merge chains never form a cycle.
            self._lock_feed(conn)
            resolved = list(dict.fromkeys(self._follow(conn, i)[1].identity_id for i in identity_ids))
            if len(resolved) < 2:
                if len(set(identity_ids)) > 1:
                    return resolved[0]
                raise CurationError(f"merge needs at least two distinct identities, got {list(identity_ids)}")
            counts = {
                i: conn.execute(
                    select(func.count()).select_from(mentions).where(mentions.c.identity_id == i)
                ).scalar_one()
                for i in resolved
            }
            survivor = max(resolved, key=lambda i: (counts[i], -resolved.index(i)))
            members = [
                r.mention_id
                for r in conn.execute(
                    select(mentions.c.mention_id)
                    .where(mentions.c.identity_id.in_(resolved))
                    .order_by(mentions.c.mention_id)
                )
            ]
            anchor = members[0]
            absorbed = [i for i in resolved if i != survivor]
            seq = self._record(conn, "merged", survivor, detail={"reason": reason, "absorbed": absorbed})
            # The curator says all these mentions are one person: a must-link from one anchor to
            # every other member, so re-clustering keeps them together; a later split undoes it.
            conn.execute(
                delete(constraints).where(
                    (constraints.c.kind == "cannot_link")
                    & constraints.c.mention_a.in_(members)
                    & constraints.c.mention_b.in_(members)
                )
            )
            conn.execute(
                insert(constraints),
                [{"kind": "must_link", "mention_a": anchor, "mention_b": m, "seq": seq} for m in members[1:]],
            )
            for other in resolved:
                if other == survivor:
                    continue
                self._record(conn, "merged", other, other=survivor, detail={"reason": reason})
                conn.execute(update(mentions).where(mentions.c.identity_id == other).values(identity_id=survivor))
                conn.execute(
                    update(identities)
                    .where(identities.c.identity_id == other)
                    .values(status=MERGED, merged_into=survivor)
                )
        return survivor

    def misplaced(self) -> list[Misplaced]:
        """Mentions stored in another name block than this version reads their names into."""
        with self.engine.connect() as conn:
            return list(misplaced_mentions(conn))

    def rekey(self, moves: Sequence[Misplaced]) -> None:
        """Move mentions to the blocks this version reads their names into: one `rekeyed` change
        per identity touched, which every block cache takes as a change of membership. An
        identity left without mentions in the block it was created in follows them."""
        by_identity: dict[str, list[Misplaced]] = {}
        for move in moves:
            by_identity.setdefault(move.identity_id, []).append(move)
        with self._write_transaction() as conn:
            self._lock_feed(conn)
            for identity, moved in sorted(by_identity.items()):
                conn.execute(_MOVE_TO_BLOCK, [{"mid": m.mention_id, "key": m.block_key} for m in moved])
                home = conn.execute(
                    select(identities.c.block_key).where(identities.c.identity_id == identity)
                ).scalar_one()
                left_home = conn.execute(
                    select(func.count())
                    .select_from(mentions)
                    .where((mentions.c.identity_id == identity) & (mentions.c.block_key == home))
                ).scalar_one()
                if not left_home:
                    conn.execute(
                        update(identities)
                        .where(identities.c.identity_id == identity)
                        .values(block_key=Counter(m.block_key for m in moved).most_common(1)[0][0])
                    )
                detail = {m.mention_id: [m.stored_key, m.block_key] for m in moved}
                self._record(conn, "rekeyed", identity, detail={"blocks": detail})

    def split(self, identity_id: str, mention_ids: Sequence[str], reason: str = "") -> tuple[str, str]:
        """Move mentions to a new identity; the original id stays with the larger part.

        Returns (id of the remaining part, id of the new part).
        """
        moving = list(dict.fromkeys(mention_ids))
        with self._write_transaction() as conn:
            self._lock_feed(conn)
            resolved = self._follow(conn, identity_id)[1].identity_id
            members = [
                r.mention_id
                for r in conn.execute(select(mentions.c.mention_id).where(mentions.c.identity_id == resolved))
            ]
            member_set = set(members)
            strangers = [m for m in moving if m not in member_set]
            if strangers:
                raise CurationError(f"mentions not in identity {resolved!r}: {strangers[:5]}")
            moving_set = set(moving)
            staying = [m for m in members if m not in moving_set]
            if not moving or not staying:
                raise CurationError(f"a split of {resolved!r} must leave mentions on both sides")
            new_part = moving if len(moving) <= len(staying) else staying
            block_key = conn.execute(
                select(identities.c.block_key).where(identities.c.identity_id == resolved)
            ).scalar_one()
            new_id = new_identity_id()
            seq = self._create_identity(
                conn,
                new_id,
                block_key,
                "split",
                split_from=resolved,
                detail={"reason": reason, "mention_ids": sorted(new_part)},
            )
            conn.execute(update(mentions).where(mentions.c.mention_id.in_(new_part)).values(identity_id=new_id))
            old_part = staying if new_part is moving else moving
            # A later split overrides an earlier merge between the two parts.
            conn.execute(
                delete(constraints).where(
                    (constraints.c.kind == "must_link")
                    & (
                        (constraints.c.mention_a.in_(new_part) & constraints.c.mention_b.in_(old_part))
                        | (constraints.c.mention_a.in_(old_part) & constraints.c.mention_b.in_(new_part))
                    )
                )
            )
            conn.execute(
                insert(constraints),
                [
                    {"kind": "cannot_link", "mention_a": a, "mention_b": b, "seq": seq}
                    for a in new_part
                    for b in old_part
                ],
            )
            self._record(conn, "split", resolved, other=new_id, detail={"reason": reason, "moved_out": len(new_part)})
        return resolved, new_id


class BlockSession:
    """Registry reads and writes on one connection (inside Registry.writing: one write
    transaction holding the feed lock)."""

    def __init__(self, registry: Registry, conn: Connection) -> None:
        self.registry = registry
        self.conn = conn

    def stored(self, mention_ids: Iterable[str]) -> dict[str, tuple[str, float]]:
        ids = list(dict.fromkeys(mention_ids))
        found: dict[str, tuple[str, float]] = {}
        for start in range(0, len(ids), _STORED_CHUNK):
            for row in self.conn.execute(_STORED, {"ids": ids[start : start + _STORED_CHUNK]}):
                found[row.mention_id] = (row.identity_id, row.confidence)
        return found

    def block(self, block_key: str) -> list[tuple[str, str, Mapping[str, Any]]]:
        query = (
            select(mentions.c.mention_id, mentions.c.identity_id, mentions.c.record)
            .where(mentions.c.block_key == block_key)
            .order_by(mentions.c.mention_id)
        )
        return [(r.mention_id, r.identity_id, r.record) for r in self.conn.execute(query)]

    def block_owners(self, block_key: str) -> list[tuple[str, str]]:
        """(mention id, identity id) of a block in link order, without the records: cheap to read
        every time."""
        query = (
            select(mentions.c.mention_id, mentions.c.identity_id)
            .where(mentions.c.block_key == block_key)
            .order_by(mentions.c.linked_seq, mentions.c.mention_id)
        )
        return [(r.mention_id, r.identity_id) for r in self.conn.execute(query)]

    def block_delta(self, block_key: str, after_seq: int) -> list[tuple[str, str, Mapping[str, Any]]]:
        """(mention id, identity id, record) of the block's mentions linked after change
        `after_seq`, in link order. The records come along because a block read so is mostly
        catching up another writer's mentions, which the reader has not parsed yet: one round
        trip, not a second one for their records."""
        rows = self.conn.execute(_BLOCK_DELTA, {"key": block_key, "after": after_seq})
        return [(r.mention_id, r.identity_id, r.record) for r in rows]

    def changes_after(self, seq: int) -> list[tuple[int, str]]:
        """(seq, kind) of every change after `seq`, in order."""
        return [(int(r.seq), str(r.kind)) for r in self.conn.execute(_CHANGES_AFTER, {"after": seq})]

    def changes_and_stored(
        self, seq: int, mention_ids: Iterable[str]
    ) -> tuple[list[tuple[int, str]], dict[str, tuple[str, float]]]:
        """changes_after(seq) and stored(mention_ids), in one statement for a few mentions (one
        round trip on PostgreSQL)."""
        ids = list(dict.fromkeys(mention_ids))
        if not ids or len(ids) > _STORED_CHUNK:
            return self.changes_after(seq), self.stored(ids)
        found: list[tuple[int, str]] = []
        stored: dict[str, tuple[str, float]] = {}
        for row in self.conn.execute(_CHANGES_AND_STORED, {"after": seq, "ids": ids}):
            if row.mention_id is None:
                found.append((int(row.seq), str(row.kind)))
            else:
                stored[row.mention_id] = (row.identity_id, row.confidence)
        return sorted(found), stored

    def changed_since(self, seq: int, block_keys: Iterable[str]) -> bool:
        """Whether, after change `seq`, a mention was linked into one of these blocks or any
        mention moved between identities (a merge, a split, a re-clustering)."""
        return self.conn.execute(_CHANGED_SINCE, {"keys": list(block_keys), "after": seq}).first() is not None

    def last_change_unless_changed(self, seq: int, block_keys: Iterable[str]) -> int | None:
        """The last change, if none after change `seq` changed these blocks (as `changed_since`
        tells); else None."""
        row = self.conn.execute(_LAST_CHANGE_AND_WHETHER_CHANGED, {"keys": list(block_keys), "after": seq}).one()
        return None if row.changed else int(row.value)

    def last_change(self) -> int:
        """The sequence number of the last change (0 for none)."""
        return int(self.conn.execute(_LAST_CHANGE).scalar_one())

    def take_seqs(self, count: int) -> int:
        """Take the feed lock and the next `count` sequence numbers; returns the last of them.
        The feed is gap-free, so the last change before them is the returned number - `count`.
        A negative count gives back numbers this transaction took and will not use."""
        return self.registry._take_seqs(self.conn, count)

    def constraints_of_block(self, block_key: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Must-links and cannot-links touching a mention of the block, in one query."""
        members = select(mentions.c.mention_id).where(mentions.c.block_key == block_key)
        query = select(constraints).where(constraints.c.mention_a.in_(members) | constraints.c.mention_b.in_(members))
        must: list[tuple[str, str]] = []
        cannot: list[tuple[str, str]] = []
        for row in self.conn.execute(query):
            (must if row.kind == "must_link" else cannot).append((row.mention_a, row.mention_b))
        return must, cannot

    def records(self, mention_ids: Sequence[str]) -> dict[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        for start in range(0, len(mention_ids), 500):
            query = select(mentions.c.mention_id, mentions.c.record).where(
                mentions.c.mention_id.in_(mention_ids[start : start + 500])
            )
            found.update((r.mention_id, r.record) for r in self.conn.execute(query))
        return found

    def constraints_among(self, mention_ids: Iterable[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        ids = list(mention_ids)
        must: list[tuple[str, str]] = []
        cannot: list[tuple[str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = select(constraints).where(constraints.c.mention_a.in_(chunk) | constraints.c.mention_b.in_(chunk))
            for row in self.conn.execute(query):
                (must if row.kind == "must_link" else cannot).append((row.mention_a, row.mention_b))
        return must, cannot

    def record_links(
        self, links: Sequence[NewLink], *, unstored: bool = False, last_seq: int | None = None
    ) -> list[Stored]:
        """Store the links; a mention stored before keeps its identity. `unstored`: the caller
        read in this transaction that none of these mentions is stored (the Resolver does), so
        it is not read again; should a concurrent writer store one meanwhile, the insert fails
        (IntegrityError) and the caller retries. `last_seq`: with `unstored`, the caller took
        the seqs_needed(links) sequence numbers ending at it (take_seqs), instead of this call.

        A few statements whatever the number of links: one UPDATE takes the feed lock and every
        sequence number the links need, one UPDATE per identity linked to, one INSERT per table.
        The rows written are those of one `_create_identity` and `_record` per link."""
        conn = self.conn
        registry = self.registry
        check_widths(links)
        if not links:
            return []
        if last_seq is not None and not unstored:
            raise ValueError("sequence numbers can be taken before only for links known to be unstored")
        existing = {} if unstored else self.stored(link.mention_id for link in links)
        new = first_links(links, existing)
        stored: dict[str, Stored] = {}
        if new:
            count = seqs_needed(list(new.values()))
            last = last_seq if last_seq is not None else registry._take_seqs(conn, count)
            numbered = number_links(new.values(), last)
            identity_rows = numbered.identity_rows()
            if identity_rows:
                conn.execute(_INSERTS["identities"], identity_rows)
            # Under the feed lock, an identity chosen while reading the block cannot be merged away
            # before the link is written; one merged just before is followed to its survivor. Each
            # identity linked to ends with the sequence number of its last link, as after _record.
            last_link = numbered.last_links()
            survivor = {identity: identity for identity in last_link}
            redirected: dict[str, int] = {}
            for identity, seq in last_link.items():
                if not conn.execute(_LINKED_TO_ACTIVE, {"identity": identity, "seq": seq}).rowcount:
                    survivor[identity] = str(registry._follow(conn, identity)[1].identity_id)
                    redirected[survivor[identity]] = max(seq, redirected.get(survivor[identity], 0))
            for identity, seq in redirected.items():
                seq = max(seq, last_link.get(identity, 0))
                conn.execute(update(identities).where(identities.c.identity_id == identity).values(updated_seq=seq))
            change_rows, mention_rows, stored = numbered.rows(survivor)
            conn.execute(_INSERTS["changes"], change_rows)
            conn.execute(_INSERTS["mentions"], mention_rows)
        return answers(links, existing, new, stored)

    def reassign(
        self,
        block_key: str,
        identity_of: Mapping[str, str],
        new_ids: Iterable[str],
        split_from: Mapping[str, str] | None = None,
    ) -> None:
        """Apply a re-clustering of one block: move mentions, create the new identities (each
        recording the identity it was split from, when given), and redirect every identity left
        without mentions to the one that took most of them."""
        registry = self.registry
        conn = self.conn
        registry._lock_feed(conn)
        new_ids = list(new_ids)
        lineage = split_from or {}
        for identity in new_ids:
            origin = lineage.get(identity)
            if origin is not None:
                origin = registry._follow(conn, origin)[1].identity_id
            registry._create_identity(
                conn, identity, block_key, "created", split_from=origin, detail={"by": "recluster"}
            )
        # An old id merged away since the block was read lives on in its survivor.
        fresh = set(new_ids)
        target = {i: i if i in fresh else registry._follow(conn, i)[1].identity_id for i in set(identity_of.values())}
        before = {mid: owner for mid, owner, _ in self.block(block_key)}
        moved: dict[str, list[str]] = {}
        moved_in: dict[str, list[str]] = {}
        for mention_id, assigned in identity_of.items():
            identity = target[assigned]
            if mention_id in before and before[mention_id] != identity:
                conn.execute(update(mentions).where(mentions.c.mention_id == mention_id).values(identity_id=identity))
                moved.setdefault(before[mention_id], []).append(identity)
                moved_in.setdefault(identity, []).append(mention_id)
        for old, destinations in moved.items():
            remaining = conn.execute(
                select(func.count()).select_from(mentions).where(mentions.c.identity_id == old)
            ).scalar_one()
            if remaining == 0:
                heir = max(set(destinations), key=destinations.count)
                conn.execute(
                    update(identities).where(identities.c.identity_id == old).values(status=MERGED, merged_into=heir)
                )
                registry._record(conn, "reclustered", old, other=heir, detail={"retired": True})
            else:
                registry._record(conn, "reclustered", old, detail={"moved_out": len(destinations)})
        for identity in sorted(moved_in):
            registry._record(conn, "reclustered", identity, detail={"mention_ids": sorted(moved_in[identity])})


@dataclass(frozen=True)
class Misplaced:
    """A mention stored in block `stored_key` whose name this version reads into `block_key`
    (stored by an older version of the name parser)."""

    mention_id: str
    identity_id: str
    name: str
    stored_key: str
    block_key: str


def misplaced_mentions(conn: Connection) -> Iterator[Misplaced]:
    keys: dict[str, str] = {}  # names repeat: each spelling parsed once
    query = select(mentions.c.mention_id, mentions.c.identity_id, mentions.c.block_key, mentions.c.record)
    for row in conn.execute(query.order_by(mentions.c.mention_id)):
        name = str(row.record.get("name", ""))
        if name not in keys:
            keys[name] = registry_block_key(name)
        if keys[name] != row.block_key:
            yield Misplaced(row.mention_id, row.identity_id, name, row.block_key, keys[name])


def first_links(links: Sequence[NewLink], existing: Mapping[str, object]) -> dict[str, NewLink]:
    """The first link of each mention not stored, by mention id."""
    new: dict[str, NewLink] = {}
    for link in links:
        if link.mention_id not in existing:
            new.setdefault(link.mention_id, link)
    return new


def _creates(link: NewLink) -> bool:
    return link.create or link.identity_id is None


@dataclass(frozen=True, slots=True)
class NumberedLinks:
    """Links (each mention once) with the sequence numbers of their changes, in link order, as
    one _create_identity and _record per link would take them: (link, identity id, sequence
    number of the identity's creation or None, sequence number of the link)."""

    items: tuple[tuple[NewLink, str, int | None, int], ...]

    def identity_rows(self) -> list[dict[str, Any]]:
        """The identities the links create."""
        return [
            {
                "identity_id": identity,
                "block_key": link.block_key,
                "status": ACTIVE,
                "merged_into": None,
                "split_from": None,
                "created_seq": created_seq,
                "updated_seq": seq,
            }
            for link, identity, created_seq, seq in self.items
            if created_seq is not None
        ]

    def last_links(self) -> dict[str, int]:
        """Each existing identity linked to, with the sequence number of its last link."""
        return {identity: seq for _, identity, created_seq, seq in self.items if created_seq is None}

    def rows(self, survivor: Mapping[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Stored]]:
        """The change rows and mention rows to insert, and what is stored for each mention; each
        link to an existing identity goes to `survivor[identity]`."""
        change_rows, mention_rows = [], []
        stored: dict[str, Stored] = {}
        for link, identity, created_seq, seq in self.items:
            if created_seq is not None:
                change_rows.append(_change_row(created_seq, "created", identity, link.mention_id))
            else:
                identity = survivor[identity]
            change_rows.append(_change_row(seq, "linked", identity, link.mention_id))
            mention_rows.append(
                {
                    "mention_id": link.mention_id,
                    "identity_id": identity,
                    "block_key": link.block_key,
                    "record": dict(link.record),
                    "confidence": link.confidence,
                    "linked_seq": seq,
                }
            )
            made = (seq,) if created_seq is None else (created_seq, seq)
            created = created_seq is not None
            stored[link.mention_id] = Stored(link.mention_id, identity, link.confidence, created, False, made)
        return change_rows, mention_rows, stored


def number_links(links: Iterable[NewLink], last_seq: int) -> NumberedLinks:
    """Number links (each mention once) with the seqs_needed(links) sequence numbers ending at
    `last_seq`; a link that creates an identity gets a new identity id if it has none."""
    links = list(links)
    seqs = iter(range(last_seq - seqs_needed(links) + 1, last_seq + 1))
    items = []
    for link in links:
        created_seq = next(seqs) if _creates(link) else None
        items.append((link, link.identity_id or new_identity_id(), created_seq, next(seqs)))
    return NumberedLinks(tuple(items))


def answers(
    links: Sequence[NewLink],
    existing: Mapping[str, tuple[str, float]],
    new: Mapping[str, NewLink],
    stored: Mapping[str, Stored],
) -> list[Stored]:
    """What a write of `links` answers for each: `existing`, mentions stored before it; `new`, the
    first link of each other mention; `stored`, what it stored for them."""
    out: list[Stored] = []
    for link in links:
        if link.mention_id in existing:
            identity, confidence = existing[link.mention_id]
            out.append(Stored(link.mention_id, identity, confidence, created=False, already_stored=True))
        elif new[link.mention_id] is link:
            out.append(stored[link.mention_id])
        else:  # the same mention again in one call: stored once, as its first link said
            first = stored[link.mention_id]
            out.append(Stored(link.mention_id, first.identity_id, first.confidence, False, True))
    return out


def seqs_needed(links: Sequence[NewLink]) -> int:
    """How many sequence numbers record_links(links, unstored=True) writes: one a link, and one
    more for each identity it creates."""
    new = first_links(links, {})
    return len(new) + sum(_creates(link) for link in new.values())


def _change_row(seq: int, kind: str, identity_id: str, mention_id: str) -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": kind,
        "identity_id": identity_id,
        "other_identity_id": None,
        "mention_id": mention_id,
        "detail": {},
    }


def check_widths(links: Sequence[NewLink]) -> None:
    """Refuse, before writing, what the registry's columns cannot hold (names the mention)."""
    for link in links:
        violations = []
        if len(link.mention_id) > MAX_MENTION_ID_CHARS:
            violations.append(FieldViolation("mention_id", f"longer than {MAX_MENTION_ID_CHARS} characters"))
        if len(link.block_key) > MAX_BLOCK_KEY_CHARS:
            violations.append(FieldViolation("name", f"surname longer than {MAX_BLOCK_KEY_CHARS} characters"))
        if violations:
            raise InvalidMentionError(f"mention {link.mention_id[:80]!r}", violations)
