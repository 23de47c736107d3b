"""mention_from_record: the single definition of a valid mention."""

from __future__ import annotations

from typing import Any

import pytest

from disambig.errors import FieldViolation, InvalidMentionError
from disambig.mention import Mention, mention_from_record, validated_fields

WHERE = "input.jsonl:7"


def _violations(record: Any) -> list[FieldViolation]:
    with pytest.raises(InvalidMentionError) as info:
        mention_from_record(record, WHERE, default_id="input:7")
    assert info.value.where == WHERE
    assert str(info.value).startswith(f"{WHERE}: ")
    return info.value.violations


def _fields(record: Any) -> list[str]:
    return [v.field for v in _violations(record)]


def test_only_name_is_required() -> None:
    mention = mention_from_record({"name": "Daniel Haziza"}, WHERE, default_id="input:7")
    assert mention == Mention(mention_id="input:7", name="Daniel Haziza")
    assert mention.year is None
    assert mention.coauthors == ()


def test_given_mention_id_wins_over_default() -> None:
    mention = mention_from_record({"mention_id": "m1", "name": "D. Haziza"}, WHERE, default_id="input:7")
    assert mention.mention_id == "m1"


def test_full_record_is_kept() -> None:
    record = {
        "mention_id": "m1",
        "name": "D. Haziza",
        "coauthors": ["A. B", "C. D"],
        "title": "A title",
        "venue": "Venue",
        "year": 2001,
        "affiliations": ["Lab"],
        "topics": ["ml"],
        "orcid": "0000-0001",
        "source": "crossref",
    }
    mention = mention_from_record(record, WHERE, default_id="x")
    assert mention.coauthors == ("A. B", "C. D")
    assert mention.year == 2001
    assert mention.affiliations == ("Lab",)
    assert mention.orcid == "0000-0001"
    assert mention.extra == {"source": "crossref"}


def test_person_id_is_ignored() -> None:
    mention = mention_from_record({"name": "D. Haziza", "person_id": "p9"}, WHERE, default_id="x")
    assert "person_id" not in mention.extra
    assert "p9" not in mention.to_dict().values()


@pytest.mark.parametrize(
    ("record", "field"),
    [
        pytest.param({"title": "no name"}, "name", id="missing-name"),
        pytest.param({"name": None}, "name", id="null-name"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "   "}, "name", id="blank-name"),
        pytest.param({"name": ".,-'"}, "name", id="punctuation-name"),
        pytest.param({"name": "et al."}, "name", id="et-al-name"),
        pytest.param({"name": "et alii"}, "name", id="et-alii-name"),
        pytest.param({"name": "Dr. PhD"}, "name", id="title-and-degree-name"),
        pytest.param({"name": "Jr."}, "name", id="suffix-name"),
        pytest.param({"name": 42}, "name", id="name-not-string"),
        pytest.param({"name": ["D. Haziza"]}, "name", id="name-list"),
        pytest.param({"name": "x" * 513}, "name", id="name-too-long"),
        pytest.param({"name": "D. Haziza", "coauthors": "A. B, C. D"}, "coauthors", id="coauthors-string"),
        pytest.param({"name": "D. Haziza", "coauthors": {"a": 1}}, "coauthors", id="coauthors-dict"),
        pytest.param({"name": "D. Haziza", "coauthors": ["A. B", 3]}, "coauthors[1]", id="coauthor-not-string"),
        pytest.param({"name": "D. Haziza", "year": -5}, "year", id="year-negative"),
        pytest.param({"name": "D. Haziza", "year": 99999}, "year", id="year-too-large"),
        pytest.param({"name": "D. Haziza", "year": True}, "year", id="year-true"),
        pytest.param({"name": "D. Haziza", "year": "soon"}, "year", id="year-word"),
        pytest.param({"name": "D. Haziza", "year": 2001.5}, "year", id="year-float"),
        pytest.param({"name": "D. Haziza", "title": "x" * 1_000_000}, "title", id="title-1MB"),
        pytest.param({"name": "D. Haziza", "title": 5}, "title", id="title-not-string"),
        pytest.param({"name": "D. Haziza", "mention_id": ""}, "mention_id", id="empty-mention-id"),
    ],
)
def test_invalid_field_is_named(record: dict[str, Any], field: str) -> None:
    assert _fields(record) == [field]


def test_a_stored_record_is_read_back_without_the_surname_rule() -> None:
    """A registry may hold a name accepted before the rule (or read otherwise by an older parser):
    it stays readable, while a new one is refused."""
    assert mention_from_record({"name": "et al."}, WHERE, default_id="x", stored=True).name == "et al."
    assert _fields({"name": "et al."}) == ["name"]


def test_year_false_is_rejected() -> None:
    assert _fields({"name": "D. Haziza", "year": False}) == ["year"]


