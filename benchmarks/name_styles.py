"""Robustness to how catalogues write names: one labelled file rewritten into many name styles.

Every mention's `name` and every one of its `coauthors` are written in one catalogue style at a
time ("Gupta, Ajay K.", "GUPTA AK", "A.K. Gupta", ...), the file is clustered with the model, and
B3 and pairwise F1 are printed per style beside its reference:

  as written     the file unchanged: the reference of every style that keeps the given names
  G. I. Surname  every name and coauthor as initials + surname: the reference of every initials
                 style. "initials (names only)" is `disambig evaluate --initials`, which leaves the
                 coauthors as written, for comparison.

A style is generated from the parsed name (the given names as the parser shows them, and the
surname), so a style that keeps the given names should score what "as written" scores, and an
initials style what "G. I. Surname" scores. A difference beyond noise means the parser reads
that style differently. `--mismatches` counts, per style, the names whose parse differs from the
source's (block key, surname, given names; mention names after the corpus's word-order vote,
coauthors as parsed) and shows the most frequent.

    python benchmarks/name_styles.py                                  # qian_dblp_dev, every style
    python benchmarks/name_styles.py --data ../shared/data/aminer110.jsonl.gz --jobs 1
    python benchmarks/name_styles.py --style medline --style surname-comma --mismatches
    python benchmarks/name_styles.py --no-cluster                     # the parse check only, fast
    python benchmarks/name_styles.py --style titles --mismatches      # "Dr. Ajay K. Gupta", ...
    python benchmarks/name_styles.py --style academic-titles --no-cluster  # "Dr. med. Ajay K. Gupta", ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from disambig.mention import Mention
    from disambig.model import PairwiseModel
    from disambig.names import ParsedName
    from disambig.training import LabelledCorpus

REPO_ROOT = Path(__file__).resolve().parent.parent
# Relative to the repo root (the data is shared read-only next to the checkout).
DEFAULT_FILE = "../shared/data/qian_dblp_dev.jsonl.gz"
AS_WRITTEN = "as-written"
INITIALS = "initials"  # the style that is the reference of the initials styles
NAMES_ONLY_INITIALS = "initials-names-only"
EXAMPLE_NAME = "Ajay K. Gupta"
SHOWN_EXAMPLES = 12


def fail(message: str) -> NoReturn:
    """Exit with a one-line message instead of a traceback."""
    print(f"name_styles.py: error: {message}", file=sys.stderr)
    sys.exit(2)


# --- writing a parsed name in a style -------------------------------------------------------


def _word(part: str) -> str:
    """'garcia-marquez' -> 'Garcia-Marquez', "o'brien" -> "O'Brien"."""
    return "-".join("'".join(p.capitalize() for p in piece.split("'")) for piece in part.split("-"))


def surname_words(name: ParsedName) -> str:
    """The folded surname written back; particles before the last word stay lower case."""
    from disambig.names import PARTICLES

    words = name.surname.split()
    return " ".join(w if i < len(words) - 1 and w in PARTICLES else _word(w) for i, w in enumerate(words))


def given_words(name: ParsedName) -> str:
    """'Ajay K.', 'Jean-Pierre': the given names as the parser shows them (hyphens kept), else the
    spelled-out parts capitalised and one-letter parts as initials with a dot."""
    if name.given_display:
        return name.given_display
    return " ".join(f"{p.upper()}." if len(p) == 1 else _word(p) for p in name.given)


def initials(name: ParsedName, sep: str = " ", dots: bool = True) -> str:
    """'A. K.' (sep ' '), 'A.K.' (sep ''), 'AK' (sep '', no dots)."""
    return sep.join(f"{p[0].upper()}{'.' if dots else ''}" for p in name.given)


def _join(*parts: str, sep: str = " ") -> str:
    return sep.join(p for p in parts if p)


def _comma(surname: str, given: str) -> str:
    return f"{surname}, {given}" if given else surname


Writer = Callable[["ParsedName", str], str]  # (parsed source name, name as written) -> new name


@dataclass(frozen=True)
class Style:
    key: str
    label: str
    reference: str  # AS_WRITTEN or INITIALS
    write: Writer


def _from_parts(fn: Callable[[ParsedName, str, str], str]) -> Writer:
    """A writer from (name, given, surname); a name without a surname is left as written."""

    def write(name: ParsedName, raw: str) -> str:
        return fn(name, given_words(name), surname_words(name)) if name.surname else raw

    return write


# Accented letters that transliterate back to the plain ones (checked by check_styles).
_ACCENTS = str.maketrans("aeiouncszlAEIOUNCSZ", "áéïöüñçšžłÁÉÏÖÜÑÇŠŽ")


def accented(raw: str) -> str:
    """Diacritics on every foldable letter, 'ss' as 'ß', 'ae' as 'æ'; every other name decomposed
    (NFD: base letters + combining marks), as some exports write them."""
    text = raw.replace("ss", "ß").replace("ae", "æ").translate(_ACCENTS)
    return unicodedata.normalize("NFD", text) if zlib.crc32(raw.encode()) % 2 else text


def punctuated(raw: str) -> str:
    """Layout noise of scraped listings: non-breaking or doubled spaces, a space before the comma,
    a trailing period, comma or semicolon, a leading tab; curly apostrophes."""
    text = raw.replace("'", "\u2019")
    variant = zlib.crc32(raw.encode()) % 6
    if variant == 0:
        return text.replace(" ", "\u00a0")
    if variant == 1:
        return "  " + text.replace(" ", "  ") + " "
    if variant == 2:
        return text.replace(",", " ,") + "."
    if variant == 3:
        return text + ","
    if variant == 4:
        return text + ";"
    return "\t" + text


def marked(raw: str) -> str:
    """Affiliation and role markers left on a name copied from a byline: numbers, '*', dagger,
    superscripts, envelope, section sign. (Letter markers, "Gupta a,b", cannot be told from
    initials and are not generated.)"""
    markers = ("1", "1,2", "*", "\u2020", "\u00b9,\u00b2", "2*", " 1", "\u2709", "\u00a7")
    return raw.strip() + markers[zlib.crc32(raw.encode()) % len(markers)]


# How listings that give titles and degrees write a name; one per name, by its hash. All keep the
# given names first: a file mixing in "Gupta, Dr. Ajay K." would change the corpus's word-order
# vote on the other names, which is not what this style measures (the unit tests cover it).
_TITLED = (
    "Dr. {g} {s}",
    "Prof. Dr. {g} {s}",
    "DR. {g} {s}, MPH",
    "Dr {g} {s}, PhD",
    "Professor {g} {s} MSc",
)


def titled(given: str, surname: str) -> str:
    """'Dr. Ajay K. Gupta', 'Prof. Dr. Ajay K. Gupta', 'DR. Ajay K. Gupta, MPH', 'Dr Ajay K.
    Gupta, PhD', 'Professor Ajay K. Gupta MSc'. Coauthors get them too: a listing that gives
    titles gives them to every person it names, and the coauthors' parse feeds the model's
    coauthor features."""
    if not given:
        return f"Dr. {surname}"
    form = _TITLED[zlib.crc32(f"{given} {surname}".encode()) % len(_TITLED)]
    return form.format(g=given, s=surname)


# German, Austrian, Czech and Slovak academic titles and degrees, before the name or in a piece of
# their own after it; given names first, as in _TITLED.
_ACADEMIC_TITLED = (
    "Dr. med. {g} {s}",
    "Prof. Dr. rer. nat. {g} {s}",
    "PD Dr. {g} {s}",
    "Univ.-Prof. Dr. {g} {s}",
    "Dipl.-Ing. {g} {s}",
    "Ing. {g} {s}, CSc.",
    "MUDr. {g} {s}, PhD.",
    "{g} {s}, Dr. phil.",
)


def academic_titled(given: str, surname: str) -> str:
    """'Dr. med. Ajay K. Gupta', 'PD Dr. Ajay K. Gupta', 'Ing. Ajay K. Gupta, CSc.', 'Ajay K.
    Gupta, Dr. phil.', ...: one form per name, coauthors too, as `titled`."""
    if not given:
        return f"Dr. med. {surname}"
    form = _ACADEMIC_TITLED[zlib.crc32(f"{given} {surname}".encode()) % len(_ACADEMIC_TITLED)]
    return form.format(g=given, s=surname)


