"""The "D. Haziza" case: two real people, one initials-only name, one venue string.

Daniel Haziza (ML systems: DINOv2, xFormers) and David Haziza (survey statistics: weighting,
imputation) both publish as "D. Haziza", here all on arXiv in overlapping years. Only their
coauthor communities and topics tell them apart, and the shipped model must use them.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from disambig.engine import Engine
from disambig.model import load_model
from disambig.training import LabelledCorpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


def test_initials_only_homonyms_split_by_coauthors_and_topics() -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    assert {m.name for m in corpus.mentions} == {"D. Haziza"}
    assert {m.venue for m in corpus.mentions} == {"arXiv"}
    assignments = Engine(load_model(), jobs=1).cluster(corpus.mentions)
    people_of_identity: dict[str, set[str]] = defaultdict(set)
    identities_of_person: dict[str, set[str]] = defaultdict(set)
    for assignment, person in zip(assignments, corpus.labels, strict=True):
        people_of_identity[assignment.identity_id].add(person)
        identities_of_person[person].add(assignment.identity_id)
    assert all(len(people) == 1 for people in people_of_identity.values()), "homonyms were merged"
    assert all(len(ids) == 1 for ids in identities_of_person.values()), "one person was split"