@pytest.mark.parametrize("record", [["name", "D. Haziza"], "D. Haziza", None, 3])
def test_record_must_be_an_object(record: Any) -> None:
    assert _fields(record) == ["(record)"]


def test_every_bad_field_is_reported_at_once() -> None:
    fields = _fields({"name": 1, "coauthors": ["ok", None], "year": 99999})
    assert sorted(fields) == ["coauthors[1]", "name", "year"]


def test_fields_validated_once_are_taken_as_checked() -> None:
    """A work's authors share its fields: validated once (validated_fields), they are passed to
    each author's mention as checked, and only the author's own fields are validated again."""
    work = {"title": " A title\x00 ", "year": "2019", "topics": ["ml", "\u200b", 5], "venue": "x" * 5_000}
    values, violations = validated_fields(work, ("title", "year", "topics", "venue"))
    assert values == {"title": "A title", "venue": "", "topics": ("ml",), "year": 2019}
    assert [v.field for v in violations] == ["venue", "topics[2]"]
    record = {**work, "name": "D. Haziza", "coauthors": [None]}
    mention = mention_from_record(record, WHERE, default_id="x", checked={**values, "coauthors": ("A. B",)})
    assert (mention.title, mention.venue, mention.year, mention.topics) == ("A title", "", 2019, ("ml",))
    assert mention.coauthors == ("A. B",)
    with pytest.raises(InvalidMentionError) as info:
        mention_from_record({**record, "name": 3}, WHERE, default_id="x", checked={**values, "coauthors": ()})
    assert [v.field for v in info.value.violations] == ["name"]


@pytest.mark.parametrize("year", [0, None, "0"])
def test_zero_or_null_year_means_unknown(year: int | None) -> None:
    assert mention_from_record({"name": "D. Haziza", "year": year}, WHERE, default_id="x").year is None


@pytest.mark.parametrize("year", [1000, 2024, 2200, "1999", 2019.0, "2019.0", " 2019 ", "\u0662\u0660\u0661\u0669"])
def test_valid_years(year: int | str | float) -> None:
    assert mention_from_record({"name": "D. Haziza", "year": year}, WHERE, default_id="x").year == int(float(year))


@pytest.mark.parametrize("year", ["\u00b2\u2070\u00b9\u2079", "9" * 5000, "2019.5", "20 19"])
def test_a_year_string_int_cannot_read_is_named(year: str) -> None:
    """Superscript digits pass str.isdigit but not int(); 5,000 digits pass
    neither Python's int() limit: each is the field's error, never a crash."""
    assert _fields({"name": "D. Haziza", "year": year}) == ["year"]


def test_numeric_ids_are_taken_as_their_decimal_strings() -> None:
    mention = mention_from_record({"name": "D. Haziza", "mention_id": 17, "work_id": 4}, WHERE, default_id="x")
    assert (mention.mention_id, mention.work_id) == ("17", "4")
    assert _fields({"name": "D. Haziza", "mention_id": True}) == ["mention_id"]
    assert _fields({"name": "D. Haziza", "mention_id": 1.5}) == ["mention_id"]


@pytest.mark.parametrize("mention_id", [" m1", "m1 ", "m\x01", "m\t1"])
def test_a_mention_id_is_taken_as_sent(mention_id: str) -> None:
    """Cleaned, " m1" and "m1" would be one mention, and the reply would name an id never sent."""
    assert mention_from_record({"name": "D. Haziza", "mention_id": mention_id}, WHERE, default_id="x").mention_id == (
        mention_id
    )


@pytest.mark.parametrize("mention_id", ["m\x001", " \t", "\x01\x02", "\x7f", "\u200b\u200d"])
def test_a_mention_id_with_a_nul_or_nothing_but_blanks_is_refused(mention_id: str) -> None:
    assert _fields({"name": "D. Haziza", "mention_id": mention_id}) == ["mention_id"]


def test_nul_bytes_are_stripped_from_a_valid_name() -> None:
    mention = mention_from_record({"name": "Dan\x00iel Haz\x00iza\x00"}, WHERE, default_id="x")
    assert mention.name == "Daniel Haziza"


def test_empty_coauthors_are_dropped() -> None:
    record = {"name": "D. Haziza", "coauthors": ["A. B", " ", "\x00", "\u200b", "\x7f"]}
    mention = mention_from_record(record, WHERE, default_id="x")
    assert mention.coauthors == ("A. B",)


def test_a_work_read_as_a_mention_names_the_format_to_use() -> None:
    """Every reader of mentions (cluster on stdin, client resolve) meets a works line this way."""
    with pytest.raises(InvalidMentionError, match="--format works"):
        mention_from_record({"work_id": "W1", "authors": ["Smith J"]}, WHERE, default_id="x")
