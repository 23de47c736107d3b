"""Loading an export (`disambig export --with-mentions`) into an empty registry.

The same identities come back under the same ids, with their mentions, statuses and merge/split
lineage; the new registry's change feed starts afresh with one `created` change per identity
(detail {"by": "load"}). Curation constraints are not part of an export and are not restored.
Everything is loaded in one transaction: a bad file leaves the registry empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from disambig.errors import DisambigError
from disambig.registry.schema import identities, mentions
from disambig.registry.store import MERGED, Registry


class LoadError(DisambigError):
    """An export that cannot be loaded as asked (names the file and line)."""


@dataclass
class LoadReport:
    identities: int = 0
    mentions: int = 0
    merged: int = 0
    split: int = 0


def _entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise LoadError(f"{path}:{number}: not JSON ({exc})") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("identity_id"), str):
                raise LoadError(f"{path}:{number}: not an exported identity (no identity_id)")
            yield number, entry


def load_export(registry: Registry, path: Path) -> LoadReport:
    """Load a JSONL export made with mentions into a registry that holds no identity yet."""
    report = LoadReport()
    try:
        with registry.engine.begin() as conn:
            registry._lock_feed(conn)
            if conn.execute(select(func.count()).select_from(identities)).scalar_one():
                raise LoadError(f"{registry.url}: the registry already holds identities; load needs an empty one")
            # Identities and mentions first, lineage second: a merge or split may point at an
            # identity further down the file.
            for number, entry in _entries(path):
                _insert(registry, conn, path, number, entry, report)
            for number, entry in _entries(path):
                _link_lineage(conn, path, number, entry, report)
    except IntegrityError as exc:
        raise LoadError(f"{path}: inconsistent export: {exc.orig}") from None
    return report


def _insert(
    registry: Registry, conn: Connection, path: Path, number: int, entry: dict[str, Any], report: LoadReport
) -> None:
    stored = entry.get("mentions")
    if stored is None and entry.get("mention_ids"):
        raise LoadError(f"{path}:{number}: no mention records; export with --with-mentions to load")
    identity_id = entry["identity_id"]
    detail = {"by": "load", "status": entry.get("status", "active")}
    seq = registry._create_identity(conn, identity_id, str(entry.get("block_key", "")), "created", detail=detail)
    try:
        rows = [
            {
                "mention_id": str(m["record"]["mention_id"]),
                "identity_id": identity_id,
                "block_key": str(m["block_key"]),
                "record": dict(m["record"]),
                "confidence": float(m["confidence"]),
                "linked_seq": seq,
            }
            for m in stored or []
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadError(f"{path}:{number}: malformed mention entry ({exc!r})") from None
    if rows:
        conn.execute(insert(mentions), rows)
    report.identities += 1
    report.mentions += len(rows)


def _link_lineage(conn: Connection, path: Path, number: int, entry: dict[str, Any], report: LoadReport) -> None:
    values: dict[str, Any] = {}
    if entry.get("split_from"):
        values["split_from"] = entry["split_from"]
        report.split += 1
    if entry.get("status") == MERGED:
        if not entry.get("merged_into"):
            raise LoadError(f"{path}:{number}: a merged identity without merged_into")
        values.update(status=MERGED, merged_into=entry.get("merged_into"))
        report.merged += 1
    if values:
        conn.execute(update(identities).where(identities.c.identity_id == entry["identity_id"]).values(**values))
