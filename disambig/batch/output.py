"""Writers of batch results: one JSONL line or CSV row per mention, in input order."""

from __future__ import annotations

import csv
import io
from typing import IO, Protocol

import orjson

from disambig.mention import Mention

OUTPUT_FORMATS = ("jsonl", "csv")
COLUMNS = ("mention_id", "work_id", "name", "identity_id", "confidence")


class Writer(Protocol):
    def write(self, mention: Mention, identity_id: str, confidence: float) -> None: ...


class JsonlWriter:
    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle

    def write(self, mention: Mention, identity_id: str, confidence: float) -> None:
        values = (mention.mention_id, mention.work_id, mention.name, identity_id, confidence)
        self.handle.write(orjson.dumps(dict(zip(COLUMNS, values, strict=True))) + b"\n")


class CsvWriter:
    def __init__(self, handle: IO[bytes], *, header: bool = True) -> None:
        self.handle = handle
        self.buffer = io.StringIO()
        self.csv = csv.writer(self.buffer, lineterminator="\n")
        if header:
            self._row(COLUMNS)

    def _row(self, values: tuple[object, ...]) -> None:
        self.csv.writerow(values)
        self.handle.write(self.buffer.getvalue().encode("utf-8"))
        self.buffer.seek(0)
        self.buffer.truncate()

    def write(self, mention: Mention, identity_id: str, confidence: float) -> None:
        self._row((mention.mention_id, mention.work_id, mention.name, identity_id, confidence))


def make_writer(fmt: str, handle: IO[bytes], *, header: bool = True) -> Writer:
    if fmt == "csv":
        return CsvWriter(handle, header=header)
    if fmt == "jsonl":
        return JsonlWriter(handle)
    raise ValueError(f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}")
