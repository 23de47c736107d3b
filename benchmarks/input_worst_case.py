"""The slowest inputs to read: every place a listing's text enters, on long strings made of one
short unit repeated.

A field read from a file has no length limit (the gRPC service caps strings, the CLI does not),
so a pattern that backtracks over the whole field from every position (quadratic) turns one bad
line into minutes. This calls each function below on a seeded sweep of inputs, prints the
slowest calls of each, and fails (exit 1) when one exceeds --limit seconds; run it after changing
a reader, disambig/mention.py, disambig/emails.py or the identifier patterns. Names are parsed
by disambig/names.py: benchmarks/parse_worst_case.py measures that.

    python benchmarks/input_worst_case.py                 # 100 inputs of 2,000 and 20,000 characters
    python benchmarks/input_worst_case.py --seed 2 --inputs 400 --only bibtex
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import io
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import orjson

from disambig.coauthors import group_key
from disambig.corpus import normalise_orcid
from disambig.emails import addresses, author_email
from disambig.errors import InputFileError, InvalidMentionError
from disambig.mention import MAX_NAME_CHARS, MAX_SHORT_TEXT_CHARS, mention_from_record
from disambig.readers import iter_entries
from disambig.readers.bibtex import split_names
from disambig.readers.common import split_list
from disambig.readers.delimited import split_authors
from disambig.service.checks import page_after
from disambig.service.status import InvalidRequest
from disambig.text import analyze

ALPHABET = "abcxyzABCXYZ0123459 .,;:-_'\"@/<>()[]{}\\&|ÉéÞßüñ\u2010\t\n"
# Inputs found slow before (each was quadratic): letters without an '@' (e-mail addresses), runs
# of spaces, tabs or line breaks (author separators; bibtexparser makes a tab eight spaces),
# one-letter authors separated by ';' or '|' (a work's coauthor lists), and, with a head and a
# tail around the repeated unit, a surname word after initials that fails at its end (CSV).
KNOWN = ("b_", "1", " ", "\t", "\n", "|Z", "d{;", " and", ("Smith J, A. B", "c", "!"))
LENGTHS = (2_000, 20_000)


def _drain(items: Iterable[object]) -> None:
    for _ in items:
        pass


class _Files:
    """Inputs written to a scratch directory, read back through iter_entries as a user's file is."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def read(self, name: str, content: str, fmt: str) -> None:
        path = self.directory / name
        path.write_text(content, encoding="utf-8")
        with contextlib.suppress(InputFileError):  # a whole file refused ("no entries") is an answer too
            _drain(iter_entries(path, fmt))

    def bibtex(self, text: str) -> None:
        field = text.replace("{", "").replace("}", "")  # balanced, so the entry is read
        self.read("refs.bib", f"@article{{k1,\n author = {{{field}}},\n title = {{T}}}}\n", "bibtex")

    def csv_work(self, text: str) -> None:
        out = io.StringIO()
        # A valid title and year, so that the authors' mentions are made and kept.
        csv.writer(out).writerows([["authors", "title", "year"], [text, "T", "2020"]])
        self.read("works.csv", out.getvalue(), "csv")

    def csv_mention(self, text: str) -> None:
        out = io.StringIO()
        columns = ["name", "coauthors", "affiliations", "topics", "email", "orcid", "year"]
        csv.writer(out).writerows([columns, ["Ann Lee", *[text] * (len(columns) - 1)]])
        self.read("mentions.csv", out.getvalue(), "csv")

    def works_jsonl(self, text: str) -> None:
        authors = [text[i : i + 8] for i in range(0, len(text), 8)]  # a work of thousands of authors
        last = {"name": "Ann Lee", "email": text}
        record = {"work_id": "w", "title": "T", "year": 2020, "venue": text, "authors": [*authors, last]}
        self.read("works.jsonl", orjson.dumps(record).decode() + "\n", "works")

    def csl(self, text: str) -> None:
        author = {"family": text, "given": text, "ORCID": text, "affiliation": [{"name": text}]}
        item = {"id": "x", "title": text, "abstract": text, "keyword": text, "author": [author, {"literal": text}]}
        self.read("items.json", orjson.dumps([item]).decode(), "csl-json")

    def atom(self, text: str) -> None:
        value = escape(text)
        entry = (
            f"<entry><id>http://arxiv.org/abs/{value}</id><title>{value}</title><summary>{value}</summary>"
            f"<author><name>{value}</name><arxiv:affiliation>{value}</arxiv:affiliation></author></entry>"
        )
        feed = '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">'
        self.read("feed.atom", f'<?xml version="1.0"?>{feed}{entry}</feed>', "atom")


