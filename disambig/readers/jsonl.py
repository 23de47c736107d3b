"""JSON Lines mentions (plain, .gz, or '-' for stdin): the native input format."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from disambig.errors import InputFileError, InvalidMentionError
from disambig.mention import Mention, mention_from_record
from disambig.readers.common import Entry, Problem, mention_entry, source_label, source_stem


def open_binary(path: str | Path) -> IO[bytes]:
    """Open an input as bytes ('-': standard input); gzip is recognised by its magic bytes."""
    raw: io.BufferedReader
    if str(path) == "-":
        stdin = sys.stdin.buffer
        raw = stdin if isinstance(stdin, io.BufferedReader) else io.BufferedReader(stdin)  # type: ignore[arg-type]
    else:
        try:
            raw = open(path, "rb")  # noqa: SIM115 - handed to the caller
        except OSError as exc:
            raise InputFileError(str(path), exc.strerror or str(exc)) from exc
    if raw.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    return raw


# What a truncated or damaged gzip stream raises while it is read.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def read_bytes(path: str | Path) -> bytes:
    """The whole (decompressed) content, for formats that cannot be read a record at a time."""
    try:
        with open_binary(path) as handle:
            return handle.read()
    except GZIP_ERRORS as exc:
        raise InputFileError(source_label(path), f"truncated or corrupt gzip ({exc})") from exc


def open_text(path: str | Path) -> IO[str]:
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="strict")


def iter_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for every line; decoded line by line so errors name the right line.
    A byte order mark opening the file (Windows tools write one) is dropped: it is no text."""
    label = source_label(path)
    line_no = 0
    try:
        with open_binary(path) as handle:
            for line_no, raw_line in enumerate(handle, start=1):
                try:
                    text = raw_line.decode("utf-8")
                    yield line_no, text.removeprefix("\ufeff") if line_no == 1 else text
                except UnicodeDecodeError as exc:
                    raise InputFileError(f"{label}:{line_no}", f"not valid UTF-8 ({exc.reason})") from exc
    except GZIP_ERRORS as exc:
        raise InputFileError(f"{label}:{line_no + 1}", f"truncated or corrupt gzip ({exc})") from exc


def iter_values(path: str | Path) -> Generator[tuple[int, Any, str], None, None]:
    """(line number, decoded JSON value, error) for every non-blank line.

    error is "" for a good line, else why the line is not JSON (and the value is None), so a
    caller can report the line and go on.
    """
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            yield line_no, orjson.loads(line), ""
        except orjson.JSONDecodeError as exc:
            yield line_no, None, f"not valid JSON ({exc})"


def iter_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """(line number, decoded JSON value) for every non-blank line; raises at the first bad one."""
    label = source_label(path)
    for line_no, value, error in iter_values(path):
        if error:
            raise InputFileError(f"{label}:{line_no}", error)
        yield line_no, value


def iter_mention_entries(path: str | Path) -> Iterator[Entry | Problem]:
    """One entry per line of a mentions JSONL file; a bad line is a Problem and reading goes on."""
    label, stem = source_label(path), source_stem(path)
    for line_no, value, error in iter_values(path):
        where = f"{label}:{line_no}"
        yield Problem(where, error) if error else mention_entry(value, where, default_id=f"{stem}:{line_no}")


def _mentions(path: str | Path) -> Iterator[tuple[Mention, Any]]:
    label, stem = source_label(path), source_stem(path)
    seen: dict[str, int] = {}
    for line_no, record in iter_records(path):
        where = f"{label}:{line_no}"
        try:
            mention = mention_from_record(record, where, default_id=f"{stem}:{line_no}")
        except InvalidMentionError as exc:
            raise InputFileError(where, str(exc).removeprefix(f"{where}: ")) from exc
        if mention.mention_id in seen:
            raise InputFileError(
                where, f"mention_id {mention.mention_id!r} already used on line {seen[mention.mention_id]}"
            )
        seen[mention.mention_id] = line_no
        yield mention, record


def read_mentions(path: str | Path) -> list[Mention]:
    """All mentions of a file, in order; raises InputFileError at the first bad line."""
    mentions = [mention for mention, _ in _mentions(path)]
    if not mentions:
        raise InputFileError(str(path), "no mentions (the file is empty)")
    return mentions


def read_labelled(path: str | Path) -> tuple[list[Mention], list[str]]:
    """Mentions with their gold person_id, for training and evaluation."""
    mentions: list[Mention] = []
    labels: list[str] = []
    for mention, record in _mentions(path):
        person = record.get("person_id")
        if person is None:
            raise InputFileError(str(path), f"mention {mention.mention_id!r} has no person_id")
        # A label is a name or a number: "" would make every unlabelled mention one person, and
        # true, a list or an object would be labels only by their spelling.
        if isinstance(person, bool) or not isinstance(person, str | int) or not str(person).strip():
            raise InputFileError(
                str(path), f"mention {mention.mention_id!r}: person_id must be a non-empty string or an integer"
            )
        mentions.append(mention)
        labels.append(str(person))
    if not mentions:
        raise InputFileError(str(path), "no mentions (the file is empty)")
    return mentions, labels


def read_labelled_pairs(path: str | Path) -> tuple[list[tuple[Mention, Mention, bool]], list[str]]:
    """Pair files: {"pair_id", "same_person": bool, "a": mention, "b": mention} a line.

    Returns the valid pairs and one message per skipped pair (real gold files hold a few
    mentions with an empty name; training goes on without them).
    """
    label = str(path)
    pairs: list[tuple[Mention, Mention, bool]] = []
    skipped: list[str] = []
    for line_no, record in iter_records(path):
        where = f"{label}:{line_no}"
        if not isinstance(record, dict) or not isinstance(record.get("same_person"), bool):
            raise InputFileError(where, "a pair needs a boolean same_person and mentions a and b")
        try:
            a = mention_from_record(record.get("a"), f"{where} (a)", default_id=f"{line_no}:a")
            b = mention_from_record(record.get("b"), f"{where} (b)", default_id=f"{line_no}:b")
        except InvalidMentionError as exc:
            skipped.append(str(exc))
            continue
        pairs.append((a, b, record["same_person"]))
    return pairs, skipped