STYLES: tuple[Style, ...] = (
    Style("given-surname", "Given Surname", AS_WRITTEN, _from_parts(lambda n, g, s: _join(g, s))),
    Style("surname-comma", "Surname, Given", AS_WRITTEN, _from_parts(lambda n, g, s: _comma(s, g))),
    Style("upper-surname-comma", "SURNAME, Given", AS_WRITTEN, _from_parts(lambda n, g, s: _comma(s.upper(), g))),
    Style("given-upper-surname", "Given SURNAME", AS_WRITTEN, _from_parts(lambda n, g, s: _join(g, s.upper()))),
    Style("upper-surname-given", "SURNAME Given", AS_WRITTEN, _from_parts(lambda n, g, s: _join(s.upper(), g))),
    Style("upper-comma", "SURNAME, GIVEN", AS_WRITTEN, _from_parts(lambda n, g, s: _comma(s, g).upper())),
    Style("upper-given-surname", "GIVEN SURNAME", AS_WRITTEN, _from_parts(lambda n, g, s: _join(g, s).upper())),
    Style("upper-surname-first", "SURNAME GIVEN", AS_WRITTEN, _from_parts(lambda n, g, s: _join(s, g).upper())),
    Style("lower", "given surname", AS_WRITTEN, _from_parts(lambda n, g, s: _join(g, s).lower())),
    Style("diacritics", "diacritics", AS_WRITTEN, lambda _n, raw: accented(raw)),
    Style("punctuation", "punctuation noise", AS_WRITTEN, lambda _n, raw: punctuated(raw)),
    Style("markers", "byline markers", AS_WRITTEN, lambda _n, raw: marked(raw)),
    Style("titles", "titles, degrees", AS_WRITTEN, _from_parts(lambda n, g, s: titled(g, s))),
    Style(
        "academic-titles",
        "academic titles",
        AS_WRITTEN,
        _from_parts(lambda n, g, s: academic_titled(g, s)),
    ),
    Style("medline", "Surname GI", INITIALS, _from_parts(lambda n, g, s: _join(s, initials(n, "", dots=False)))),
    Style(
        "medline-upper",
        "SURNAME GI",
        INITIALS,
        _from_parts(lambda n, g, s: _join(s, initials(n, "", dots=False)).upper()),
    ),
    Style("wos", "Surname, GI", INITIALS, _from_parts(lambda n, g, s: _comma(s, initials(n, "", dots=False)))),
    Style("surname-comma-initials", "Surname, G. I.", INITIALS, _from_parts(lambda n, g, s: _comma(s, initials(n)))),
    Style(INITIALS, "G. I. Surname", INITIALS, _from_parts(lambda n, g, s: _join(initials(n), s))),
    Style("initials-glued", "G.I. Surname", INITIALS, _from_parts(lambda n, g, s: _join(initials(n, ""), s))),
    Style(
        "initials-glued-all", "G.I.Surname", INITIALS, _from_parts(lambda n, g, s: _join(initials(n, ""), s, sep=""))
    ),
    # Google Scholar: "AK Gupta", "JA Smith" (capitals that can read as a surname, as in "LI Wei").
    Style("scholar", "GI Surname", INITIALS, _from_parts(lambda n, g, s: _join(initials(n, "", dots=False), s))),
)
STYLE_KEYS = [s.key for s in STYLES]
BY_KEY = {s.key: s for s in STYLES}


