"""The summary `disambig cluster` and `resolve` print: counts read as English."""

from __future__ import annotations

from disambig.batch.summary import summarise
from disambig.mention import mention_from_record


def test_one_of_a_kind_is_counted_in_the_singular() -> None:
    record = {"mention_id": "m1", "name": "Daniel Haziza", "year": 2021, "work_id": "W1"}
    mention = mention_from_record(record, "t:1", "m1")
    lines = summarise([(mention, "id-1")]).render().splitlines()
    assert lines[0] == "1 identity from 1 mention"
    assert lines[1] == "  id-1  Daniel Haziza  (1 work, 2021)"


def test_more_than_one_is_counted_in_the_plural() -> None:
    records = [{"mention_id": f"m{k}", "name": "Daniel Haziza", "year": 2021, "work_id": f"W{k}"} for k in range(3)]
    results = [(mention_from_record(r, f"t:{k}", f"m{k}"), f"id-{k % 2}") for k, r in enumerate(records)]
    lines = summarise(results).render(limit=1).splitlines()
    assert lines[0] == "2 identities from 3 mentions"
    assert "(2 works, 2021)" in lines[1]
    assert lines[-1] == "  ... and 1 more identity"
