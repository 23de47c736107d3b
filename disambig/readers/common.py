"""What every format reader yields, and the one expansion of a work into per-author mentions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disambig.errors import FieldViolation, InvalidMentionError
from disambig.mention import MAX_LIST_ITEMS, TEXT_FIELDS, Mention, mention_from_record, validated_fields
from disambig.names import stands_for_left_out_authors

# Fields a work shares with all its authors' mentions; a violation in one of them is reported once
# for the work, not once per author.
WORK_FIELDS = frozenset({"title", "abstract", "venue", "year", "topics", "coauthors", "work_id"})
# Fields that belong to one author; a work-level value for them would be wrongly given to every author.
AUTHOR_FIELDS = frozenset({"name", "affiliations", "email", "orcid", "mention_id", "person_id"})

_LIST_SEPARATORS = re.compile(r"[;|]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One listing entry: a work (a mention per author) or a single mention."""

    where: str
    work_id: str
    mentions: tuple[Mention, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A malformed entry: reported and counted while the rest of the file is still read."""

    where: str
    message: str


def source_label(path: str | Path) -> str:
    """The name errors give an input: its path, or <stdin> for '-'."""
    return "<stdin>" if str(path) == "-" else str(path)


def source_stem(path: str | Path) -> str:
    """The file name up to its first dot, the prefix of default ids ("refs" for refs.bib.gz)."""
    return Path(source_label(path)).name.split(".")[0]


def split_list(text: str, separators: re.Pattern[str] = _LIST_SEPARATORS) -> list[str]:
    """Non-empty, stripped items of a separated list ("nlp; ml | vision" -> three items)."""
    return [item.strip() for item in separators.split(text) if item.strip()]


def describe(violations: Sequence[FieldViolation]) -> str:
    return "; ".join(f"{v.field}: {v.description}" for v in violations)


def mention_entry(record: Any, where: str, default_id: str) -> Entry | Problem:
    """A single-mention entry, validated like every mention."""
    try:
        mention = mention_from_record(record, where, default_id=default_id)
    except InvalidMentionError as exc:
        return Problem(where, describe(exc.violations))
    return Entry(where, mention.work_id, (mention,))


def _written_name(author: Any) -> str:
    name = author.get("name") if isinstance(author, Mapping) else author
    return name.strip() if isinstance(name, str) else ""


def expand_work(where: str, work_id: str, work: Mapping[str, Any], authors: Sequence[Any]) -> Iterator[Entry | Problem]:
    """One mention per author: the others (names as written) as coauthors, the work's fields shared.

    `work` holds the shared fields (title, abstract, venue, year, topics, and any extra keys);
    each author is a name string or a mapping with its own name, affiliations, email, orcid and
    optionally mention_id. Mention ids default to f"{work_id}#{position}". Every mention goes
    through mention_from_record; a bad shared field is one Problem for the work, a bad author
    one Problem naming its position while the other authors are kept.

    The shared fields and each coauthor name are validated once for the work, not once per
    author: a work of n authors gives n mentions of n - 1 coauthors each, and validating every
    mention's list took minutes for a few thousand authors (quadratic, in Python). What is left
    per author is copying its coauthor tuple.
    """
    if len(authors) > MAX_LIST_ITEMS + 1:
        yield Problem(where, f"more than {MAX_LIST_ITEMS + 1} authors ({len(authors)})")
        return
    # The authors a list leaves out are no author: their position is skipped, not renumbered.
    numbered = [(k, a) for k, a in enumerate(authors, start=1) if not stands_for_left_out_authors(_written_name(a))]
    if not numbered:
        yield Problem(where, "no authors")
        return
    shared = {key: value for key, value in work.items() if key not in AUTHOR_FIELDS}
    # A mention's coauthors are the other authors' names as written (the empty ones left out).
    listed = [(position, name) for position, author in numbered if (name := _written_name(author))]
    coauthors = _CoauthorNames([name for _, name in listed])
    slot = {position: k for k, (position, _) in enumerate(listed)}
    work_values, work_violations = validated_fields({**shared, "work_id": work_id}, WORK_FIELDS - {"coauthors"})
    mentions: list[Mention] = []
    problems: list[Problem] = []
    work_problem: Problem | None = None
    for position, author in numbered:
        here = f"{where}, author {position}"
        if isinstance(author, str):
            own: Mapping[str, Any] = {"name": author}
        elif isinstance(author, Mapping):
            own = {key: value for key, value in author.items() if key not in WORK_FIELDS}
        else:
            problems.append(Problem(here, f"must be an object or a name string, got {type(author).__name__}"))
            continue
        index = slot.get(position)
        if work_problem is None and (of_work := _with_coauthors(work_violations, coauthors.violations(index))):
            work_problem = Problem(where, describe(of_work))
        record = {**shared, **own, "work_id": work_id}
        checked = {**work_values, "coauthors": coauthors.without(index)}
        try:
            mention = mention_from_record(record, here, default_id=f"{work_id}#{position}", checked=checked)
        except InvalidMentionError as exc:  # the author's own fields: the work's were validated above
            problems.append(Problem(here, describe(exc.violations)))
            continue
        if work_problem is None:
            mentions.append(mention)
    if work_problem is not None:
        yield work_problem
    elif mentions:
        yield Entry(where, work_id, tuple(mentions))
    yield from problems


class _CoauthorNames:
    """The authors' names of a work (as written, in order), each validated once as an item of a
    coauthor list; a mention's list is all of them but its author's."""

    def __init__(self, names: list[str]) -> None:
        self.kept: list[str] = []  # the valid names left after validation, in order
        self.kept_at: list[int | None] = []  # per name, its index in `kept` (None: not kept)
        self.bad: list[tuple[int, str]] = []  # (index, description) of the names refused
        for k, name in enumerate(names):
            values, violations = validated_fields({"coauthors": [name]}, ("coauthors",))
            self.kept_at.append(len(self.kept) if values["coauthors"] else None)
            self.kept += values["coauthors"]
            self.bad += [(k, v.description) for v in violations]
        self.all = tuple(self.kept)

    def without(self, index: int | None) -> tuple[str, ...]:
        """The coauthors of the author whose name is at `index` (None: an author without one)."""
        at = None if index is None else self.kept_at[index]
        return self.all if at is None else self.all[:at] + self.all[at + 1 :]

    def violations(self, index: int | None) -> list[FieldViolation]:
        """What validating that author's coauthor list names, by the list's own indices."""
        found = []
        for k, description in self.bad:
            if k != index:  # past the author's own name, the list is one shorter
                at = k - 1 if index is not None and k > index else k
                found.append(FieldViolation(f"coauthors[{at}]", description))
        return found


def _with_coauthors(work: list[FieldViolation], coauthors: list[FieldViolation]) -> list[FieldViolation]:
    """The violations of a work's fields with its coauthors' in the place mention_from_record
    names them: after the texts, before the other lists and the year."""
    texts = [v for v in work if v.field in TEXT_FIELDS]
    return [*texts, *coauthors, *(v for v in work if v.field not in TEXT_FIELDS)]


def work_id_from(value: Any, default: str) -> str | None:
    """A record's own work id (a string or an integer), the default when it has none, None if unusable."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
