"""`disambig db check`: does a registry hold together? Changes no row; names every problem it finds.

Checked:
- every mention's identity exists and is active (a merged identity keeps no mentions);
- every identity is active or merged; an active one redirects nowhere; a merged one redirects
  to an identity, and following merged_into ends in an active identity, without a cycle;
- split_from names an identity;
- every active identity has at least one mention, unless that is explained (a `db load` of an
  export that listed it without mentions: reported as a note, not a problem);
- curation constraints are must_link or cannot_link between two different stored mentions;
- the change feed is gap-free: its seqs are exactly 1..the counter, and no identity or mention
  carries a seq past the counter (a write whose change is missing);
- SQLite: PRAGMA integrity_check and PRAGMA foreign_key_check.

Noted (not problems): mentions that this version's name parser reads into another block than
the one they were stored in by an older version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, inspect, or_, select

from disambig.registry.schema import changes, constraints, counters, identities, mentions
from disambig.registry.store import ACTIVE, MERGED, Registry, misplaced_mentions

# Problems listed per kind; past this many, one line says how many more there are.
SHOWN_PER_KIND = 20
TABLES = ("identities", "mentions", "constraints", "changes", "counters")


@dataclass
class IntegrityReport:
    """What a check found: problems (the registry is damaged), notes (odd but explained), counts."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.get('identities', 0)} identities ({c.get('active', 0)} active, {c.get('merged', 0)} merged), "
            f"{c.get('mentions', 0)} mentions, {c.get('constraints', 0)} constraints, "
            f"{c.get('changes', 0)} changes (counter {c.get('counter', 0)})"
        )


class _Findings:
    """Collects the lines of one kind of problem, keeping the first SHOWN_PER_KIND."""

    def __init__(self, report: IntegrityReport) -> None:
        self.report = report

    def add(self, lines: Iterator[str] | list[str], *, note: bool = False) -> None:
        target = self.report.notes if note else self.report.problems
        extra = 0
        for k, line in enumerate(lines):
            if k < SHOWN_PER_KIND:
                target.append(line)
            else:
                extra += 1
        if extra:
            target.append(f"... and {extra} more like the line above")


def check_registry(registry: Registry) -> IntegrityReport:
    """Check a registry (it is not migrated or changed); see the module docstring for what."""
    report = IntegrityReport()
    with registry.engine.connect() as conn:
        missing = [t for t in TABLES if not inspect(conn).has_table(t)]
        if missing:
            report.problems.append(f"not a registry: no table {', '.join(missing)} (run `disambig db migrate`)")
            return report
        found = _Findings(report)
        _count(conn, report)
        _check_mentions(conn, found)
        _check_identities(conn, found)
        _check_constraints(conn, found)
        _check_feed(conn, report, found)
        _check_block_keys(conn, found)
        if conn.dialect.name == "sqlite":
            _check_sqlite(conn, found)
    return report


def _count(conn: Connection, report: IntegrityReport) -> None:
    def count(table: Any, *where: Any) -> int:
        query = select(func.count()).select_from(table)
        return int(conn.execute(query.where(*where) if where else query).scalar_one())

    report.counts = {
        "identities": count(identities),
        "active": count(identities, identities.c.status == ACTIVE),
        "merged": count(identities, identities.c.status == MERGED),
        "mentions": count(mentions),
        "constraints": count(constraints),
        "changes": count(changes),
    }


def _check_mentions(conn: Connection, found: _Findings) -> None:
    joined = mentions.outerjoin(identities, mentions.c.identity_id == identities.c.identity_id)
    orphans = conn.execute(
        select(mentions.c.mention_id, mentions.c.identity_id)
        .select_from(joined)
        .where(identities.c.identity_id.is_(None))
    )
    found.add(f"mention {r.mention_id!r} belongs to identity {r.identity_id!r}, which does not exist" for r in orphans)
    on_inactive = conn.execute(
        select(mentions.c.mention_id, mentions.c.identity_id, identities.c.status)
        .select_from(joined)
        .where(identities.c.status != ACTIVE)
    )
    found.add(
        f"mention {r.mention_id!r} belongs to identity {r.identity_id!r}, which is {r.status}, not active"
        for r in on_inactive
    )