def check_styles() -> None:
    """The diacritics style must fold back to the plain letters, or it tests nothing."""
    from disambig.names import fold

    for plain, accent in _ACCENTS.items():
        if fold(chr(accent)) != fold(chr(plain)):
            fail(f"accent {chr(accent)!r} does not fold to {chr(plain)!r}")


# --- rewriting a corpus ---------------------------------------------------------------------


def source_names(mentions: Sequence[Mention]) -> list[ParsedName]:
    """The mention names as the engine reads them: parsed, then the corpus's word-order vote."""
    from disambig.engine import corpus_names

    return corpus_names(mentions)


def rewrite(corpus: LabelledCorpus, style: Style, names: Sequence[ParsedName]) -> LabelledCorpus:
    """The corpus with every mention name (from its resolved parse, `names`) and every coauthor
    (from its own parse) written in `style`."""
    from disambig.names import parse_name

    mentions = [
        replace(
            m,
            name=style.write(name, m.name),
            coauthors=tuple(style.write(parse_name(c), c) for c in m.coauthors),
        )
        for m, name in zip(corpus.mentions, names)
    ]
    return replace(corpus, name=f"{corpus.name}[{style.key}]", mentions=mentions)


# --- where the parse differs ----------------------------------------------------------------


@dataclass
class Mismatches:
    """Names whose parse in a style differs from the source's, by the first difference found."""

    names: int = 0  # names compared (mention names + coauthors)
    block: int = 0  # block key differs (surname key or first initial)
    surname: int = 0  # same block key, surname differs (spaces, hyphens, apostrophes)
    given: int = 0  # same block key and surname, given names differ
    examples: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # kind, source, styled, parse

    def as_dict(self) -> dict[str, Any]:
        return {
            "names": self.names,
            "block": self.block,
            "surname": self.surname,
            "given": self.given,
            "examples": [
                {"kind": kind, "source": source, "styled": styled, "parsed": parsed, "count": count}
                for (kind, source, styled, parsed), count in self.examples.most_common(SHOWN_EXAMPLES)
            ],
        }


