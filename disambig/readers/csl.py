"""CSL-JSON, as Zotero, Crossref and citation tools export it: a JSON array of items.

A single item object and {"items": [...]} are accepted too. Per item: author [{family, given,
non-dropping-particle, suffix, affiliation, ORCID} | {literal}], title, abstract, container-title
(venue), issued.date-parts[0][0] (year), keyword (a comma or semicolon list: topics), id or DOI
(work id). JSON has no streaming parse here: the file's text is held once, then decoded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from disambig.errors import InputFileError
from disambig.readers.common import Entry, Problem, expand_work, source_label, source_stem, split_list, work_id_from
from disambig.readers.jsonl import read_bytes

_KEYWORD_SEPARATORS = re.compile(r"[,;]")
# Crossref abstracts come as JATS markup (<jats:p>...</jats:p>); the tags carry no words.
_MARKUP_TAG = re.compile(r"</?[A-Za-z][\w:.-]*(?:\s[^<>]*)?/?>")


def _first_text(value: Any) -> Any:
    """CSL allows a string or (Crossref) a list of strings for titles; anything else is passed on to be refused."""
    if isinstance(value, list):
        return next((item for item in value if isinstance(item, str) and item.strip()), None)
    return value


def _year(issued: Any) -> Any:
    if not isinstance(issued, Mapping):
        return None
    parts = issued.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        return parts[0][0]
    return None


def _part(author: Mapping[str, Any], key: str) -> str:
    value = author.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def _author(author: Any) -> Any:
    """A CSL name as an author record: "particle family, given, suffix" (the comma form parses unambiguously)."""
    if not isinstance(author, Mapping):
        return author  # refused, with its position, by expand_work
    record: dict[str, Any] = {}
    family = " ".join(filter(None, (_part(author, "non-dropping-particle"), _part(author, "family"))))
    given = " ".join(filter(None, (_part(author, "given"), _part(author, "dropping-particle"))))
    literal = _part(author, "literal")
    if literal:
        record["name"] = literal
    elif family:
        record["name"] = ", ".join(filter(None, (family, given, _part(author, "suffix"))))
    elif given:
        record["name"] = given
    affiliations = author.get("affiliation")
    if isinstance(affiliations, list):
        names = [a.get("name") if isinstance(a, Mapping) else a for a in affiliations]
        record["affiliations"] = [name for name in names if isinstance(name, str)]
    orcid = author.get("ORCID", author.get("orcid"))
    if isinstance(orcid, str):
        record["orcid"] = orcid
    return record


def _items(document: Any, label: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, Mapping):
        items = document.get("items")
        return items if isinstance(items, list) else [document]
    raise InputFileError(label, f"expected a JSON array of CSL items, got {type(document).__name__}")


def _work(item: Mapping[str, Any]) -> dict[str, Any]:
    work: dict[str, Any] = {}
    if (title := _first_text(item.get("title"))) is not None:
        work["title"] = title
    if (venue := _first_text(item.get("container-title"))) is not None:
        work["venue"] = venue
    abstract = item.get("abstract")
    if isinstance(abstract, str):
        abstract = " ".join(_MARKUP_TAG.sub(" ", abstract).split())
    if abstract is not None:
        work["abstract"] = abstract
    if (year := _year(item.get("issued"))) is not None:
        work["year"] = year
    keywords = item.get("keyword")
    if isinstance(keywords, str):
        work["topics"] = split_list(keywords, _KEYWORD_SEPARATORS)
    elif keywords is not None:
        work["topics"] = keywords
    return work


def iter_csl_entries(path: str | Path) -> Iterator[Entry | Problem]:
    label, stem = source_label(path), source_stem(path)
    data = read_bytes(path)
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(f"{label}:{line}", f"not valid UTF-8 ({exc.reason})") from exc
    del data
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InputFileError(f"{label}:{exc.lineno}", f"not valid JSON ({exc.msg})") from exc
    del text
    for number, item in enumerate(_items(document, label), start=1):
        where = f"{label}: item {number}"
        if not isinstance(item, Mapping):
            yield Problem(where, f"a CSL item must be an object, got {type(item).__name__}")
            continue
        own_id = item.get("id") if item.get("id") not in (None, "") else item.get("DOI")
        work_id = work_id_from(own_id, default=f"{stem}:item{number}")
        if work_id is None:
            yield Problem(where, f"id: must be a string or a number, got {type(own_id).__name__}")
            continue
        if own_id not in (None, ""):
            where = f"{where} (id {work_id})"
        authors = item.get("author")
        if authors is not None and not isinstance(authors, list):
            yield Problem(where, "author: must be a list of names")
            continue
        yield from expand_work(where, work_id, _work(item), [_author(a) for a in authors or []])
