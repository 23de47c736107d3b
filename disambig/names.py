"""Parsing author names as catalogues write them, and deciding given-name compatibility.

Every form below parses to the same surname and given-name parts:
"Daniel Haziza", "Haziza, Daniel", "D. Haziza", "HAZIZA D", "Haziza D.".
Diacritics are folded by anyascii (a maintained transliteration table), so "José García-Márquez"
and "Jose Garcia-Marquez" share a block.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from anyascii import anyascii
from nicknames import NickNamer
from rapidfuzz.distance import Levenshtein

SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "2nd", "3rd", "phd", "md", "esq"})
# Lower-case surname particles: kept with the surname ("van der Berg"), never taken as given names.
PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "del",
        "della",
        "dos",
        "das",
        "du",
        "la",
        "le",
        "ten",
        "ter",
        "bin",
        "ibn",
        "al",
        "el",
        "st",
        "mac",
        "af",
        "zu",
        "vom",
        "des",
        "lo",
        "y",
    }
)
_MIN_PREFIX_MATCH = 3
_MIN_TYPO_LENGTH = 5

_ALLOWED = re.compile(r"[^A-Za-z.,'\- ]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A name split into a folded surname and folded given-name parts (initials are one letter)."""

    surname: str
    given: tuple[str, ...]
    given_display: str = ""
    surname_display: str = ""
    order_ambiguous: bool = False

    @property
    def display(self) -> str:
        return f"{self.given_display} {self.surname_display}".strip()

    @property
    def first(self) -> str:
        return self.given[0] if self.given else ""

    @property
    def middle(self) -> tuple[str, ...]:
        return self.given[1:]

    @property
    def first_initial(self) -> str:
        return self.first[:1]

    @property
    def initials(self) -> str:
        return "".join(part[:1] for part in self.given)

    @property
    def surname_key(self) -> str:
        return re.sub(r"[^a-z]", "", self.surname)

    @property
    def block_key(self) -> str:
        return f"{self.surname_key}_{self.first_initial}"

    @property
    def full_key(self) -> str:
        """Surname plus all given parts: the 'same name string' key."""
        return f"{self.surname_key}_{'_'.join(self.given)}"

    @property
    def has_full_first(self) -> bool:
        return len(self.first) > 1

    def as_initials(self) -> str:
        """'Ajay K. Gupta' -> 'A. K. Gupta'."""
        given = " ".join(f"{part[0].upper()}." for part in self.given)
        return f"{given} {self.surname_display}".strip()


def fold(text: str) -> str:
    """Unicode to lower-case ASCII, diacritics and ligatures folded."""
    return anyascii(unicodedata.normalize("NFKC", text)).lower()


def _is_initials_token(token: str, all_upper: bool) -> bool:
    """'D', 'D.', 'J.C.', 'JC' (when the rest of the name is not all capitals)."""
    letters = token.replace(".", "").replace("-", "")
    if not letters or not letters.isalpha():
        return False
    if "." in token:
        return all(len(seg) <= 1 for seg in re.split(r"[.\-]", token) if seg) or len(letters) == 1
    if len(letters) == 1:
        return True
    return not all_upper and letters.isupper() and len(letters) <= 3


def _split_given(tokens: list[str], all_upper: bool) -> tuple[str, ...]:
    parts: list[str] = []
    for token in tokens:
        if _is_initials_token(token, all_upper):
            parts.extend(ch for ch in fold(token) if ch.isalpha())
            continue
        for piece in token.split("-"):
            folded = re.sub(r"[^a-z]", "", fold(piece))
            if folded:
                parts.append(folded)
    return tuple(parts)


def _clean_tokens(text: str) -> list[str]:
    text = _ALLOWED.sub(" ", anyascii(unicodedata.normalize("NFKC", text)))
    # "J.C.Smith" -> "J.C. Smith"; keep "J.-P." together.
    text = re.sub(r"\.(?=[A-Za-z]{2})", ". ", text)
    return [tok.strip("'-") for tok in _SPACES.split(text.strip()) if tok.strip(".'-")]


def _is_suffix(token: str) -> bool:
    return token.replace(".", "").lower() in SUFFIXES


def _pretty(token: str, all_upper: bool) -> str:
    if _is_initials_token(token, all_upper):
        return " ".join(f"{ch.upper()}." for ch in token if ch.isalpha())
    if token.isupper() or token.islower():
        return "-".join(piece.capitalize() for piece in token.split("-"))
    return token