def _mention(text: str) -> None:
    record = {
        "name": text[:MAX_NAME_CHARS],
        "title": text[:MAX_SHORT_TEXT_CHARS],
        "abstract": text,
        "year": text,
        "email": text[:MAX_SHORT_TEXT_CHARS],
        "coauthors": [text[:MAX_SHORT_TEXT_CHARS]],
        "affiliations": list(text[:MAX_SHORT_TEXT_CHARS]),
    }
    with contextlib.suppress(InvalidMentionError):
        mention_from_record(record, "x", default_id="x")


def _page_token(text: str) -> None:
    for token in (text, base64.urlsafe_b64encode(text.encode()).decode()):
        with contextlib.suppress(InvalidRequest):
            page_after(token, "identity")


def functions(files: _Files) -> dict[str, Callable[[str], object]]:
    return {
        "emails.addresses": lambda text: list(addresses(text)),
        "emails.author_email": lambda text: author_email(text, [text[:MAX_SHORT_TEXT_CHARS]] * 5, "smith"),
        "corpus.normalise_orcid": normalise_orcid,
        "mention.mention_from_record": _mention,
        "delimited.split_authors": split_authors,
        "common.split_list": split_list,
        "bibtex.split_names": split_names,
        "coauthors.group_key": group_key,
        "text.analyze": analyze,
        "checks.page_after": _page_token,
        "read bibtex": files.bibtex,
        "read csv (works)": files.csv_work,
        "read csv (mentions)": files.csv_mention,
        "read works jsonl": files.works_jsonl,
        "read csl-json": files.csl,
        "read atom": files.atom,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--inputs", type=int, default=100)
    # A works row of 20,000 characters can name 10,000 authors, whose mentions hold 10,000 x 9,999
    # coauthor names between them: about 1.7 s here, the cost of that output, not of a pattern.
    parser.add_argument("--limit", type=float, default=2.0, help="Seconds one call may take.")
    parser.add_argument("--only", help="Only the functions whose name contains this.")
    parser.add_argument("--show", type=int, default=3, help="Slowest calls printed per function.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    random_units = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 5))) for _ in range(args.inputs)]
    shapes = [shape if isinstance(shape, tuple) else ("", shape, "") for shape in (*KNOWN, *random_units)]
    slowest = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        chosen = {k: f for k, f in functions(_Files(Path(scratch))).items() if not args.only or args.only in k}
        for name, function in chosen.items():
            timings = []
            for head, unit, tail in shapes:
                for length in LENGTHS:
                    text = head + unit * ((length - len(head) - len(tail)) // len(unit)) + tail
                    start = time.perf_counter()
                    function(text)
                    shown = f"{unit!r} repeated" if not head + tail else f"{head!r} + {unit!r} repeated + {tail!r}"
                    timings.append((time.perf_counter() - start, len(text), shown))
            timings.sort(reverse=True)
            slowest = max(slowest, timings[0][0])
            print(f"{name}: {len(timings)} calls; slowest:")
            for seconds, length, shown in timings[: args.show]:
                print(f"  {seconds:8.3f} s  {length:6d} chars  {shown}")
    return 1 if slowest > args.limit else 0


if __name__ == "__main__":
    sys.exit(main())
