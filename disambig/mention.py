"""The Mention record and its validation: the one place that decides what a valid mention is."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from disambig.errors import FieldViolation, InvalidMentionError
from disambig.names import parse_name

MAX_NAME_CHARS = 512
MAX_SHORT_TEXT_CHARS = 4_096  # title, venue, email, orcid, ids, one list item
MAX_ABSTRACT_CHARS = 65_536
MAX_LIST_ITEMS = 20_000  # collaboration papers list thousands of authors (5,424 seen in MEDLINE)
MIN_YEAR, MAX_YEAR = 1000, 2200

NUMBERED_IDS = frozenset({"mention_id", "work_id"})  # an integer is taken as its decimal string
TEXT_FIELDS = ("mention_id", "name", "title", "abstract", "venue", "email", "orcid", "work_id")
LIST_FIELDS = ("coauthors", "affiliations", "topics")
IGNORED_FIELDS = frozenset({"person_id"})


@dataclass(frozen=True, slots=True)
class Mention:
    """One author-name mention on one work, with the context that helps tell people apart."""

    mention_id: str
    name: str
    coauthors: tuple[str, ...] = ()
    title: str = ""
    abstract: str = ""
    venue: str = ""
    year: int | None = None
    affiliations: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    email: str = ""
    orcid: str = ""
    work_id: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The record's fields as JSON values, without `extra` (field by field: dataclasses.asdict
        deep-copies every value, 13 us a mention against 1 us, on every resolution)."""
        record = {name: getattr(self, name) for name in _RECORD_FIELDS}
        for key in LIST_FIELDS:
            record[key] = list(record[key])
        return record


_RECORD_FIELDS = tuple(f.name for f in fields(Mention) if f.name != "extra")


_FIELD_KEYS = frozenset({*TEXT_FIELDS, *LIST_FIELDS, "year"})


