"""Markup that text carries from its source, decoded to plain Unicode: LaTeX (BibTeX files, arXiv
metadata: "M{\\"u}ller", "Jos\\'e") and HTML character references (web pages, JATS and Crossref
records: "M&uuml;ller", "Jos&#233;")."""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text

# Deeper nesting is no real text; the LaTeX decoder recurses on it.
MAX_BRACE_DEPTH = 32

# Text with none of these is plain already; pylatexenc, slow on long abstracts, is skipped for it.
_LATEX_MARKUP = re.compile(r"[\\{}$~]|--|``|''")
# In a name, only a macro or a group is LaTeX: "--", quotes and "~" are left to the name parser.
_LATEX_IN_NAME = re.compile(r"[\\{}]")
_UNESCAPED_PERCENT = re.compile(r"(?<!\\)%")
_MACRO_OR_GROUPING = re.compile(r"\\[A-Za-z]+|[\\{}$]")
_HTML_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


@lru_cache(maxsize=1)
def _latex() -> LatexNodes2Text:
    # Imported on first use: most runs never meet LaTeX.
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text()


def brace_depth(text: str) -> int:
    """The deepest nesting of braces in `text`."""
    depth = deepest = 0
    for char in text:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth = max(depth - 1, 0)
    return deepest


def squash_spaces(text: str) -> str:
    """Runs of whitespace (line breaks of wrapped titles included) as one space."""
    return " ".join(text.split())


def latex_to_text(value: str) -> str:
    """LaTeX markup as plain Unicode: {\\'e} -> é, \\"{o} -> ö, {\\ss} -> ß, braces and ~ dropped.

    A bare % is a literal per cent sign in bibliography data, not a LaTeX comment eating the line.
    Text nested deeper than MAX_BRACE_DEPTH keeps its markup, braces dropped.
    """
    if not _LATEX_MARKUP.search(value):
        return squash_spaces(value)
    if brace_depth(value) > MAX_BRACE_DEPTH:
        return _without_latex(value)
    try:
        return squash_spaces(_latex().latex_to_text(_UNESCAPED_PERCENT.sub(r"\\%", value)))
    except RecursionError:
        # Math opened inside math ("\\(\\(\\(..."), nested past the interpreter's stack: no
        # real text, and the decoder recurses on it as on braces.
        return _without_latex(value)


def _without_latex(value: str) -> str:
    """The text with macros, braces and math shifts dropped: what is left to read of markup too
    deep to decode."""
    return squash_spaces(_MACRO_OR_GROUPING.sub(" ", value))


def name_without_markup(name: str) -> str:
    """A name with its HTML references and LaTeX decoded: "M&uuml;ller" and "M{\\"u}ller" are
    "Müller". A name without either is returned as it is."""
    if "&" in name and _HTML_REFERENCE.search(name):
        name = html.unescape(name)
    if _LATEX_IN_NAME.search(name):
        name = latex_to_text(name)
    return name