@lru_cache(maxsize=200_000)
def parse_name(raw: str) -> ParsedName:
    """Parse one author name string; never raises, an unparseable name gives an empty surname."""
    if "," in raw:
        pieces = [p for p in (s.strip() for s in raw.split(",")) if p]
        pieces = [p for p in pieces if not all(_is_suffix(t) for t in p.split())] or pieces
        if len(pieces) >= 2:
            surname_tokens = [t for t in _clean_tokens(pieces[0]) if not _is_suffix(t)]
            given_tokens = [t for t in _clean_tokens(" ".join(pieces[1:])) if not _is_suffix(t)]
            # "Berg, Anna van der": trailing particles belong to the surname.
            while given_tokens and given_tokens[-1].lower() in PARTICLES and len(given_tokens) > 1:
                surname_tokens.insert(0, given_tokens.pop())
            return _build(given_tokens, surname_tokens, ambiguous=False)
        raw = pieces[0] if pieces else ""
    tokens = [t for t in _clean_tokens(raw) if not _is_suffix(t)]
    if not tokens:
        return ParsedName("", ())
    if len(tokens) == 1:
        return _build([], tokens, ambiguous=False)
    letters = "".join(tokens).replace(".", "").replace("-", "").replace("'", "")
    all_upper = letters.isupper()
    initial_flags = [_is_initials_token(t, all_upper) for t in tokens]
    # "HAZIZA D", "Haziza D.", "Stenkamp DL", "Garcia Marquez J": full words, then only initials.
    if not initial_flags[0] and initial_flags[-1]:
        split = len(tokens)
        while split > 0 and initial_flags[split - 1]:
            split -= 1
        if not any(initial_flags[:split]):
            return _build(tokens[split:], tokens[:split], ambiguous=False)
    # "HAZIZA Daniel" / "Daniel HAZIZA": the one all-capitals word of a mixed-case name is the surname.
    if not all_upper:
        upper = [i for i, t in enumerate(tokens) if len(t) > 1 and t.isupper() and not initial_flags[i]]
        if len(upper) == 1 and upper[0] in (0, len(tokens) - 1):
            i = upper[0]
            return _build(tokens[:i] + tokens[i + 1 :], [tokens[i]], ambiguous=False)
    # Western order; particles before the last word join the surname.
    start = len(tokens) - 1
    while start > 1 and tokens[start - 1].lower() in PARTICLES:
        start -= 1
    given_tokens, surname_tokens = tokens[:start], tokens[start:]
    ambiguous = len(tokens) == 2 and not any(initial_flags)
    return _build(given_tokens, surname_tokens, ambiguous=ambiguous)


def _build(given_tokens: list[str], surname_tokens: list[str], *, ambiguous: bool) -> ParsedName:
    all_upper = "".join(given_tokens + surname_tokens).replace(".", "").isupper()
    surname = " ".join(fold(t) for t in surname_tokens)
    surname = re.sub(r"[^a-z\- ']", "", surname).strip()
    given = _split_given(given_tokens, all_upper)
    particles = len(surname_tokens) > 1
    surname_display = " ".join(
        t.lower()
        if particles and t.lower() in PARTICLES and i < len(surname_tokens) - 1
        else _pretty(t, all_upper=False)
        for i, t in enumerate(surname_tokens)
    )
    given_display = " ".join(_pretty(t, all_upper) for t in given_tokens)
    return ParsedName(surname, given, given_display, surname_display, ambiguous)


def swapped(name: ParsedName) -> ParsedName:
    """The other reading of a two-word name with no comma ('Wang Wei' as surname Wang)."""
    return ParsedName(
        surname=name.first,
        given=(re.sub(r"[^a-z]", "", name.surname),),
        given_display=name.surname_display,
        surname_display=name.given_display,
        order_ambiguous=True,
    )


def to_initials(raw: str) -> str:
    """Rewrite a name to initials plus surname: 'Ajay K. Gupta' -> 'A. K. Gupta'."""
    return parse_name(raw).as_initials()


class GivenMatch(IntEnum):
    """How two given names relate; 0 means they cannot belong to one person."""

    INCOMPATIBLE = 0
    INITIALS_ONLY = 1  # at least one side is an initial; the initials agree
    VARIANT = 2  # nickname, prefix, spelling variant or hyphen joining
    EXACT = 3


@lru_cache(maxsize=100_000)
def _nicknames_of(name: str) -> frozenset[str]:
    namer = _namer()
    related = set(namer.nicknames_of(name)) | set(namer.canonicals_of(name))
    for canonical in namer.canonicals_of(name):
        related |= namer.nicknames_of(canonical)
    return frozenset(related)


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    # The nickname table is loaded on first use, not at import.
    return NickNamer()


@lru_cache(maxsize=500_000)
def part_match(a: str, b: str) -> GivenMatch:
    """Relation between two single given-name parts (each a word or a one-letter initial)."""
    if not a or not b:
        return GivenMatch.INITIALS_ONLY
    if len(a) == 1 or len(b) == 1:
        return GivenMatch.INITIALS_ONLY if a[0] == b[0] else GivenMatch.INCOMPATIBLE
    if a == b:
        return GivenMatch.EXACT
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= _MIN_PREFIX_MATCH and long_.startswith(short):
        return GivenMatch.VARIANT
    if len(short) >= _MIN_TYPO_LENGTH and a[0] == b[0] and Levenshtein.distance(a, b) <= 1:
        return GivenMatch.VARIANT
    if b in _nicknames_of(a):
        return GivenMatch.VARIANT
    return GivenMatch.INCOMPATIBLE


def given_match(a: tuple[str, ...], b: tuple[str, ...]) -> GivenMatch:
    """Compare whole given names: first names must agree and aligned middle names must too.

    "Jean-Pierre" ~ "J.-P." ~ "Jeanpierre" ~ "Jean"; "J.C." and "J.H." conflict; a missing middle
    name never conflicts.
    """
    if not a or not b:
        return GivenMatch.INITIALS_ONLY
    joined_a, joined_b = "".join(a), "".join(b)
    if joined_a == joined_b and len(joined_a) > len(a):
        return GivenMatch.EXACT
    first = part_match(a[0], b[0])
    if first == GivenMatch.INCOMPATIBLE:
        # "Jeanpierre" vs "Jean-Pierre" and "Jianchun" vs "Jian-Chun".
        if len(a[0]) > 1 and len(b[0]) > 1 and (joined_a == joined_b):
            return GivenMatch.VARIANT
        return GivenMatch.INCOMPATIBLE
    worst = first
    for x, y in zip(a[1:], b[1:]):
        middle = part_match(x, y)
        if middle == GivenMatch.INCOMPATIBLE:
            return GivenMatch.INCOMPATIBLE
        worst = min(worst, middle)
    if len(a) != len(b) and worst == GivenMatch.EXACT:
        worst = GivenMatch.VARIANT
    return worst
