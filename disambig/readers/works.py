"""JSON Lines works: one work a line, expanded into one mention per author.

{"work_id", "title", "abstract", "venue", "year", "topics",
 "authors": [{"name", "affiliations", "email", "orcid", "mention_id"} | "name as written"]}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from disambig.readers.common import Entry, Problem, expand_work, source_label, source_stem, work_id_from
from disambig.readers.jsonl import iter_values


def iter_work_entries(path: str | Path) -> Iterator[Entry | Problem]:
    label, stem = source_label(path), source_stem(path)
    for line_no, record, error in iter_values(path):
        where = f"{label}:{line_no}"
        if error:
            yield Problem(where, error)
            continue
        if not isinstance(record, Mapping):
            yield Problem(where, f"a work must be a JSON object, got {type(record).__name__}")
            continue
        authors = record.get("authors")
        if not isinstance(authors, list):
            yield Problem(where, "no authors" if authors is None else "authors: must be a list")
            continue
        work_id = work_id_from(record.get("work_id"), default=f"{stem}:{line_no}")
        if work_id is None:
            yield Problem(where, f"work_id: must be a string, got {type(record['work_id']).__name__}")
            continue
        shared = {key: value for key, value in record.items() if key not in ("authors", "work_id")}
        yield from expand_work(where, work_id, shared, authors)