def _check_block_keys(conn: Connection, found: _Findings) -> None:
    """A note for each mention this version's name parser puts in another block than the one it
    is stored in (stored by an older version): new mentions of that name are matched in the new
    block only, so they cannot join the identities of the old one until `recluster --rekey`."""
    found.add(
        (
            f"mention {m.mention_id!r} ({m.name!r}) is stored in block {m.stored_key!r}, "
            f"which this version reads as {m.block_key!r} (disambig recluster --rekey moves it)"
            for m in misplaced_mentions(conn)
        ),
        note=True,
    )


def _check_identities(conn: Connection, found: _Findings) -> None:
    rows = conn.execute(
        select(identities.c.identity_id, identities.c.status, identities.c.merged_into, identities.c.split_from)
    ).all()
    status = {r.identity_id: r.status for r in rows}
    merged_into = {r.identity_id: r.merged_into for r in rows}
    found.add(
        f"identity {r.identity_id!r} has status {r.status!r} (expected {ACTIVE} or {MERGED})"
        for r in rows
        if r.status not in (ACTIVE, MERGED)
    )
    found.add(
        f"active identity {r.identity_id!r} redirects to {r.merged_into!r}"
        for r in rows
        if r.status == ACTIVE and r.merged_into is not None
    )
    found.add(
        f"identity {r.identity_id!r} was split from {r.split_from!r}, which does not exist"
        for r in rows
        if r.split_from is not None and r.split_from not in status
    )
    found.add(_merge_chain_problems([r.identity_id for r in rows if r.status == MERGED], status, merged_into))
    empty = conn.execute(
        select(identities.c.identity_id).where(
            identities.c.status == ACTIVE,
            ~select(mentions.c.mention_id).where(mentions.c.identity_id == identities.c.identity_id).exists(),
        )
    )
    empty_ids = [r.identity_id for r in empty]
    loaded = _loaded_without_mentions(conn, empty_ids)
    found.add(f"active identity {i!r} has no mentions" for i in empty_ids if i not in loaded)
    found.add(
        (
            f"active identity {i!r} has no mentions: loaded so from an export (db load)"
            for i in empty_ids
            if i in loaded
        ),
        note=True,
    )


def _merge_chain_problems(
    merged: list[str], status: dict[str, str], merged_into: dict[str, str | None]
) -> Iterator[str]:
    """Every merged identity's chain of redirects ends in an active identity, without a cycle."""
    good: set[str] = set()  # merged ids whose chain ends in an active identity
    bad: set[str] = set()  # merged ids whose chain goes wrong somewhere already reported
    for start in merged:
        path = [start]
        current = start
        while True:
            target = merged_into[current]
            problem = None
            if target is None:
                problem = f"merged identity {current!r} redirects nowhere (merged_into is empty)"
            elif target not in status:
                problem = f"identity {current!r} redirects to {target!r}, which does not exist"
            elif target in good or status[target] == ACTIVE:
                good.update(path)
            elif target in bad:
                bad.update(path)
            elif status[target] != MERGED:
                problem = f"identity {current!r} redirects to {target!r}, whose status is {status[target]!r}"
            elif target in path:
                cycle = path[path.index(target) :]
                problem = "merge cycle: " + " -> ".join(repr(i) for i in [*cycle, target])
            else:  # another merged identity: follow it
                path.append(target)
                current = target
                continue
            if problem is not None:
                bad.update(path)
                yield problem
            break


def _loaded_without_mentions(conn: Connection, identity_ids: list[str]) -> set[str]:
    """Of these identities, those a `db load` created (their `created` change says by: load)."""
    loaded: set[str] = set()
    for start in range(0, len(identity_ids), 500):
        query = select(changes.c.identity_id, changes.c.detail).where(
            changes.c.kind == "created", changes.c.identity_id.in_(identity_ids[start : start + 500])
        )
        loaded.update(r.identity_id for r in conn.execute(query) if (r.detail or {}).get("by") == "load")
    return loaded


