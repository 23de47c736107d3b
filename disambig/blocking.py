"""Candidate sets: mentions that may be one person share a block (surname key + first initial).

A block larger than `max_block_size` is sub-blocked by first given name, so time and memory stay
bounded by the sub-block size and never grow with the square of a huge block ("J. Wang").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from disambig.names import CAPITALS_LAST, INITIALS_FIRST, INITIALS_LAST, ParsedName, parse_name, swapped

DEFAULT_MAX_BLOCK_SIZE = 3_000


def resolve_name_order(names: Sequence[ParsedName], coauthors: Iterable[ParsedName] = ()) -> list[ParsedName]:
    """Read "Wang Wei" as surname Wang when the corpus uses Wang as a surname more than Wei.

    Only names with two full words and no comma, and names in capitals of two or more words and
    then dotted initials ("GUPTA AJAY K."), are ambiguous; the corpus's own unambiguous names
    ("Wang, Wei", "W. Wang") vote on which word is the surname, its coauthors' (`coauthors`, the
    names of its author lists) as its mentions' do. A name with a second reading ("José García
    Márquez" as García Márquez, "JA Smith" as J. A. Smith, "Wei LI" as Li) is read so when
    `reads_second_reading`.
    """
    votes = CorpusVotes()
    for name in names:
        votes.see(name)
    votes.see_voters(coauthors)
    return [votes.reading(name) for name in names]


@dataclass
class CorpusVotes:
    """What a corpus's names say of the names it cannot read alone, counted as they stream by
    (`resolve_name_order` over a list, the sharded engines over a stream):

    - the word-order votes: the surname keys of the names open to no word-order vote, mentions'
      and coauthors' alike. Coauthors are most of a listing's names, and a listing whose mentions
      write nearly every name as two bare words ("Wang Wei" beside "Wei Wang") has its
      unambiguous names mostly in its author lists ("W. Wang", "Wang, Wei"). Without any, every
      name votes as read;
    - the firm surnames of the mention names (`votes_firmly`) and their style (`CorpusStyle`),
      which decide the names with a second reading."""

    unambiguous: Counter[str] = field(default_factory=Counter)
    every: Counter[str] = field(default_factory=Counter)
    firm: Counter[str] = field(default_factory=Counter)
    style: CorpusStyle = field(default_factory=lambda: CorpusStyle())

    def see(self, name: ParsedName, coauthors: Iterable[ParsedName] = ()) -> None:
        """A mention's name, and its coauthors' names."""
        self.style.see(name)
        if votes_firmly(name):
            self.firm[name.surname_key] += 1
        self.see_voters((name, *coauthors))

    def see_voters(self, names: Iterable[ParsedName]) -> None:
        """Names that vote on word order only (coauthors)."""
        for name in names:
            self.every[name.surname_key] += 1
            if not name.order_ambiguous:
                self.unambiguous[name.surname_key] += 1

    @staticmethod
    def undecided(name: ParsedName) -> bool:
        """Whether the corpus decides how this name reads (until it is all seen, it cannot)."""
        return (name.order_ambiguous and bool(name.first)) or bool(name.second_reading)

    def reading(self, name: ParsedName) -> ParsedName:
        """The name as the corpus seen so far reads it: itself, or `swapped(name)`."""
        if name.order_ambiguous and name.first:
            votes = self.unambiguous or self.every
            alternative = swapped(name)
            return alternative if votes[alternative.surname_key] > votes[name.surname_key] else name
        if name.second_reading and reads_second_reading(name, self.firm, self.style):
            return swapped(name)
        return name


def registry_block_key(name: str) -> str:
    """The block a mention is stored in and resolved against in a registry: its name's own
    reading, since one mention at a time has no corpus to vote on its word order."""
    return parse_name(name).block_key


def votes_firmly(name: ParsedName) -> bool:
    """Whether a name's own reading counts as a firm surname vote: open to no word-order vote, and
    to no second reading but CAPITALS_LAST, which the corpus's style decides, not its surname
    counts: MEDLINE's "Smith MA" is Smith's vote as "Smith JA" is."""
    return not name.order_ambiguous and name.second_reading in ("", CAPITALS_LAST, INITIALS_LAST)


@dataclass
class CorpusStyle:
    """How a corpus writes surnames, as its names show: how many in capitals ("HAZIZA Daniel",
    "Ajay K. GUPTA"), how many before initials that can be nothing else ("Gupta AK", "Haziza D.")."""

    capitals: int = 0
    initials_last: int = 0
    # The surname keys of names with a single reading: a word that is a surname there ("Smith J")
    # keeps it in "Smith MA", whatever the style.
    plain: Counter[str] = field(default_factory=Counter)

    def see(self, name: ParsedName) -> None:
        self.capitals += name.capitals_surname
        self.initials_last += name.initials_last
        if not (name.order_ambiguous or name.second_reading):
            self.plain[name.surname_key] += 1


def reads_second_reading(name: ParsedName, firm: Counter[str], style: CorpusStyle) -> bool:
    """Whether a name with a second reading is read so. "José García Márquez" is García Márquez,
    José when the corpus's firm names ("García-Márquez, J.", "Garcia Marquez J") have that surname
    more often than the last word alone ("Márquez, Ana"). "JA Smith" is J. A. Smith when they have
    Smith and never JA as a surname, in a corpus that writes no surname in capitals ("HAZIZA
    Daniel"), where "MA Lin" stays Ma even if Lin is the commoner. "Wei LI" is Li, Wei in a corpus
    that writes more surnames in capitals than MEDLINE's way before initials ("Gupta AK"), unless
    Wei is a surname of a name with no other reading ("Wei, Jun"): the style says what such a name
    is, and MEDLINE's "Smith MA" stays Smith beside "Smith J". "Popov Lev Aronovich", read family
    name first for its patronymic-like last word, is Aronovich, Popov Lev when they have Aronovich
    more often than Popov."""
    own, other = firm[name.surname_key], firm[swapped(name).surname_key]
    if name.second_reading == INITIALS_FIRST:
        return style.capitals == 0 and own == 0 and other > 0
    if name.second_reading == CAPITALS_LAST:
        return style.capitals > style.initials_last and style.plain[name.surname_key] == 0
    if name.second_reading == INITIALS_LAST:
        medline = swapped(name).surname_key
        return style.initials_last > style.capitals and style.plain[medline] > 0 and style.plain[name.surname_key] == 0
    return other > own


@dataclass(frozen=True, slots=True)
class Block:
    """Mentions (row indices into the corpus) that are compared with each other."""

    key: str
    rows: np.ndarray


def make_blocks(names: Sequence[ParsedName], max_block_size: int = DEFAULT_MAX_BLOCK_SIZE) -> list[Block]:
    """Blocks in a deterministic order (by key, then by first row)."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(names):
        by_key[name.block_key].append(row)
    blocks: list[Block] = []
    for key in sorted(by_key):
        rows = np.asarray(by_key[key], dtype=np.int64)
        if len(rows) <= max_block_size:
            blocks.append(Block(key, rows))
        else:
            blocks.extend(_split(key, rows, names, max_block_size))
    return blocks


def _split(key: str, rows: np.ndarray, names: Sequence[ParsedName], max_size: int) -> list[Block]:
    """Sub-block by full first name (initial-only names by their initials), then by size."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        name = names[int(row)]
        groups[name.first if name.has_full_first else name.initials].append(int(row))
    parts: list[Block] = []
    for sub_key in sorted(groups):
        members = np.asarray(groups[sub_key], dtype=np.int64)
        for start in range(0, len(members), max_size):
            chunk = members[start : start + max_size]
            parts.append(Block(f"{key}/{sub_key}/{start // max_size}", chunk))
    return parts
