"""A listing read for a batch run: its mentions in order, and what could not be used.

Malformed entries are Problems from the readers. With --only, a listing entry where no author
matches the wanted name (e.g. a truncated author list) is reported too, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from disambig.errors import InputFileError
from disambig.mention import Mention
from disambig.names import GivenMatch, ParsedName, given_match, parse_name, swapped
from disambig.readers import Entry, Problem, iter_entries


def name_matches(wanted: ParsedName, written: ParsedName) -> bool:
    """Whether a written name may be the wanted one: same folded surname (either word order for
    "Wang Wei"), given names compatible ("D." ~ "Daniel", never "Daniel" ~ "David")."""
    for candidate in (written, swapped(written)) if written.order_ambiguous else (written,):
        if candidate.surname_key != wanted.surname_key:
            continue
        if not wanted.given or not candidate.given:
            return True
        if given_match(wanted.given, candidate.given) != GivenMatch.INCOMPATIBLE:
            return True
    return False


@dataclass
class ListingReport:
    """Counts and messages of one pass over a listing."""

    entries: int = 0
    mentions: int = 0
    problems: list[Problem] = field(default_factory=list)
    unmatched: list[Problem] = field(default_factory=list)  # entries without the --only name


class Listing:
    """The mentions of one input file, streamed in file order."""

    def __init__(self, path: str | Path, fmt: str | None = None, only: str | None = None) -> None:
        self.path = path
        self.fmt = fmt
        self.wanted = parse_name(only) if only else None
        if only is not None and self.wanted is not None and not self.wanted.surname_key:
            raise InputFileError("--only", f"{only!r} is not a person's name")
        self.only = only
        self.report = ListingReport()

    def _kept(self, entry: Entry) -> tuple[Mention, ...]:
        if self.wanted is None:
            return entry.mentions
        wanted = self.wanted
        kept = tuple(m for m in entry.mentions if name_matches(wanted, parse_name(m.name)))
        if not kept:
            names = "; ".join(m.name for m in entry.mentions[:5])
            more = f" and {len(entry.mentions) - 5} more" if len(entry.mentions) > 5 else ""
            self.report.unmatched.append(Problem(entry.where, f"no author matches {self.only!r} ({names}{more})"))
        return kept

    def __iter__(self) -> Iterator[Mention]:
        """Mentions in file order; problems and unmatched entries go to the report."""
        self.report = ListingReport()
        for item in iter_entries(self.path, self.fmt):
            if isinstance(item, Problem):
                self.report.problems.append(item)
                continue
            self.report.entries += 1
            for mention in self._kept(item):
                self.report.mentions += 1
                yield mention
