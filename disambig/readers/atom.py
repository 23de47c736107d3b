"""arXiv API Atom feeds: feed/entry with id, title, summary, published, author (name,
arxiv:affiliation), category and arxiv:primary_category.

Parsed as a stream with defusedxml's parser, which refuses entity declarations (billion laughs)
and external references; entries are built one at a time and dropped once read, and a document
that runs on for MAX_ENTRY_BYTES without closing an entry is refused rather than held.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from disambig.errors import InputFileError
from disambig.markup import squash_spaces
from disambig.readers.common import Entry, Problem, expand_work, source_label, source_stem
from disambig.readers.jsonl import GZIP_ERRORS, open_binary

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
MAX_ENTRY_BYTES = 16 * 1024 * 1024
_READ_SIZE = 64 * 1024


class _EntryCollector:
    """A parser target that builds each <entry> element, noting its line, and ignores the rest."""

    def __init__(self) -> None:
        self.line_of_start: Callable[[], int] = lambda: 0
        self.root = ""
        self.done: list[tuple[int, ET.Element]] = []
        self._builder: ET.TreeBuilder | None = None
        self._depth = 0
        self._line = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if not self.root:
            self.root = tag
        if self._builder is None:
            if tag != f"{ATOM}entry":
                return
            self._builder = ET.TreeBuilder()
            self._line = self.line_of_start()
        self._depth += 1
        self._builder.start(tag, attrib)

    def end(self, tag: str) -> None:
        if self._builder is None:
            return
        self._builder.end(tag)
        self._depth -= 1
        if self._depth == 0:
            self.done.append((self._line, self._builder.close()))
            self._builder = None

    def data(self, text: str) -> None:
        if self._builder is not None:
            self._builder.data(text)

    def close(self) -> None:
        return None


def _text(element: ET.Element | None) -> str | None:
    return None if element is None else squash_spaces("".join(element.itertext()))


def _work_id(id_url: str) -> str:
    """The arXiv id of an abs URL ("http://arxiv.org/abs/2101.00001v2" -> "2101.00001v2", "hep-th/9901001v1")."""
    return id_url.split("/abs/", 1)[1] if "/abs/" in id_url else id_url


def _entry(element: ET.Element, where: str, default_id: str) -> Iterator[Entry | Problem]:
    id_url = _text(element.find(f"{ATOM}id"))
    work_id = _work_id(id_url) if id_url else default_id
    if id_url:
        where = f"{where} (entry {work_id})"
    work: dict[str, Any] = {"venue": "arXiv"}
    if (title := _text(element.find(f"{ATOM}title"))) is not None:
        work["title"] = title
    if (summary := _text(element.find(f"{ATOM}summary"))) is not None:
        work["abstract"] = summary
    if published := _text(element.find(f"{ATOM}published")):
        work["year"] = published[:4]
    categories = [element.find(f"{ARXIV}primary_category"), *element.findall(f"{ATOM}category")]
    terms = (c.get("term", "").strip() for c in categories if c is not None)
    work["topics"] = list(dict.fromkeys(term for term in terms if term))
    authors: list[dict[str, Any]] = []
    for author in element.findall(f"{ATOM}author"):
        record: dict[str, Any] = {"affiliations": [_text(a) for a in author.findall(f"{ARXIV}affiliation")]}
        if (name := _text(author.find(f"{ATOM}name"))) is not None:
            record["name"] = name
        authors.append(record)
    yield from expand_work(where, work_id, work, authors)


def iter_atom_entries(path: str | Path) -> Iterator[Entry | Problem]:
    label, stem = source_label(path), source_stem(path)
    collector = _EntryCollector()
    parser = DefusedXMLParser(target=collector)
    collector.line_of_start = lambda: int(parser.parser.CurrentLineNumber)
    unread = 0  # bytes fed since the last entry closed
    with open_binary(path) as handle:
        while True:
            failure: InputFileError | None = None
            try:
                chunk = handle.read(_READ_SIZE)
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except GZIP_ERRORS as exc:
                failure = InputFileError(label, f"truncated or corrupt gzip ({exc})")
            except ET.ParseError as exc:
                failure = InputFileError(f"{label}:{exc.position[0]}", f"not well-formed XML ({exc})")
            except DefusedXmlException as exc:
                line = parser.parser.CurrentLineNumber
                failure = InputFileError(
                    f"{label}:{line}", f"refused: {exc} (entity declarations and external references are not read)"
                )
            if collector.root and collector.root not in (f"{ATOM}feed", f"{ATOM}entry"):
                raise InputFileError(label, f"not an Atom feed: the document is a <{collector.root}>")
            if collector.done:
                unread = 0
            for line, element in collector.done:
                yield from _entry(element, f"{label}:{line}", default_id=f"{stem}:{line}")
            collector.done.clear()
            if failure is not None:
                raise failure
            if not chunk:
                return
            unread += len(chunk)
            if unread > MAX_ENTRY_BYTES:
                line = parser.parser.CurrentLineNumber
                raise InputFileError(
                    f"{label}:{line}", f"no entry closes within {MAX_ENTRY_BYTES} bytes; refusing the rest"
                )
