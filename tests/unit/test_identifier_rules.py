"""The identifier rules of an arriving mention against its block are those of its pairs in a batch."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from disambig.corpus import build_table
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
