"""The identifier rules of an arriving mention against its block are those of its pairs in a batch."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from disambig.corpus import build_table, normalise_orcid
from disambig.features import BlockNames
from disambig.identifiers import pair_rules, rules_against_earlier_rows
from disambig.mention import Mention
from disambig.names import parse_name

ORCIDS = ("", "", "0000-0002-1825-0097", "0000-0001-5109-3700")
EMAILS = ("", "", "d.haziza@example.org", "lab@example.org")
WORKS = ("", "", "w1", "w2")
NAMES = ("D. Haziza", "Daniel Haziza", "David Haziza", "Haziza, D.", "Dan Haziza")


def block() -> list[Mention]:
    """Every combination of identifiers and a few compatible and incompatible given names."""
    mentions = []
    combinations = itertools.product(ORCIDS, EMAILS, WORKS)
    for k, (orcid, email, work) in enumerate(combinations):
        mentions.append(Mention(f"m{k}", NAMES[k % len(NAMES)], ("M. Oquab",), orcid=orcid, email=email, work_id=work))
    return mentions


def test_rules_against_earlier_rows_are_pair_rules() -> None:
    mentions = block()
    table = build_table(mentions, [parse_name(m.name) for m in mentions])
    names = BlockNames(table)
    decided: dict[str, bool] = {}
    for row in range(1, len(mentions)):
        ours = rules_against_earlier_rows(table, names, row)
        batch = pair_rules(table, names, (np.full(row, row), np.arange(row)))
        for field in dataclasses.fields(ours):
            mine, theirs = getattr(ours, field.name), getattr(batch, field.name)
            assert mine.dtype == theirs.dtype == bool, field.name
            assert np.array_equal(mine, theirs), (row, field.name)
            decided[field.name] = decided.get(field.name, False) or bool(mine.any())
    # Every rule decided some pair, so the comparison was not of empty rules only.
    assert all(decided.values()), decided


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("0000-0002-1825-0097", "0000000218250097"),
        ("https://orcid.org/0000-0002-1825-0097", "0000000218250097"),
        ("https://orcid.org/0000-0002-1825-0097/", "0000000218250097"),  # a trailing slash was no ORCID
        ("http://orcid.org/0000-0001-5109-3700?lang=en", "0000000151093700"),
        ("0000-0002-1694-233x", "000000021694233X"),  # the check character X, in lower case
        ("0000000218250097", "0000000218250097"),
        ("0000 0002 1825 0097", "0000000218250097"),  # spaces, as some forms print it
        ("0000\u20130002\u20131825\u20130097", "0000000218250097"),  # en dashes, as a word processor makes them
        ("0000-0000-0000-0000; 0000-0002-1825-0097", "0000000218250097"),  # the first valid one
        ("0000-0000-0000-0000", ""),  # a placeholder: its check character is wrong
        ("0000-0002-1825-0098", ""),  # a typo
        ("10000-0002-1825-0097", ""),
        ("0000-0001", ""),
        ("", ""),
    ],
)
def test_an_orcid_is_its_16_characters_when_its_check_character_is_right(written: str, expected: str) -> None:
    assert normalise_orcid(written) == expected


def test_an_identity_shows_its_most_seen_valid_orcid_however_written() -> None:
    from collections import Counter

    from disambig.registry.profile import main_orcid

    seen = Counter({"https://orcid.org/0000-0002-1825-0097": 1, "0000000218250097": 1, "0000-0000-0000-0000": 5})
    assert main_orcid(seen) == "0000-0002-1825-0097"  # the placeholder, seen most, is no one's iD
    assert main_orcid(Counter({"n/a": 3})) == main_orcid(Counter()) == ""