def compare_parses(
    source: LabelledCorpus, styled: LabelledCorpus, source_names_: Sequence[ParsedName], cut_to_initials: bool
) -> Mismatches:
    """Compare every name of `styled` with its source in `source` (for an initials style, with
    the source's given names cut to initials)."""
    from disambig.names import ParsedName, parse_name

    styled_names = source_names(styled.mentions)
    found = Mismatches()
    pairs: list[tuple[str, str, ParsedName, ParsedName]] = []
    for m, s, a, b in zip(source.mentions, styled.mentions, source_names_, styled_names):
        pairs.append((m.name, s.name, a, b))
        pairs.extend((c, d, parse_name(c), parse_name(d)) for c, d in zip(m.coauthors, s.coauthors))
    for raw, new, a, b in pairs:
        found.names += 1
        given = tuple(p[0] for p in a.given) if cut_to_initials else a.given
        if ParsedName(a.surname, given).block_key != b.block_key:
            kind = "block"
        elif a.surname != b.surname:
            kind = "surname"
        elif given != b.given:
            kind = "given"
        else:
            continue
        setattr(found, kind, getattr(found, kind) + 1)
        found.examples[(kind, raw, new, f"{b.surname}|{','.join(b.given)}")] += 1
    return found


# --- clustering -----------------------------------------------------------------------------


@dataclass
class Row:
    style: str
    label: str
    example: str
    reference: str  # "" for a reference row
    scores: dict[str, float]  # empty with --no-cluster
    seconds: float
    mismatches: Mismatches | None = None


def cluster_scores(corpus: LabelledCorpus, model: PairwiseModel, jobs: int) -> tuple[dict[str, float], float]:
    """Scores of the model on the corpus, and the wall seconds of Engine.cluster."""
    from disambig.engine import Engine
    from disambig.evaluation import score

    start = time.perf_counter()
    assignments = Engine(model, jobs=jobs).cluster(corpus.mentions)
    seconds = time.perf_counter() - start
    return score([a.identity_id for a in assignments], list(corpus.labels)).as_dict(), seconds


def run(
    corpus: LabelledCorpus, styles: Sequence[Style], model: PairwiseModel | None, jobs: int, mismatches: bool
) -> list[Row]:
    """The reference rows, then one row per style (the initials reference added when needed)."""
    from disambig.names import parse_name

    def scores_of(data: LabelledCorpus) -> tuple[dict[str, float], float]:
        return cluster_scores(data, model, jobs) if model is not None else ({}, 0.0)

    example = parse_name(EXAMPLE_NAME)
    names = source_names(corpus.mentions)
    rows = [Row(AS_WRITTEN, "as written", EXAMPLE_NAME, "", *scores_of(corpus))]
    if any(s.reference == INITIALS for s in styles):
        rows.append(
            Row(
                NAMES_ONLY_INITIALS,
                "initials (names only)",
                example.as_initials(),
                "",
                *scores_of(corpus.in_initials()),
            )
        )
        if BY_KEY[INITIALS] not in styles:
            styles = [BY_KEY[INITIALS], *styles]
    for style in styles:
        styled = rewrite(corpus, style, names)
        found = compare_parses(corpus, styled, names, style.reference == INITIALS) if mismatches else None
        shown = unicodedata.normalize("NFC", style.write(example, EXAMPLE_NAME))
        rows.append(Row(style.key, style.label, shown, style.reference, *scores_of(styled), found))
    return rows


