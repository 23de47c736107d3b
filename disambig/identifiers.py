"""What ORCIDs, e-mail addresses and work ids decide about a pair, for batch and online scoring alike.

The classifier never sees these identifiers: they are rules laid over its probabilities, so both
the batch engine and the resolver must apply the same ones (an online mention sharing an e-mail
with a stored one must land where a batch run would put it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from disambig.corpus import MentionTable
from disambig.features import BlockNames, Pairs

# A shared e-mail address is strong evidence, but labs share mailboxes: it shrinks the chance of
# "different people" twentyfold rather than forcing a merge.
SHARED_EMAIL_ODDS = 20.0


@dataclass(frozen=True)
class PairRules:
    """Per pair of a block: what its identifiers and names decide before any scoring."""

    same_orcid: np.ndarray  # always one person (must-link)
    same_email: np.ndarray  # linking evidence, and the odds of "different people" cut
    # Never one person: incompatible given names, different ORCIDs, or two authors of one work
    # ("Wang Y" and "Wang Y" on one paper, who share every coauthor and the title).
    ruled_out: np.ndarray
    orcid_conflict: np.ndarray  # ruled out by different ORCIDs (for explanations)
    same_work: np.ndarray  # ruled out as two authors of one work (for explanations)


def pair_rules(table: MentionTable, names: BlockNames, pairs: Pairs) -> PairRules:
    """The rules for pairs (i, j) of one block's rows; "" is an unknown ORCID, e-mail or work."""
    i, j = pairs
    orcids, emails, works = table.orcids, table.emails, table.works
    has_orcid = (orcids[i] != "") & (orcids[j] != "")
    same_orcid = has_orcid & (orcids[i] == orcids[j])
    same_email = (emails[i] != "") & (emails[i] == emails[j])
    same_work = (works[i] != "") & (works[i] == works[j])
    return _decided(same_orcid, has_orcid & ~same_orcid, same_email, same_work, names.compatible(i, j))


def rules_against_earlier_rows(table: MentionTable, names: BlockNames, row: int) -> PairRules:
    """pair_rules of the pairs (row, k) for every k < row (an arriving mention against its block):
    the row's identifiers read once, and the block's compared only where the row has one, which
    most mentions have not. The block's are not gathered pair by pair: for a block of thousands,
    that was thousands of object copies and comparisons a call."""
    orcid, email, work = table.orcids[row], table.emails[row], table.works[row]
    same_orcid, orcid_conflict, same_email, same_work = (np.zeros(row, dtype=bool) for _ in range(4))
    if orcid:
        theirs = table.orcids[:row]
        has_orcid = theirs != ""
        same_orcid = has_orcid & (theirs == orcid)
        orcid_conflict = has_orcid & ~same_orcid
    if email:
        same_email = table.emails[:row] == email
    if work:
        same_work = table.works[:row] == work
    return _decided(same_orcid, orcid_conflict, same_email, same_work, names.compatible(row, np.arange(row)))


def _decided(
    same_orcid: np.ndarray,
    orcid_conflict: np.ndarray,
    same_email: np.ndarray,
    same_work: np.ndarray,
    compatible: np.ndarray,
) -> PairRules:
    """What the identifier comparisons and the names decide, one way for every caller: an ORCID
    overrides names and a shared work; a pair ruled out has no e-mail evidence."""
    same_work = same_work & ~same_orcid
    ruled_out = (~compatible & ~same_orcid) | orcid_conflict | same_work
    return PairRules(same_orcid, same_email & ~ruled_out, ruled_out, orcid_conflict, same_work)


def identifier_exclusions(rules: PairRules, owners: Sequence[str], works: np.ndarray) -> list[str]:
    """In words, the identities the identifiers alone keep a mention out of: what a catalogue
    should read when a mention it expected to link got a new identity. Pair k is the mention
    against a row of identity `owners[k]` and work `works[k]`."""
    lines: dict[str, str] = {}
    for k in np.flatnonzero(rules.orcid_conflict | rules.same_work).tolist():
        if owners[k] not in lines:
            reason = "a different ORCID" if rules.orcid_conflict[k] else f"another author of work {works[k]}"
            lines[owners[k]] = f"not {owners[k]}: {reason}"
    return list(lines.values())


def apply_identifiers(probabilities: np.ndarray, rules: PairRules) -> None:
    """Lay the identifier rules over the classifier's probabilities of these pairs, in place."""
    shared = rules.same_email
    probabilities[shared] = 1.0 - (1.0 - probabilities[shared]) / SHARED_EMAIL_ODDS
    probabilities[rules.same_orcid] = 1.0