def _visible(ch: str) -> bool:
    """Not a space, a control (DEL too) or an invisible format character (zero-width space)."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# NUL and the other C0 controls but tab and newline never carry meaning in a name or title.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f]")


def _clean(text: str) -> str:
    return _CONTROLS.sub("", text).strip()


def _text(record: Mapping[str, Any], key: str, limit: int, errors: list[FieldViolation]) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if key in NUMBERED_IDS and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids, as databases and spreadsheets export them
    if not isinstance(value, str):
        errors.append(FieldViolation(key, f"must be a string, got {type(value).__name__}"))
        return ""
    if len(value) > limit:
        errors.append(FieldViolation(key, f"longer than {limit} characters ({len(value)})"))
        return ""
    if key == "mention_id":
        # A caller finds its mention by this id in the reply and in the registry: cleaned, two ids
        # could become one, and the reply would name an id nobody sent. So it is taken as it is.
        if "\x00" in value:  # PostgreSQL text cannot hold it
            errors.append(FieldViolation(key, "contains a NUL character"))
            return ""
        return value if any(_visible(ch) for ch in value) else ""  # blank or controls only: no id at all
    return _clean(value)


def _strings(record: Mapping[str, Any], key: str, errors: list[FieldViolation]) -> tuple[str, ...]:
    value = record.get(key)
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        errors.append(FieldViolation(key, f"must be a list of strings, got {type(value).__name__}"))
        return ()
    if len(value) > MAX_LIST_ITEMS:
        errors.append(FieldViolation(key, f"more than {MAX_LIST_ITEMS} items ({len(value)})"))
        return ()
    items: list[str] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            errors.append(FieldViolation(f"{key}[{i}]", f"must be a string, got {type(item).__name__}"))
        elif len(item) > MAX_SHORT_TEXT_CHARS:
            errors.append(FieldViolation(f"{key}[{i}]", f"longer than {MAX_SHORT_TEXT_CHARS} characters"))
        elif (cleaned := _clean(item)) and any(_visible(ch) for ch in cleaned):  # not "\u200b" alone
            items.append(cleaned)
    return tuple(items)


# Decimal digits (str.isdigit also takes "²⁰¹⁹", which int() refuses), few enough for int(), and
# optionally ".0".
_YEAR_TEXT = re.compile(r"(\d{1,9})(?:\.0+)?")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _year(record: Mapping[str, Any], errors: list[FieldViolation]) -> int | None:
    value = record.get("year")
    if isinstance(value, bool):
        errors.append(FieldViolation("year", "must be an integer, got bool"))
        return None
    if isinstance(value, str) and (written := _YEAR_TEXT.fullmatch(value.strip())):
        value = int(written.group(1))  # "2019", or "2019.0" from a CSV cell pandas wrote
    if value is None or value == 0:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 2019.0: a year column with gaps, as pandas writes it
    if not isinstance(value, int):
        errors.append(FieldViolation("year", f"must be an integer, got {type(value).__name__} {_shown(value)}"))
        return None
    if not MIN_YEAR <= value <= MAX_YEAR:
        outside = f"{_shown(value)} is outside {MIN_YEAR}..{MAX_YEAR} (0 or null = unknown)"
        errors.append(FieldViolation("year", outside))
        return None
    return value


_LIMITS = {"name": MAX_NAME_CHARS, "abstract": MAX_ABSTRACT_CHARS}


def validated_fields(record: Mapping[str, Any], keys: Collection[str]) -> tuple[dict[str, Any], list[FieldViolation]]:
    """These fields of a record as a Mention holds them ("" / () / None where one is bad or
    missing), and their violations in the order mention_from_record names them: what a caller
    validating many records that share fields (a work's authors) checks once."""
    errors: list[FieldViolation] = []
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        if key in keys:
            values[key] = _text(record, key, _LIMITS.get(key, MAX_SHORT_TEXT_CHARS), errors)
    for key in LIST_FIELDS:
        if key in keys:
            values[key] = _strings(record, key, errors)
    if "year" in keys:
        values["year"] = _year(record, errors)
    return values, errors


def mention_from_record(
    record: Any, where: str, default_id: str, *, stored: bool = False, checked: Mapping[str, Any] | None = None
) -> Mention:
    """Validate one decoded record (a JSON object) into a Mention, naming every bad field.
    `stored`: a record the registry holds, read back. It was accepted then; the rule that a new
    name has a surname is not applied again, so a parser that reads names differently since
    cannot make a stored mention unreadable. `checked`: fields validated already, as
    `validated_fields` gives them, taken as they are instead of the record's (their violations
    are the caller's)."""
    if not isinstance(record, Mapping):
        raise InvalidMentionError(where, [FieldViolation("(record)", "must be a JSON object")])
    checked = checked or {}
    values, errors = validated_fields(record, _FIELD_KEYS.difference(checked))
    values.update(checked)
    texts = {key: values[key] for key in TEXT_FIELDS}
    lists = {key: values[key] for key in LIST_FIELDS}
    year = values["year"]
    if "name" not in record or record.get("name") is None:
        # A works listing read as mentions: name the likely cause.
        works = " (a work with 'authors'? read a works listing with --format works)" if "authors" in record else ""
        errors.append(FieldViolation("name", f"is required{works}"))
    elif not any(v.field == "name" for v in errors):
        if not _has_letter(texts["name"]):
            errors.append(FieldViolation("name", "has no letters"))
        elif not stored and not parse_name(texts["name"]).surname:
            # "et al.", "PhD", "Jr." alone: every such mention would meet the others in one block.
            errors.append(FieldViolation("name", "has no surname (only a title, degree, suffix or 'et al.')"))
    id_given = record.get("mention_id") is not None
    if id_given and not texts["mention_id"] and not any(v.field == "mention_id" for v in errors):
        errors.append(FieldViolation("mention_id", "must not be empty"))
    if errors:
        raise InvalidMentionError(where, errors)
    known = set(TEXT_FIELDS) | set(LIST_FIELDS) | {"year"} | IGNORED_FIELDS
    extra = {k: v for k, v in record.items() if k not in known}
    return Mention(
        mention_id=texts["mention_id"] or default_id,
        name=texts["name"],
        coauthors=lists["coauthors"],
        title=texts["title"],
        abstract=texts["abstract"],
        venue=texts["venue"],
        year=year,
        affiliations=lists["affiliations"],
        topics=lists["topics"],
        email=texts["email"],
        orcid=texts["orcid"],
        work_id=texts["work_id"],
        extra=extra,
    )
