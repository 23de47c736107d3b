"""BibTeX, parsed by bibtexparser (1.x) one entry at a time, with LaTeX decoded by pylatexenc.

The text is cut at lines that open an entry ("@article{key,"), so every entry knows its line, a
broken entry (unbalanced braces, bad syntax, an undefined @string) is one Problem while the
entries after it are still read, and no more than one entry is held at a time. @string
definitions carry over to the entries after them, as in BibTeX.

Mapping: author (split on "and" outside braces; "others" dropped) -> one mention per author,
title, abstract, journal / journaltitle / booktitle -> venue, year (or biblatex date) -> year,
keywords -> topics, the citation key -> work id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bibtexparser.bibdatabase import UndefinedString
from bibtexparser.bibtexexpression import BibtexExpression
from bibtexparser.bparser import BibTexParser

from disambig.markup import MAX_BRACE_DEPTH, latex_to_text
from disambig.readers.common import Entry, Problem, expand_work, source_label, split_list
from disambig.readers.jsonl import iter_lines

# An entry longer than this is refused unparsed (the largest collaboration author lists are a few
# hundred kB); its text is not kept while the rest of it is skipped.
MAX_ENTRY_CHARS = 2_000_000

_ENTRY_START = re.compile(r"\s*@\s*([A-Za-z]+)\s*([{(])\s*([^,\s{}()]*)")
# "A and and B": a doubled "and" is one. Matched from the first space of a run only ((?<!\s)):
# tried from each space of a long run, it read the rest of the run every time (quadratic).
_NAME_SEPARATOR = re.compile(r"(?<!\s)\s+and(?:\s+and)*\s+", re.IGNORECASE)
_KEYWORD_SEPARATORS = re.compile(r"[,;]")
_YEAR_OF_DATE = re.compile(r"\s*(\d{4})\b")


@dataclass
class _Chunk:
    """The lines from one entry's '@' up to the next entry's."""

    line: int
    kind: str
    key: str
    lines: list[str] = field(default_factory=list)
    chars: int = 0
    too_long: bool = False

    def add(self, text: str) -> None:
        self.chars += len(text)
        if self.chars > MAX_ENTRY_CHARS:
            self.too_long = True
            self.lines.clear()
        elif not self.too_long:
            self.lines.append(text)


def split_names(value: str) -> list[str]:
    """The names of an author field, split on "and" outside braces ({Barnes and Noble} is one name)."""
    depth = 0
    depths: list[int] = []
    for char in value:
        depths.append(depth)
        depth += (char == "{") - (char == "}")
    names: list[str] = []
    start = 0
    for match in _NAME_SEPARATOR.finditer(value):
        if depths[match.start()] == 0:
            names.append(value[start : match.start()])
            start = match.end()
    names.append(value[start:])
    return [name for name in (name.strip() for name in names) if name]  # "others": dropped by expand_work


def _extent(text: str, opener: int) -> tuple[int | None, int]:
    """(index just past the entry's closing delimiter or None if never closed, deepest nesting)."""
    closer = "}" if text[opener] == "{" else ")"
    depth = deepest = 0
    in_quotes = False
    for index in range(opener + 1, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            if depth == 0:
                return (index + 1 if closer == "}" else None), deepest
            depth -= 1
        elif closer == ")" and depth == 0:
            if char == '"':
                in_quotes = not in_quotes
            elif char == ")" and not in_quotes:
                return index + 1, deepest
    return None, deepest


def _line_of(chunk: _Chunk, text: str, index: int) -> int:
    return chunk.line + text.count("\n", 0, index)


class _BibReader:
    def __init__(self, path: str | Path) -> None:
        self.label = source_label(path)
        self.parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
        self.parser.expect_multiple_parse = True

    def where(self, chunk: _Chunk) -> str:
        return f"{self.label}:{chunk.line} (entry {chunk.key})" if chunk.key else f"{self.label}:{chunk.line}"

    def read(self, chunk: _Chunk, next_line: int | None) -> Iterator[Entry | Problem]:
        where = self.where(chunk)
        if chunk.kind == "comment":
            return
        if chunk.too_long:
            yield Problem(where, f"entry longer than {MAX_ENTRY_CHARS} characters; skipped")
            return
        text = "".join(chunk.lines)
        match = _ENTRY_START.match(text)
        assert match is not None  # a chunk starts with the line that matched
        end, deepest = _extent(text, match.start(2))
        if end is None:
            until = f"line {next_line} (the next entry)" if next_line else "the end of the file"
            yield Problem(where, f"unbalanced braces: the entry is not closed before {until}")
            return
        if deepest > MAX_BRACE_DEPTH:
            yield Problem(where, f"braces nested deeper than {MAX_BRACE_DEPTH}")
            return
        if "}" in text[end:]:
            stray = _line_of(chunk, text, text.index("}", end))
            closed = _line_of(chunk, text, end - 1)
            yield Problem(
                where, f"unbalanced braces: the entry closes on line {closed}, a '}}' on line {stray} is left"
            )
            return
        try:
            self.parser.parse(text[:end])
        except BibtexExpression.ParseException as exc:
            yield Problem(where, f"not valid BibTeX at line {chunk.line + exc.lineno - 1}: {exc.msg}")
            return
        except UndefinedString as exc:
            yield Problem(where, f"undefined @string {exc.args[0]!r}")
            return
        finally:
            records = list(self.parser.bib_database.entries)
            self.parser.bib_database.entries.clear()
            self.parser.bib_database.comments.clear()
        if chunk.kind in ("string", "preamble"):
            return
        if len(records) != 1:
            yield Problem(
                where, "not valid BibTeX: expected @type{key, field = {value}, ...} with fields split by commas"
            )
            return
        yield from self.expand(where, records[0])

    def expand(self, where: str, record: dict[str, Any]) -> Iterator[Entry | Problem]:
        work: dict[str, Any] = {}
        for key in ("title", "abstract"):
            if record.get(key):
                work[key] = latex_to_text(record[key])
        venue = next((record[k] for k in ("journal", "journaltitle", "booktitle") if record.get(k)), None)
        if venue:
            work["venue"] = latex_to_text(venue)
        if record.get("year"):
            work["year"] = latex_to_text(record["year"])
        elif date := _YEAR_OF_DATE.match(record.get("date", "")):
            work["year"] = date.group(1)
        if record.get("keywords"):
            work["topics"] = split_list(latex_to_text(record["keywords"]), _KEYWORD_SEPARATORS)
        authors = [latex_to_text(name) for name in split_names(record.get("author", ""))]
        yield from expand_work(where, record["ID"], work, [name for name in authors if name])


def iter_bibtex_entries(path: str | Path) -> Iterator[Entry | Problem]:
    reader = _BibReader(path)
    chunk: _Chunk | None = None
    for line_no, line in iter_lines(path):
        match = _ENTRY_START.match(line)
        if match:
            if chunk is not None:
                yield from reader.read(chunk, next_line=line_no)
            chunk = _Chunk(line_no, match.group(1).lower(), match.group(3))
        if chunk is not None:
            chunk.add(line)
    if chunk is not None:
        yield from reader.read(chunk, next_line=None)