def print_table(rows: list[Row], header: str) -> None:
    print(header)
    by_key = {r.style: r for r in rows}
    clustered = any(r.scores for r in rows)
    wide = max([18, *(len(r.example.strip()) for r in rows)])
    line = f"{'style':<22} {'example':<{wide}} {'reference':<13}"
    if clustered:
        line += f" {'B3 F1':>6} {'d B3':>7} {'pw F1':>6} {'d pw':>7} {'wall s':>7}"
    if any(r.mismatches for r in rows):
        line += f" {'names':>7} {'block':>6} {'surn':>5} {'given':>6}"
    print(line)
    print("-" * len(line))
    for row in rows:
        out = (
            f"{row.label:<22} {row.example.strip():<{wide}} {by_key[row.reference].label if row.reference else '-':<13}"
        )
        if clustered:
            ref = by_key.get(row.reference)
            d_b3 = d_pw = ""
            if ref is not None:
                d_b3 = f"{row.scores['b3_f1'] - ref.scores['b3_f1']:+.3f}"
                d_pw = f"{row.scores['pairwise_f1'] - ref.scores['pairwise_f1']:+.3f}"
            b3, pw = row.scores["b3_f1"], row.scores["pairwise_f1"]
            out += f" {b3:6.3f} {d_b3:>7} {pw:6.3f} {d_pw:>7} {row.seconds:7.1f}"
        if row.mismatches:
            m = row.mismatches
            out += f" {m.names:>7} {m.block:>6} {m.surname:>5} {m.given:>6}"
        print(out)
    for row in rows:
        if row.mismatches is None or not row.mismatches.examples:
            continue
        print(f"\n{row.label}: names parsed differently (kind, count, source -> styled: surname|given)")
        for (kind, raw, styled, parsed), count in row.mismatches.examples.most_common(SHOWN_EXAMPLES):
            print(f"  {kind:<8} {count:>5}x  {raw!r} -> {styled!r}: {parsed}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="B3 and pairwise F1 of a labelled file rewritten into catalogue name styles."
    )
    parser.add_argument(
        "--data",
        "--file",
        dest="data",
        metavar="FILE",
        help=f"labelled JSONL(.gz) file with person_id (default: {DEFAULT_FILE})",
    )
    parser.add_argument("--model", metavar="DIR", help="model directory (default: the shipped model)")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (0 = all cores)")
    parser.add_argument(
        "--style",
        action="append",
        choices=STYLE_KEYS,
        metavar="STYLE",
        help=f"style to run; repeatable (default: all): {', '.join(STYLE_KEYS)}",
    )
    parser.add_argument("--mismatches", action="store_true", help="count and show the names parsed differently")
    parser.add_argument("--no-cluster", action="store_true", help="the parse comparison only (implies --mismatches)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows instead of a table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    label = args.data or DEFAULT_FILE
    path = Path(args.data) if args.data else REPO_ROOT / DEFAULT_FILE
    if not path.is_file():
        fail(f"{label}: no such file (labelled data lives in ../shared/data, see its README)")
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
    styles = [BY_KEY[k] for k in dict.fromkeys(args.style)] if args.style else list(STYLES)

    from quality import load_model_or_fail
    from threadpoolctl import threadpool_limits

    from disambig.errors import DisambigError
    from disambig.model import default_model_path
    from disambig.training import LabelledCorpus

    check_styles()
    model = None
    model_dir = args.model or str(default_model_path())
    if not args.no_cluster:
        model, model_dir = load_model_or_fail(args.model, fail)
    try:
        corpus = LabelledCorpus.read(path)
    except DisambigError as exc:
        fail(str(exc))

    # As in quality.py: with several worker processes, one BLAS/OpenMP thread per process.
    limits = threadpool_limits(1) if jobs > 1 else contextlib.nullcontext()
    with limits:
        rows = run(corpus, styles, model, jobs, args.mismatches or args.no_cluster)

    if args.json:
        out = [
            {
                "file": label,
                "style": r.style,
                "label": r.label,
                "example": r.example,
                "reference": r.reference,
                **r.scores,
                "seconds": round(r.seconds, 2),
                "mismatches": r.mismatches.as_dict() if r.mismatches else None,
                "model_version": model.version if model else None,
                "jobs": jobs,
            }
            for r in rows
        ]
        print(json.dumps(out, indent=2))
    else:
        about = f"  model: {model.version}  threshold: {model.threshold:.3f}  dir: {model_dir}" if model else ""
        print_table(rows, f"file: {label}  mentions: {len(corpus.mentions)}  jobs: {jobs}{about}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
