"""CSV and TSV with a header row.

Columns are named like the mention fields (name, coauthors, title, abstract, venue, year,
affiliations, topics, email, orcid, mention_id, work_id); list cells are separated by ';' or '|';
other columns are kept as the mention's extra fields. With an `authors` column instead of `name`,
each row is a work: authors separated by ';' or '|' (or by " and " when neither is used), one
mention per author. A work row cannot say which author an email, ORCID, affiliation or mention id
belongs to, so a works file with such a column is refused.

TSV is read without quoting (a tab never occurs inside a field, quotes are literal), CSV with
standard double-quote quoting. Problems name the physical line a row starts on.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

from disambig.errors import InputFileError
from disambig.mention import LIST_FIELDS
from disambig.names import stands_for_left_out_authors, without_et_al
from disambig.readers.common import (
    Entry,
    Problem,
    expand_work,
    mention_entry,
    source_label,
    source_stem,
    split_list,
    work_id_from,
)
from disambig.readers.jsonl import iter_lines

PER_AUTHOR_COLUMNS = ("mention_id", "email", "orcid", "affiliations", "coauthors")
# A separator's spaces are matched from the first of them only ((?<!\s)): tried from each space of
# a long run of spaces, the pattern read the rest of the run every time (quadratic in its length).
# A match never starts inside a run otherwise: from there it fails where it fails from the run's start.
_AND = re.compile(r"(?<!\s)\s+and\s+")
_COMMA_OR_AND = re.compile(r",\s*(?:and\s+)?|(?<!\s)\s+and\s+")
# One name as author lists abbreviate it: "Smith J", "Garcia-Marquez JL", "Smith J Jr" (PubMed),
# or "J. Smith", "J.-P. Dupont". The surname word is its letters up to the first lower-case one,
# that one, then the rest: written [\w'-]*[a-z][\w'-]*, a long word that fails at its end is tried
# split at each of its lower-case letters (quadratic).
_ABBREVIATED_NAME = re.compile(
    r"\S.*\s[A-Z]{1,3}(?:\s+(?i:jr|sr|ii|iii|iv)\.?)?"
    # A surname word after the initials: not "M.D." or "J. A."
    r"|(?:[A-Z]\.[\s-]?)+\s*[A-Z](?:(?![a-z])[\w'-])*[a-z][\w'-]*"
)


def _texts(path: str | Path) -> Iterator[str]:
    return (line for _, line in iter_lines(path))


def split_authors(cell: str) -> list[str]:
    """'A; B | C' -> three names. Without ';' or '|': commas separate names where every part
    reads as one ('Smith J, Jones K, and Brown L', as PubMed writes them, or three names of two
    words or more); else 'Haziza, Daniel and Oquab, Maxime' -> two, on " and "."""
    if ";" in cell or "|" in cell:
        return split_list(cell)
    parts = split_list(cell, _COMMA_OR_AND)
    named = [without_et_al(part) for part in parts if not stands_for_left_out_authors(part)]
    medline = len(parts) >= 2 and bool(named) and all(_ABBREVIATED_NAME.fullmatch(part) for part in named)
    # With one comma, "de la Fuente, Juan Carlos" is one name written surname first.
    full_names = len(named) >= 3 and all(len(part.split()) >= 2 for part in named)
    return parts if medline or full_names else split_list(cell, _AND)


def _header(rows: Iterator[list[str]], label: str, line: int) -> list[str]:
    columns = [cell.strip().lower() for cell in next(rows)]
    where = f"{label}:{line}"
    for column in columns:
        if column and columns.count(column) > 1:
            raise InputFileError(where, f"column {column!r} appears twice in the header")
    if "name" in columns and "authors" in columns:
        raise InputFileError(where, "the header names both 'name' (a mention a row) and 'authors' (a work a row)")
    if "name" not in columns and "authors" not in columns:
        raise InputFileError(
            where, "a header row naming a 'name' column (mentions) or an 'authors' column (works) is required"
        )
    if "authors" in columns and (per_author := [c for c in PER_AUTHOR_COLUMNS if c in columns]):
        raise InputFileError(
            where,
            f"a works file (an 'authors' column) cannot say whose {', '.join(per_author)} a row gives; "
            "write one mention a row (a 'name' column) or use works JSONL",
        )
    return columns


def iter_delimited_entries(path: str | Path, delimiter: str) -> Iterator[Entry | Problem]:
    label, stem = source_label(path), source_stem(path)
    if delimiter == "\t":
        reader = csv.reader(_texts(path), delimiter="\t", quoting=csv.QUOTE_NONE)
    else:
        reader = csv.reader(_texts(path), delimiter=delimiter, strict=True)
    try:
        columns = _header(reader, label, 1)
    except StopIteration:
        raise InputFileError(label, "empty: a header row is required") from None
    except csv.Error as exc:
        raise InputFileError(f"{label}:1", f"the header row is not valid CSV ({exc})") from exc
    works = "authors" in columns
    previous = reader.line_num
    while True:
        start = previous + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Problem(f"{label}:{start}", f"not valid CSV ({exc})")
            previous = reader.line_num
            continue
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        where = f"{label}:{start}"
        if len(row) != len(columns):
            yield Problem(where, f"{len(row)} fields where the header has {len(columns)}")
            continue
        record: dict[str, object] = {column: cell for column, cell in zip(columns, row) if column and cell.strip()}
        for key in LIST_FIELDS:
            if isinstance(cell := record.get(key), str):
                record[key] = split_list(cell)
        if not works:
            yield mention_entry(record, where, default_id=f"{stem}:{start}")
            continue
        authors = split_authors(str(record.pop("authors", "")))
        work_id = work_id_from(record.pop("work_id", None), default=f"{stem}:{start}")
        assert work_id is not None  # a cell is always a string
        yield from expand_work(where, work_id, record, authors)
