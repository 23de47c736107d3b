"""Resolving a listing against a registry in chunks that survive a kill at any moment.

Each chunk is resolved in one registry transaction (all of it stored, or none), then its lines
are appended to OUTPUT.partial and synced. Run again with the same arguments, the run checks
that the partial output is a prefix of this listing, steps back to the last chunk boundary and
goes on: mentions already stored are answered by the registry (resolution is idempotent by
mention id), and chunks are cut at the same places as in an uninterrupted run, so the output is
the same and nothing is stored twice. The partial file is renamed to OUTPUT at the end.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Protocol

import orjson

from disambig.batch.output import COLUMNS, make_writer
from disambig.mention import Mention

CHUNK_MENTIONS = 500


class Resolved(Protocol):
    @property
    def identity_id(self) -> str: ...
    @property
    def confidence(self) -> float: ...


# Chunks in, one answer per chunk out, in order: a local resolver, or a server's ResolveStream.
ResolveChunks = Callable[[Iterator[list[Mention]]], Iterator[Sequence[Resolved]]]


@dataclass(frozen=True, slots=True)
class Done:
    """A result line already in the partial output."""

    mention_id: str
    identity_id: str
    confidence: float


def _read_done(path: Path, fmt: str) -> list[Done]:
    """The complete lines of a partial output (a line cut by a kill is dropped), up to the first
    line this format cannot read (e.g. a partial output written with the other --output-format)."""
    if not path.exists():
        return []
    text = path.read_bytes()
    text = text[: text.rfind(b"\n") + 1]
    done: list[Done] = []
    try:
        if fmt == "csv":
            rows = csv.reader(io.StringIO(text.decode("utf-8")))
            if tuple(next(rows, ())) != COLUMNS:
                return []
            for r in rows:
                done.append(Done(r[0], r[3], float(r[4])))
        else:
            for line in text.splitlines():
                record = orjson.loads(line)
                done.append(Done(record["mention_id"], record["identity_id"], float(record["confidence"])))
    except (ValueError, KeyError, IndexError, TypeError, csv.Error):
        pass  # what follows is resolved again
    return done


def _chunks(mentions: Iterable[Mention], size: int) -> Iterator[list[Mention]]:
    source = iter(mentions)
    while chunk := list(islice(source, size)):
        yield chunk


class ResumableRun:
    """One resolving run writing OUTPUT, resumable from OUTPUT.partial."""

    def __init__(self, output: Path, fmt: str, chunk: int = CHUNK_MENTIONS) -> None:
        self.output = output
        self.partial = output.with_name(output.name + ".partial")
        self.fmt = fmt
        self.chunk = chunk
        self.resumed = 0  # mentions taken over from an earlier, interrupted run

    def run(
        self,
        mentions: Iterable[Mention],
        resolve: ResolveChunks,
        on_result: Callable[[Mention, str, float], None],
    ) -> int:
        """Resolve every mention; on_result sees each one in order. Returns the mention count."""
        done = _read_done(self.partial, self.fmt)
        chunks = _chunks(mentions, self.chunk)
        kept: list[tuple[Mention, Done]] = []
        pending: list[Mention] = []
        # Take over whole chunks of the earlier run while they match this listing.
        for chunk in chunks:
            matched = [d for m, d in zip(chunk, done[len(kept) :]) if m.mention_id == d.mention_id]
            if len(chunk) == self.chunk and len(matched) == len(chunk):
                kept += zip(chunk, matched, strict=True)
                continue
            pending = chunk
            break
        self.resumed = len(kept)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        count = 0
        with open(self.partial, "wb") as handle:
            writer = make_writer(self.fmt, handle)
            for mention, d in kept:
                writer.write(mention, d.identity_id, d.confidence)
                on_result(mention, d.identity_id, d.confidence)
                count += 1
            _sync(handle)
            sent: list[list[Mention]] = []
            unreadable: list[Exception] = []

            def tracked() -> Iterator[list[Mention]]:
                # An error reading the listing ends the chunks, and is raised once the chunks sent
                # are answered and checkpointed: raised in here, a server stream (whose requests
                # are read in a thread of gRPC's) would end in an opaque "Exception iterating
                # requests" instead.
                try:
                    for chunk in _prepend(pending, chunks):
                        sent.append(chunk)
                        yield chunk
                except Exception as exc:
                    unreadable.append(exc)

            for results in resolve(tracked()):
                chunk = sent.pop(0)
                for mention, result in zip(chunk, results, strict=True):
                    writer.write(mention, result.identity_id, result.confidence)
                    on_result(mention, result.identity_id, result.confidence)
                    count += 1
                _sync(handle)
        if unreadable:
            raise unreadable[0]
        os.replace(self.partial, self.output)
        return count


def _prepend(first: list[Mention], rest: Iterator[list[Mention]]) -> Iterator[list[Mention]]:
    if first:
        yield first
    yield from rest


def _sync(handle: IO[bytes]) -> None:
    handle.flush()
    os.fsync(handle.fileno())
