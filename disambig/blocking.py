"""Candidate sets: mentions that may be one person share a block (surname key + first initial).

A block larger than `max_block_size` is sub-blocked by first given name, so time and memory stay
bounded by the sub-block size and never grow with the square of a huge block ("J. Wang").
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from disambig.names import CAPITALS_LAST, INITIALS_FIRST, ParsedName, parse_name, swapped

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
    votes = order_votes(names, coauthors)
    firm = firm_votes(names)
    style = CorpusStyle.of(names)
    resolved = []
    for name in names:
        if name.order_ambiguous and name.first:
            alternative = swapped(name)
            if votes[alternative.surname_key] > votes[name.surname_key]:
                resolved.append(alternative)
                continue
        elif name.second_reading and reads_second_reading(name, firm, style):
            resolved.append(swapped(name))
            continue
        resolved.append(name)
    return resolved


def order_votes(names: Iterable[ParsedName], coauthors: Iterable[ParsedName] = ()) -> Counter[str]:
    """The surname votes on word order: the surname keys of the names open to no word-order vote,
    mentions' and coauthors' alike. Coauthors are most of a listing's names, and a listing whose
    mentions write nearly every name as two bare words ("Wang Wei" beside "Wei Wang") has its
    unambiguous names mostly in its author lists ("W. Wang", "Wang, Wei"). Without any, every
    name votes as read."""
    voters = [*names, *coauthors]
    votes = Counter(n.surname_key for n in voters if not n.order_ambiguous)
    return votes or Counter(n.surname_key for n in voters)


def block_keys_of(name: str) -> tuple[str, ...]:
    """The blocks a registry may store a name in: its own reading's, then, for a name whose word
    order is open to a vote ("Wang Wei"), its other reading's."""
    parsed = parse_name(name)
    if parsed.order_ambiguous and parsed.first:
        return (parsed.block_key, swapped(parsed).block_key)
    return (parsed.block_key,)


def reading_in(name: ParsedName, block_key: str) -> ParsedName:
    """The reading of a name that puts it in this block: a stored mention is read the way the
    vote that chose its block read it."""
    if name.block_key != block_key and name.order_ambiguous and name.first:
        other = swapped(name)
        if other.block_key == block_key:
            return other
    return name


class RegistryVotes:
    """Word-order votes for a registry, where mentions arrive one at a time: "Wang Wei" is read
    as surname Wang when the registry holds more mentions of the surname Wang than of Wei.

    A name spelled as one the registry is known to store (`placed`: the block it was seen in)
    stays in that block, so that a person's mentions are not parted when the votes move. Other
    names are voted on. The votes start from the stored mentions' surnames, as their blocks say
    (read once, at the first name that needs a vote), and then count the firm names (mention
    names and coauthors, as `order_votes` counts) of the mentions this process stores. Another
    process's or replica's mentions count from its next start: a vote settles the order of two
    words whose counts as surnames are mostly far apart, and the registry's bulk settles them
    the same way."""

    def __init__(
        self,
        block_sizes: Callable[[], Iterable[tuple[str, int]]],
        placed: Callable[[ParsedName], str | None] = lambda name: None,
    ) -> None:
        self._block_sizes = block_sizes
        self._placed = placed
        self._votes: Counter[str] | None = None
        self._lock = threading.Lock()

    def reading(self, name: ParsedName) -> ParsedName:
        """The reading a new mention's name is resolved and stored under."""
        if not (name.order_ambiguous and name.first):
            return name
        other = swapped(name)
        placed = self._placed(name)
        if placed in (name.block_key, other.block_key):
            return name if placed == name.block_key else other
        votes = self._counts()
        return other if votes[other.surname_key] > votes[name.surname_key] else name

    def prepare(self) -> None:
        """Read the stored votes now rather than at the first name that needs them."""
        self._counts()

    def count(self, names: Iterable[ParsedName]) -> None:
        """Count the votes of names just stored (a mention's and its coauthors')."""
        firm = [n.surname_key for n in names if not n.order_ambiguous]
        with self._lock:
            if self._votes is not None:  # else the first read counts them
                self._votes.update(firm)

    def _counts(self) -> Counter[str]:
        with self._lock:
            if self._votes is None:
                votes: Counter[str] = Counter()
                for key, size in self._block_sizes():
                    votes[key.rpartition("_")[0]] += size
                self._votes = votes
            return self._votes


def firm_votes(names: Iterable[ParsedName]) -> Counter[str]:
    """The surname keys of the names whose own reading is firm (`votes_firmly`): those that decide
    whether a name with a second reading ("José García Márquez", "JA Smith") is read so."""
    return Counter(n.surname_key for n in names if votes_firmly(n))


def votes_firmly(name: ParsedName) -> bool:
    """Whether a name's own reading counts as a firm surname vote: open to no word-order vote, and
    to no second reading but CAPITALS_LAST, which the corpus's style decides, not its surname
    counts: MEDLINE's "Smith MA" is Smith's vote as "Smith JA" is."""
    return not name.order_ambiguous and name.second_reading in ("", CAPITALS_LAST)


@dataclass
class CorpusStyle:
    """How a corpus writes surnames, as its names show: how many in capitals ("HAZIZA Daniel",
    "Ajay K. GUPTA"), how many before initials that can be nothing else ("Gupta AK", "Haziza D.")."""

    capitals: int = 0
    initials_last: int = 0
    # The surname keys of names with a single reading: a word that is a surname there ("Smith J")
    # keeps it in "Smith MA", whatever the style.
    plain: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, names: Iterable[ParsedName]) -> CorpusStyle:
        style = cls()
        for name in names:
            style.see(name)
        return style

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
