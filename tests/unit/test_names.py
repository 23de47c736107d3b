"""parse_name, to_initials, given_match and the corpus vote of resolve_name_order."""

from __future__ import annotations

import pytest

from disambig.blocking import resolve_name_order
from disambig.names import GivenMatch, given_match, parse_name, to_initials

# raw, surname, given, block_key, as_initials(), order_ambiguous
PARSE_TABLE = [
    ("Daniel Haziza", "haziza", ("daniel",), "haziza_d", "D. Haziza", True),
    ("Haziza, Daniel", "haziza", ("daniel",), "haziza_d", "D. Haziza", False),
    ("D. Haziza", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("HAZIZA D", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("Haziza D.", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("Jean-Pierre Dupont", "dupont", ("jean", "pierre"), "dupont_j", "J. P. Dupont", True),
    ("J.-P. Dupont", "dupont", ("j", "p"), "dupont_j", "J. P. Dupont", False),
    ("van der Berg, Anna", "van der berg", ("anna",), "vanderberg_a", "A. van der Berg", False),
    ("Anna van der Berg", "van der berg", ("anna",), "vanderberg_a", "A. van der Berg", False),
    ("José García-Márquez", "garcia-marquez", ("jose",), "garciamarquez_j", "J. Garcia-Marquez", True),
    # Raw parse of a two-word name is Western order; resolve_name_order may swap it later.
    ("Wang Wei", "wei", ("wang",), "wei_w", "W. Wei", True),
    ("Wei Wang", "wang", ("wei",), "wang_w", "W. Wang", True),
    ("John Smith Jr.", "smith", ("john",), "smith_j", "J. Smith", True),
    ("Smith, John, Jr.", "smith", ("john",), "smith_j", "J. Smith", False),
    ("Robert King III", "king", ("robert",), "king_r", "R. King", True),
    ("  d. HAZIZA ", "haziza", ("d",), "haziza_d", "D. Haziza", False),
    ("Wang, J.C.", "wang", ("j", "c"), "wang_j", "J. C. Wang", False),
    ("Deborah L Stenkamp", "stenkamp", ("deborah", "l"), "stenkamp_d", "D. L. Stenkamp", False),
    ("Stenkamp DL", "stenkamp", ("d", "l"), "stenkamp_d", "D. L. Stenkamp", False),
    ("J Subjak", "subjak", ("j",), "subjak_j", "J. Subjak", False),
]


@pytest.mark.parametrize(
    ("raw", "surname", "given", "block_key", "initials", "ambiguous"),
    PARSE_TABLE,
    ids=[row[0].strip() for row in PARSE_TABLE],
)
def test_parse_name_forms(
    raw: str, surname: str, given: tuple[str, ...], block_key: str, initials: str, ambiguous: bool
) -> None:
    parsed = parse_name(raw)
    assert parsed.surname == surname
    assert parsed.given == given
    assert parsed.block_key == block_key
    assert parsed.as_initials() == initials
    assert parsed.order_ambiguous is ambiguous


def test_diacritics_are_folded_into_the_surname_key() -> None:
    accented = parse_name("José García-Márquez")
    plain = parse_name("Jose Garcia-Marquez")
    assert accented.surname_key == "garciamarquez"
    assert accented == plain


@pytest.mark.parametrize("raw", ["Daniel Haziza", "Haziza, Daniel", "HAZIZA Daniel", "haziza, daniel"])
def test_full_name_forms_agree(raw: str) -> None:
    parsed = parse_name(raw)
    assert (parsed.surname, parsed.given, parsed.surname_display) == ("haziza", ("daniel",), "Haziza")


@pytest.mark.parametrize("raw", ["", "   ", "...", "123", ",,,"])
def test_unparseable_name_gives_empty_surname(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.surname == ""
    assert parsed.given == ()


@pytest.mark.parametrize("raw", ["GARCIA MARQUEZ J", "Garcia Marquez J"])
def test_multi_word_surname_followed_by_initials(raw: str) -> None:
    parsed = parse_name(raw)
    assert parsed.given == ("j",)
    assert parsed.surname_key == "garciamarquez"
    assert parsed.block_key == "garciamarquez_j"


def test_to_initials() -> None:
    assert to_initials("Ajay K. Gupta") == "A. K. Gupta"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (("daniel",), ("david",), GivenMatch.INCOMPATIBLE),
        (("d",), ("david",), GivenMatch.INITIALS_ONLY),
        (("bob",), ("robert",), GivenMatch.VARIANT),
        (("mohamed",), ("mohammed",), GivenMatch.VARIANT),
        (("j", "c"), ("j", "h"), GivenMatch.INCOMPATIBLE),
        (("wei",), ("wen",), GivenMatch.INCOMPATIBLE),
        (("dan",), ("daniel",), GivenMatch.VARIANT),
        (("daniel",), ("daniel",), GivenMatch.EXACT),
        (("d",), ("e",), GivenMatch.INCOMPATIBLE),
    ],
)
def test_given_match(a: tuple[str, ...], b: tuple[str, ...], expected: GivenMatch) -> None:
    assert given_match(a, b) == expected
    assert given_match(b, a) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("jean", "pierre"), ("jeanpierre",)),
        (("jian", "chun"), ("j", "c")),
        (("jean", "pierre"), ("j", "p")),
        (("jean",), ("jean", "pierre")),  # a missing middle name never conflicts
    ],
)
def test_given_match_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> None:
    assert given_match(a, b) != GivenMatch.INCOMPATIBLE
    assert given_match(b, a) != GivenMatch.INCOMPATIBLE


def test_given_match_hyphen_joined_is_not_mere_initials() -> None:
    assert given_match(("jean", "pierre"), ("jeanpierre",)) >= GivenMatch.VARIANT


def test_resolve_name_order_uses_corpus_surnames() -> None:
    corpus = [parse_name(raw) for raw in ["Wang, Wei", "Wang, Li", "Wang Wei"]]
    resolved = resolve_name_order(corpus)
    assert len(resolved) == 3
    assert resolved[:2] == corpus[:2]  # unambiguous names are untouched
    assert resolved[2].surname == "wang"
    assert resolved[2].given == ("wei",)
    assert resolved[2].block_key == "wang_w"


def test_resolve_name_order_keeps_western_order_without_evidence() -> None:
    corpus = [parse_name(raw) for raw in ["Wei, Zhang", "Wang Wei"]]
    resolved = resolve_name_order(corpus)
    assert resolved[1].surname == "wei"
    assert resolved[1].given == ("wang",)
