"""LaTeX and HTML markup decoded from names and bibliography text."""

from __future__ import annotations

import pytest

from disambig.markup import MAX_BRACE_DEPTH, latex_to_text, name_without_markup
from disambig.names import parse_name


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ('Hans M\\"uller', "Hans Müller"),  # arXiv metadata writes accents in LaTeX
        ('M{\\"u}ller, Hans', "Müller, Hans"),
        ("{\\L}ukasz Wr{\\'o}bel", "Łukasz Wróbel"),
        ("Ji\\v{r}\\'i Novak", "Jiří Novak"),
        ("Hans M&uuml;ller", "Hans Müller"),  # HTML character references, named and numbered
        ("Jos&#233; Garc&#xed;a", "José García"),
        ("AT&T Labs", "AT&T Labs"),  # an ampersand that starts no reference stays
        ("J.~A. Smith", "J.~A. Smith"),  # no macro or group: left to the name parser
    ],
)
def test_markup_in_a_name_is_decoded(raw: str, plain: str) -> None:
    assert name_without_markup(raw) == plain


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ('Hans M\\"uller', "Hans Müller"),
        ("Jos\\'e Garc\\'ia", "José García"),
        ("Jos&eacute; Garc&iacute;a", "José García"),
        ("R{\\'e}my Dupont", "Rémy Dupont"),
    ],
)
def test_a_name_with_markup_parses_as_the_plain_name(raw: str, plain: str) -> None:
    marked, clean = parse_name(raw), parse_name(plain)
    assert (marked.block_key, marked.given) == (clean.block_key, clean.given)


def test_nesting_too_deep_for_the_decoder_keeps_the_text_without_braces() -> None:
    deep = "{" * (MAX_BRACE_DEPTH * 200) + "Smith" + "}" * (MAX_BRACE_DEPTH * 200)
    assert latex_to_text(deep) == "Smith"
    assert parse_name("John " + deep).surname == "smith"


def test_math_nested_past_the_stack_keeps_the_text_without_markup() -> None:
    # "\(" opens inline math inside the last: the decoder recursed until RecursionError.
    deep = "\\(" * 3000 + " Smith"
    assert latex_to_text(deep).endswith("Smith")
    assert parse_name("John Smith " + "\\(" * 3000).surname == "smith"
