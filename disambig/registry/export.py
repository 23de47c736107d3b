"""Exporting identities for a catalogue or an authority file, streamed from the registry.

Every identity ever issued is exported, merged ones too (with the id they redirect to), so a
catalogue can replace each id it holds. One ordered query over identities and their mentions is
read through a server-side cursor and grouped as it goes: memory holds one identity at a time.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import groupby
from typing import IO, Any

from sqlalchemy import select

from disambig.registry.profile import display_name, main_orcid
from disambig.registry.schema import identities, mentions
from disambig.registry.store import Registry

FORMATS = ("jsonl", "csv")
FETCH_ROWS = 1_000
# CSV cells holding lists are JSON arrays: lossless, whatever the names contain.
CSV_FIELDS = (
    "identity_id",
    "status",
    "resolved_id",
    "merged_into",
    "split_from",
    "display_name",
    "name_variants",
    "orcid",
    "mention_count",
    "mention_ids",
    "work_ids",
    "block_key",
    "created_seq",
    "updated_seq",
)


@dataclass(slots=True)
class ExportedIdentity:
    identity_id: str
    status: str  # active | merged
    resolved_id: str  # where the id lives now: itself when active, the end of its merge chain if not
    merged_into: str | None  # lineage as recorded: the identity this one was merged into
    split_from: str | None  # lineage as recorded: the identity this one was split off
    display_name: str
    name_variants: list[str]
    orcid: str
    mention_count: int
    mention_ids: list[str]
    work_ids: list[str]
    block_key: str
    created_seq: int
    updated_seq: int
    # With mentions: {"block_key", "confidence", "record"} of each, enough to load it elsewhere.
    mentions: list[dict[str, Any]] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.mentions is None:
            del out["mentions"]
        return out


def iter_identities(registry: Registry, since_seq: int = 0, with_mentions: bool = False) -> Iterator[ExportedIdentity]:
    """Every identity (changed after since_seq, if given), ordered by id, with its mentions pooled."""
    record = mentions.c.record
    columns = [
        identities,
        mentions.c.mention_id,
        mentions.c.block_key.label("mention_block_key"),
        mentions.c.confidence,
        record["name"].as_string().label("name"),
        record["work_id"].as_string().label("work_id"),
        record["orcid"].as_string().label("orcid"),
    ]
    if with_mentions:
        columns.append(record)
    query = (
        select(*columns)
        .select_from(identities.outerjoin(mentions, mentions.c.identity_id == identities.c.identity_id))
        .where(identities.c.updated_seq > since_seq)
        .order_by(identities.c.identity_id, mentions.c.mention_id)
    )
    survivors: dict[str, str] = {}
    with registry.engine.connect() as conn:
        rows = conn.execution_options(yield_per=FETCH_ROWS).execute(query)
        for identity_id, group in groupby(rows, key=lambda row: row.identity_id):
            members = list(group)
            first = members[0]
            linked = [row for row in members if row.mention_id is not None]
            names = Counter(row.name or "" for row in linked)
            yield ExportedIdentity(
                identity_id=identity_id,
                status=first.status,
                resolved_id=_survivor(registry, first.identity_id, first.merged_into, survivors),
                merged_into=first.merged_into,
                split_from=first.split_from,
                display_name=display_name(names),
                name_variants=sorted(n for n in names if n),
                orcid=main_orcid(Counter(row.orcid for row in linked if row.orcid)),
                mention_count=len(linked),
                mention_ids=[row.mention_id for row in linked],
                work_ids=sorted({row.work_id for row in linked if row.work_id}),
                block_key=first.block_key,
                created_seq=first.created_seq,
                updated_seq=first.updated_seq,
                mentions=(
                    [
                        {"block_key": row.mention_block_key, "confidence": row.confidence, "record": row.record}
                        for row in linked
                    ]
                    if with_mentions
                    else None
                ),
            )


def _survivor(registry: Registry, identity_id: str, merged_into: str | None, cache: dict[str, str]) -> str:
    """The end of a merge chain (read on another connection, so the export cursor stays open)."""
    if merged_into is None:
        return identity_id
    if identity_id not in cache:
        cache[identity_id] = registry.get_identity(identity_id).resolved_id
    return cache[identity_id]


def write_identities(identities_: Iterator[ExportedIdentity], fmt: str, handle: IO[bytes]) -> int:
    """Write identities as JSONL (one object a line) or CSV (a header, then one row each)."""
    count = 0
    if fmt == "jsonl":
        for identity in identities_:
            handle.write(json.dumps(identity.to_dict(), ensure_ascii=False).encode() + b"\n")
            count += 1
        return count
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    text = io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.DictWriter(text, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for identity in identities_:
            row = identity.to_dict()
            for key, value in row.items():
                if isinstance(value, list):
                    row[key] = json.dumps(value, ensure_ascii=False)
                elif value is None:
                    row[key] = ""
            writer.writerow(row)
            count += 1
    finally:
        text.detach()  # the caller owns the binary handle
    return count
