"""A resolution's links written as one statement on PostgreSQL, when nothing changed their blocks meanwhile.

A resolution is decided on the registry as of change `since`, then written under the feed lock:
the counter row first, then the identities, changes and mentions, then COMMIT. On PostgreSQL each
of those is a round trip, and most of the time nothing was written between the decision and its
write. That case is one statement, in autocommit: it advances the counter row only if the row
still reads `since` and no identity linked to was merged away, and every insert and update in it
selects from that advance, so the statement writes all of it or nothing.

When another writer came first (on PostgreSQL, most often a replica writing into other blocks),
one read tells whether anything it wrote changed the links' blocks; if not, the statement is sent
again at the new last change. Only a change into those blocks (or a merge, split or
re-clustering) leaves the write to the caller's transaction, which decides again. So replicas
sharing a registry keep the two round trips of a resolution while they write side by side.

The statement also writes nothing if a link's mention is stored, so a caller may decide without
reading first (Resolver, when no other writer seems busy): then a resolution is one round trip,
and the statement tells after which change it wrote, for the caller to know that nothing came
between its last read and its own changes.

SQLite has no INSERT or UPDATE inside WITH, and its statements are calls into the same process,
not round trips: it always writes in the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import CTE, Connection, Select, Table, bindparam, exists, insert, select, union_all, update

from disambig.registry.schema import changes, counters, identities, mentions
from disambig.registry.store import (
    ACTIVE,
    NewLink,
    Registry,
    Stored,
    check_widths,
    first_links,
    number_links,
    seqs_needed,
)

# A wave of resolutions with more links is written in the transaction: its round trips are shared
# by many mentions, and each shape of statement is compiled and kept once.
MAX_LINKS = 16
# Times the statement is sent again at a newer last change when other blocks' writes came first:
# under load another writer may come first again, and each try costs two round trips.
RETRIES = 2


class Written(NamedTuple):
    stored: list[Stored]  # for each link
    after: int  # the last change before this write's: `since`, unless other blocks' writes were stepped over


def write_if_unchanged(registry: Registry, conn: Connection, links: Sequence[NewLink], since: int) -> Written | None:
    """Store links (the caller decided them on their blocks as of change `since`) in one
    statement on `conn` outside a transaction, if none of their mentions is stored and nothing
    changed their blocks since; what is stored for each link, or None when nothing was written
    (a mention was stored, their blocks changed, a linked identity was merged away, another
    writer kept coming first, the links are too many, or the registry is not on PostgreSQL)."""
    if not links:
        return Written([], since)
    check_widths(links)
    new = first_links(links, {})
    if not supported(conn.dialect.name, len(links)) or len(new) != len(links):
        return None
    blocks = sorted({link.block_key for link in links})
    for _ in range(RETRIES):
        stored = _write_at(registry, conn, links, since)
        if stored is not None:
            return Written(stored, since)
        with registry.reading(conn) as session:
            last = session.last_change_unless_changed(since, blocks)
        if last is None or last == since:  # blocks changed, an identity merged away, or a mention stored
            return None
        since = last
    stored = _write_at(registry, conn, links, since)
    return None if stored is None else Written(stored, since)


def supported(dialect: str, links: int) -> bool:
    """Whether this many links can be written as one statement on this database (its dialect's name)."""
    return dialect == "postgresql" and links <= MAX_LINKS


def _write_at(registry: Registry, conn: Connection, links: Sequence[NewLink], since: int) -> list[Stored] | None:
    """The one statement, if the last change is still `since` and no link's mention is stored."""
    count = seqs_needed(links)
    numbered = number_links(links, since + count)
    last_links = numbered.last_links()
    change_rows, mention_rows, stored = numbered.rows({identity: identity for identity in last_links})
    identity_rows = numbered.identity_rows()
    # An identity created here and linked to again here is inserted with its last link's number:
    # an update in the same statement would not see the row.
    for row in identity_rows:
        row["updated_seq"] = last_links.pop(row["identity_id"], row["updated_seq"])
    touched = last_links
    tables = ((identities, identity_rows), (changes, change_rows), (mentions, mention_rows))
    shape = tuple((table.name, len(rows), tuple(rows[0]) if rows else ()) for table, rows in tables)
    params: dict[str, Any] = {
        "since": since,
        "count": count,
        "linked": sorted(touched),
        "mention_ids": [link.mention_id for link in links],
    }
    for table, rows in tables:
        params.update(_row_params(table.name, rows))
    for k, (identity, seq) in enumerate(sorted(touched.items())):
        params[f"touched{k}_identity"], params[f"touched{k}_seq"] = identity, seq
    with registry.autocommit(conn) as active:
        if active.execute(_statement(shape, len(touched)), params).first() is None:
            return None
    return [stored[link.mention_id] for link in links]


def _row_params(name: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {f"{name}{k}_{column}": value for k, row in enumerate(rows) for column, value in row.items()}


@lru_cache(maxsize=128)
def _statement(shape: tuple[tuple[str, int, tuple[str, ...]], ...], touched: int) -> Select[Any]:
    """The one statement for links of this shape ((table, rows, columns) of each insert, and how
    many existing identities they link to), built and compiled once."""
    unmerged = ~exists().where(
        identities.c.identity_id.in_(bindparam("linked", expanding=True)) & (identities.c.status != ACTIVE)
    )
    # A caller deciding without reading the registry first (Resolver, presuming nothing changed)
    # does not know whether a mention was stored: it is, if re-sent. Nothing is written then.
    unstored = ~exists().where(mentions.c.mention_id.in_(bindparam("mention_ids", expanding=True)))
    advanced = (
        update(counters)
        .where((counters.c.name == "changes") & (counters.c.value == bindparam("since")) & unmerged & unstored)
        .values(value=counters.c.value + bindparam("count"))
        .returning(counters.c.value)
        .cte("advanced")
    )
    tables = {table.name: table for table in (identities, changes, mentions)}
    writes: list[CTE] = []
    for name, count, columns in shape:
        if count:
            writes.append(_inserted(tables[name], count, columns, advanced))
    for k in range(touched):
        # Each identity linked to ends with the sequence number of its last link.
        touch = (
            update(identities)
            .where((identities.c.identity_id == bindparam(f"touched{k}_identity")) & select(advanced.c.value).exists())
            .values(updated_seq=bindparam(f"touched{k}_seq"))
        )
        writes.append(touch.cte(f"touched_{k}"))
    return select(advanced.c.value).add_cte(*writes)


def _inserted(table: Table, count: int, columns: tuple[str, ...], advanced: CTE) -> CTE:
    """INSERT of `count` rows of bound values, one row each for each row `advanced` returns."""
    rows = [
        select(*(bindparam(f"{table.name}{k}_{column}", type_=table.c[column].type) for column in columns)).select_from(
            advanced
        )
        for k in range(count)
    ]
    source = rows[0] if count == 1 else union_all(*rows)
    return insert(table).from_select(list(columns), source).cte(f"{table.name}_rows")
