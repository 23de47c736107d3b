"""How a coauthor, as written, is matched across mentions.

A person is matched by surname + first initial, robust to "M. Oquab" / "Maxime Oquab". Author
lists also hold things that are not people: placeholders ("et al.", "others") and group authors
("CMS Collaboration", "FinnDiane Study Group"). Read as names, a placeholder would be a coauthor
shared by strangers, and group names would collide on their last word ("ATLAS Collaboration"
and "ALICE Collaboration" both as collaboration_a): placeholders are dropped, and a group is
matched by its whole name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from disambig.names import ParsedName, fold, parse_name

# Written where a coauthor's name is not: MEDLINE's "[No authors listed]", the German "u. a."
# ("and others"), a stray "and" from splitting "A and B and others".
PLACEHOLDERS = frozenset(
    {
        "et al",
        "and others",
        "others",
        "anonymous",
        "unknown",
        "n a",
        "none",
        "et alii",
        "no authors listed",
        "various",
        "various authors",
        "u a",
        "and",
    }
)
# The last or any word of a collective author's name; a person's surname is seldom one of these,
# and a name of one word is never taken for a group.
GROUP_WORDS = frozenset(
    {
        "collaboration",
        "consortium",
        "consortia",
        "group",
        "investigators",
        "committee",
        "team",
        "network",
        "society",
        "association",
        "initiative",
        "alliance",
        "council",
        "organization",
        "organisation",
        "taskforce",
        "registry",
        "program",
        "programme",
        "project",
        "study",
        "trialists",
        "collaborators",
        "members",
    }
)
_WORDS = re.compile(r"[a-z0-9]+")


def coauthor_key(name: ParsedName) -> str:
    """Surname + first initial, as the name's block: how a person among the coauthors is matched."""
    return name.block_key


def group_key(raw: str) -> str:
    """The whole-name key of a group author ("group:cms collaboration"), or "" for a person."""
    return _group_key(_WORDS.findall(fold(raw)))


def _group_key(words: list[str]) -> str:
    if words and words[0] == "the":
        words = words[1:]
    if len(words) < 2 or not GROUP_WORDS.intersection(words):
        return ""
    return "group:" + " ".join(words)


def coauthor_names(coauthors: Iterable[str]) -> Iterator[ParsedName]:
    """The coauthors that are persons, parsed (placeholders and group authors left out)."""
    for raw in coauthors:
        name = written_coauthor_key(raw)[1]
        if name is not None:
            yield name


@lru_cache(maxsize=200_000)  # coauthors repeat across a listing: each spelling read once
def written_coauthor_key(raw: str) -> tuple[str, ParsedName | None]:
    """(key, parsed name) of a coauthor as written: ("", None) for a placeholder or an empty name,
    (group key, None) for a group author."""
    words = _WORDS.findall(fold(raw))
    if not words or " ".join(words) in PLACEHOLDERS:
        return "", None
    group = _group_key(words)
    if group:
        return group, None
    name = parse_name(raw)
    if not name.surname_key:
        return "", None
    return coauthor_key(name), name
