"""One reader layer over every batch input format: entries (works or mentions) and problems.

iter_entries(path) yields an Entry per listing entry (a work expanded into one mention per
author, or a single mention) and a Problem per malformed entry, so a caller can report and count
bad entries while the rest of the file is read. Whole-file failures (a missing file, text that
is not UTF-8, truncated gzip, XML that cannot be parsed, a CSV without a usable header) raise
InputFileError. Gzip is accepted for every format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from functools import partial
from pathlib import Path

from disambig.errors import InputFileError
from disambig.readers.atom import iter_atom_entries
from disambig.readers.bibtex import iter_bibtex_entries
from disambig.readers.common import Entry, Problem, source_label
from disambig.readers.csl import iter_csl_entries
from disambig.readers.delimited import iter_delimited_entries
from disambig.readers.jsonl import iter_mention_entries, iter_values
from disambig.readers.works import iter_work_entries

FORMATS = ("mentions", "works", "csl-json", "bibtex", "atom", "csv", "tsv")

_READERS: dict[str, Callable[[str | Path], Iterator[Entry | Problem]]] = {
    "mentions": iter_mention_entries,
    "works": iter_work_entries,
    "csl-json": iter_csl_entries,
    "bibtex": iter_bibtex_entries,
    "atom": iter_atom_entries,
    "csv": partial(iter_delimited_entries, delimiter=","),
    "tsv": partial(iter_delimited_entries, delimiter="\t"),
}
_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "csl-json",
    ".bib": "bibtex",
    ".atom": "atom",
    ".xml": "atom",
    ".csv": "csv",
    ".tsv": "tsv",
}
# A JSONL file is a works file when its first JSON record has an "authors" list; bad lines at the
# top are passed over, up to this many.
_DETECTION_LINES = 100


def _jsonl_kind(path: str | Path) -> str:
    with closing(iter_values(path)) as values:
        for seen, (_, record, error) in enumerate(values, start=1):
            if not error:
                return "works" if isinstance(record, dict) and isinstance(record.get("authors"), list) else "mentions"
            if seen >= _DETECTION_LINES:
                break
    return "mentions"


def detect_format(path: str | Path) -> str:
    """The format of an input, from its name (".gz" looked through); '-' (stdin) is mentions JSONL."""
    if str(path) == "-":
        return "mentions"
    name = Path(path).name.lower().removesuffix(".gz")
    kind = _BY_SUFFIX.get(Path(name).suffix)
    if kind is None:
        raise InputFileError(
            str(path),
            f"cannot tell the format from the file name; name it ({', '.join(FORMATS)}) "
            f"or use a known extension ({', '.join(_BY_SUFFIX)}, optionally .gz)",
        )
    return _jsonl_kind(path) if kind == "jsonl" else kind


def iter_entries(path: str | Path, fmt: str | None = None) -> Iterator[Entry | Problem]:
    """Entries and problems of an input, in file order; fmt is one of FORMATS, detected when None.

    A mention id used twice in the input is a Problem on the second use (that mention is left out).
    """
    chosen = fmt or detect_format(path)
    if chosen not in _READERS:
        raise ValueError(f"unknown input format {chosen!r}; expected one of {', '.join(FORMATS)}")
    first_use: dict[str, str] = {}
    anything = False
    for item in _READERS[chosen](path):
        anything = True
        if isinstance(item, Problem):
            yield item
            continue
        kept = []
        for mention in item.mentions:
            if mention.mention_id in first_use:
                yield Problem(
                    item.where, f"mention_id {mention.mention_id!r} already used at {first_use[mention.mention_id]}"
                )
            else:
                first_use[mention.mention_id] = item.where
                kept.append(mention)
        if len(kept) == len(item.mentions):
            yield item
        elif kept:
            yield replace(item, mentions=tuple(kept))
    if not anything:
        raise InputFileError(source_label(path), f"no entries (the file is empty, or not {chosen})")