def _check_constraints(conn: Connection, found: _Findings) -> None:
    for end in (constraints.c.mention_a, constraints.c.mention_b):
        query = (
            select(constraints.c.constraint_id, end.label("mention_id"))
            .select_from(constraints.outerjoin(mentions, end == mentions.c.mention_id))
            .where(mentions.c.mention_id.is_(None))
        )
        found.add(
            f"constraint {r.constraint_id} names mention {r.mention_id!r}, which is not stored"
            for r in conn.execute(query)
        )
    odd = conn.execute(
        select(constraints.c.constraint_id, constraints.c.kind, constraints.c.mention_a).where(
            or_(
                constraints.c.kind.not_in(("must_link", "cannot_link")),
                constraints.c.mention_a == constraints.c.mention_b,
            )
        )
    )
    found.add(
        f"constraint {r.constraint_id} is a {r.kind!r} of mention {r.mention_a!r} with itself"
        if r.kind in ("must_link", "cannot_link")
        else f"constraint {r.constraint_id} has kind {r.kind!r} (expected must_link or cannot_link)"
        for r in odd
    )


def _check_feed(conn: Connection, report: IntegrityReport, found: _Findings) -> None:
    counter_rows = conn.execute(select(counters.c.value).where(counters.c.name == "changes")).all()
    if len(counter_rows) != 1:
        found.add([f"the change counter row is missing or repeated ({len(counter_rows)} rows)"])
        return
    counter = int(counter_rows[0].value)
    report.counts["counter"] = counter
    seqs = conn.execute(select(changes.c.seq).order_by(changes.c.seq)).scalars()
    found.add(_feed_gaps(iter(seqs), counter))
    stamped = (
        (identities.c.identity_id, identities.c.created_seq),
        (identities.c.identity_id, identities.c.updated_seq),
        (mentions.c.mention_id, mentions.c.linked_seq),
    )
    for key, column in stamped:
        rows = conn.execute(select(key, column).where(or_(column > counter, column < 1)))
        found.add(
            f"{key.table.name} row {r[0]!r} has {column.name} {r[1]}, outside the feed 1..{counter}"
            " (a write whose change is missing)"
            for r in rows
        )
    dangling = conn.execute(
        select(mentions.c.mention_id, mentions.c.linked_seq)
        .select_from(mentions.outerjoin(changes, changes.c.seq == mentions.c.linked_seq))
        .where(and_(changes.c.seq.is_(None), mentions.c.linked_seq <= counter, mentions.c.linked_seq >= 1))
    )
    found.add(f"mention {r.mention_id!r} was linked at seq {r.linked_seq}, which is not in the feed" for r in dangling)


def _feed_gaps(seqs: Iterator[int], counter: int) -> Iterator[str]:
    """Problems of a sorted seq column against 1..counter: missing runs, and seqs past the counter."""
    expected = 1
    for seq in seqs:
        if seq > counter:
            yield f"change seq {seq} is past the counter ({counter})"
            continue
        if seq < expected:  # below 1 (seq is the primary key: never repeated)
            yield f"change seq {seq} is outside 1..{counter}"
            continue
        if seq > expected:
            yield f"change feed gap: seq {_run(expected, seq - 1)} missing"
        expected = seq + 1
    if expected <= counter:
        yield f"change feed gap: seq {_run(expected, counter)} missing (the counter is at {counter})"


def _run(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"


def _check_sqlite(conn: Connection, found: _Findings) -> None:
    verdict = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
    if verdict != ["ok"]:
        found.add(f"SQLite integrity_check: {line}" for line in verdict)
    found.add(
        f"SQLite foreign_key_check: a row of {r[0]} (rowid {r[1]}) points at a missing row of {r[2]}"
        for r in conn.exec_driver_sql("PRAGMA foreign_key_check")
    )
