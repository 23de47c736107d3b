"""Broken and hostile input files, through `disambig cluster` and the reader layer.

Hand-written cases (invalid UTF-8, truncated gzip, XML entity bombs and external entities,
BibTeX with unbalanced or runaway braces): `disambig cluster` exits 2 with one line naming the
file (and the line, where the format has lines), no traceback, and writes no output; `disambig
resolve` stores nothing. Property-based: every reader, fed mutated valid files and arbitrary JSON
records, yields entries and problems or raises InputFileError, and nothing else.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_support import HYPOTHESIS, REPO, count_figure, listing

from disambig.cli import main
from disambig.errors import InputFileError
from disambig.readers import Entry, Problem, iter_entries

SAMPLES = REPO / "tests" / "data" / "formats"
GOOD_JSONL = b"".join(orjson.dumps(r) + b"\n" for r in listing(40, seed=3))
GOOD_BIB = (
    b"@article{k%d,\n  author = {Ada Lovelace and Charles Babbage},\n  title = {Notes %d},\n  year = {1843}\n}\n\n"
)
ATOM_HEAD = b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
ATOM_ENTRY = (
    b"<entry><id>http://arxiv.org/abs/%d</id><title>T</title><published>2020-01-01</published>"
    b"<author><name>Ada Lovelace</name></author></entry>\n"
)


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def truncated_gz(data: bytes) -> bytes:
    compressed = gzip.compress(data * 50)
    return compressed[: len(compressed) // 2]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol4;</title>
<author><name>Ada Lovelace</name></author></entry></feed>
"""
QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>'
    + b"&a;" * 1000
    + b"</title></entry></feed>\n"
)
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&xxe;</title>'
    b"<author><name>Ada Lovelace</name></author></entry></feed>\n"
)
BIB_UNCLOSED = (
    (GOOD_BIB % (0, 0))
    + b"@article{k1,\n  author = {Ada Lovelace},\n  title = {Notes {on the engine}\n}\n\n"
    + (GOOD_BIB % (2, 2))
)
BIB_EXTRA_CLOSE = b"@article{k1,\n  author = {Ada Lovelace}}},\n  title = {Notes}\n}\n"
BIB_DEEP = b"@article{k1,\n  author = {Ada Lovelace},\n  title = " + b"{" * 5000 + b"x" + b"}" * 5000 + b"\n}\n"

# (case, file name, content, the line the message must name; None: the file only)
CASES: list[tuple[str, str, bytes, int | None]] = [
    ("jsonl-invalid-utf8", "a.jsonl", GOOD_JSONL + b'{"mention_id": "x", "name": "Ada \xff\xfe Lovelace"}\n', 41),
    ("jsonl-overlong-utf8-nul", "a.jsonl", b'{"mention_id": "x", "name": "Ada\xc0\x80"}\n', 1),
    ("csv-invalid-utf8", "a.csv", b"mention_id,name\nm1,Ada Lovelace\nm2,Ada \xc3\x28 L\n", 3),
    ("bibtex-invalid-utf8", "a.bib", b"@article{k1,\n author={Ada Lovelace},\n title={Notes \xff}\n}\n", 3),
    ("atom-invalid-utf8", "a.atom", ATOM_HEAD + b"<entry><title>\xff</title></entry></feed>", 3),
    ("csl-invalid-utf8", "a.json", b'[{"id":"a","author":[{"family":"L\xff"}]}]', 1),
    ("jsonl-truncated-gzip", "a.jsonl.gz", truncated_gz(GOOD_JSONL), None),
    ("csv-truncated-gzip", "a.csv.gz", truncated_gz(b"mention_id,name\n" + b"m,Ada Lovelace\n" * 40), None),
    ("bibtex-truncated-gzip", "a.bib.gz", truncated_gz(GOOD_BIB % (1, 1)), None),
    ("atom-truncated-gzip", "a.atom.gz", truncated_gz(ATOM_HEAD + ATOM_ENTRY % 1), None),
    ("csl-truncated-gzip", "a.json.gz", truncated_gz(b'[{"id": "a"},'), None),
    ("gzip-magic-only", "a.jsonl.gz", b"\x1f\x8b", None),
    ("atom-billion-laughs", "a.atom", BOMB, 3),
    ("atom-quadratic-blowup", "a.atom", QUADRATIC, 2),
    ("atom-external-entity", "a.atom", XXE, 2),
    ("bibtex-unclosed-brace", "a.bib", BIB_UNCLOSED, 7),
    ("bibtex-extra-closing-braces", "a.bib", BIB_EXTRA_CLOSE, 1),
    ("bibtex-braces-5000-deep", "a.bib", BIB_DEEP, 1),
]


def cluster(path: Path, output: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["cluster", str(path), "-o", str(output), *args])


@pytest.mark.parametrize(("case", "name", "content", "line"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_file_is_refused_with_its_place_and_nothing_is_written(
    tmp_path: Path, case: str, name: str, content: bytes, line: int | None
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    output = tmp_path / "out.jsonl"
    result = cluster(path, output)
    count_figure("hostile.files.cases")
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(f"disambig: error: {path}"), message
    if line is not None:
        assert re.match(rf"disambig: error: {re.escape(str(path))}:{line}\b", message), message
    assert not output.exists() and list(tmp_path.iterdir()) == [path], "no output, not even a partial one"


@pytest.mark.parametrize(
    "case", ["atom-billion-laughs", "bibtex-unclosed-brace", "jsonl-truncated-gzip"], ids=lambda c: f"process-{c}"
)
def test_the_real_command_exits_2_without_a_traceback(tmp_path: Path, case: str) -> None:
    _, name, content, _ = next(c for c in CASES if c[0] == case)
    path = tmp_path / name
    path.write_bytes(content)
    output = tmp_path / "out.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "disambig.cli", "cluster", str(path), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    count_figure("hostile.files.cases")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr
    assert not output.exists() and done.stdout == ""


@pytest.mark.parametrize("case", ["bibtex-unclosed-brace", "jsonl-invalid-utf8"])
def test_resolve_stores_nothing_from_a_broken_file(tmp_path: Path, case: str) -> None:
    _, name, content, _ = next(c for c in CASES if c[0] == case)
    path = tmp_path / name
    path.write_bytes(content)
    db = tmp_path / "r.db"
    result = CliRunner().invoke(
        main, ["resolve", str(path), "-o", str(tmp_path / "out.jsonl"), "--db", f"sqlite:///{db}"]
    )
    count_figure("hostile.files.cases")
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert not db.exists(), "the registry is not even opened before the listing is known to be good"


def test_no_external_dtd_or_entity_is_fetched(tmp_path: Path) -> None:
    """An Atom file naming an external DTD or entity on a local HTTP server: nothing is fetched."""
    import http.server
    import threading

    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "pwned">')

        def log_message(self, *_: Any) -> None:
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    entry = b"<entry><title>t</title><author><name>Ada Lovelace</name></author></entry></feed>\n"
    documents = {
        "dtd": f'<?xml version="1.0"?>\n<!DOCTYPE feed SYSTEM "{url}/evil.dtd">\n'.encode() + ATOM_HEAD[22:] + entry,
        "entity": f'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY e SYSTEM "{url}/e">]>\n'.encode()
        + ATOM_HEAD[22:]
        + entry.replace(b"<title>t", b"<title>&e;"),
    }
    try:
        for kind, document in documents.items():
            path = tmp_path / f"{kind}.atom"
            path.write_bytes(document)
            read_all(path, "atom")
            count_figure("hostile.files.cases")
    finally:
        httpd.shutdown()
    assert fetched == []


# -- property-based: every reader, mutated files -----------------------------------------------
FORMAT_SAMPLES: dict[str, tuple[str, bytes]] = {
    "mentions": ("m.jsonl", GOOD_JSONL),
    "works": ("w.jsonl", (SAMPLES / "works.jsonl").read_bytes()),
    "csl-json": ("z.json", (SAMPLES / "zotero.json").read_bytes()),
    "bibtex": ("r.bib", (SAMPLES / "refs.bib").read_bytes()),
    "atom": ("a.atom", (SAMPLES / "arxiv.atom").read_bytes()),
    "csv": ("m.csv", (SAMPLES / "mentions.csv").read_bytes()),
    "tsv": ("m.tsv", (SAMPLES / "mentions.csv").read_bytes().replace(b",", b"\t")),
}
SNIPPETS = [
    b"\x00",
    b"\xff\xfe",
    b"\xc0\x80",
    b"{",
    b"}",
    b"}}}}",
    b"{{{{{{",
    b'"',
    b"\\",
    b"\n",
    b"\r\n",
    b"<",
    b"]]>",
    b"<!ENTITY x 'y'>",
    b"&x;",
    b"@string{a = b}",
    b"@article{",
    b",,,,",
    b"\t",
    b"%",
    "\u202e\u200b\u0301\U0001f600".encode(),
    b"NaN",
    b"1e999999",
    b"[[[[[[[[[[",
    b"null",
]


@st.composite
def mutated(draw: st.DrawFn, content: bytes) -> bytes:
    """A valid file, damaged: truncated, bytes flipped, hostile snippets inserted, perhaps gzipped."""
    data = bytearray(content)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        position = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "truncate":
            del data[position:]
        elif kind == "flip" and data:
            data[position] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[position:position] = draw(st.sampled_from(SNIPPETS))
        else:
            del data[position : position + draw(st.integers(1, 50))]
    raw = bytes(data)
    wrap = draw(st.sampled_from(["plain", "plain", "gzip", "truncated-gzip"]))
    if wrap == "gzip":
        return gz(raw)
    if wrap == "truncated-gzip":
        compressed = gz(raw)
        return compressed[: draw(st.integers(0, max(0, len(compressed) - 1)))]
    return raw


def read_all(path: Path, fmt: str) -> tuple[int, int]:
    """(entries, problems) of a file; an InputFileError is the only failure allowed."""
    entries = problems = 0
    try:
        for item in iter_entries(path, fmt):
            assert isinstance(item, Entry | Problem)
            entries += isinstance(item, Entry)
            problems += isinstance(item, Problem)
    except InputFileError as exc:
        assert str(path) in str(exc)
    return entries, problems


@pytest.mark.parametrize("fmt", list(FORMAT_SAMPLES))
def test_every_reader_survives_damaged_files(tmp_path: Path, fmt: str) -> None:
    name, content = FORMAT_SAMPLES[fmt]
    path = tmp_path / name

    @settings(HYPOTHESIS, max_examples=60)
    @given(data=mutated(content))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        read_all(path, fmt)
        count_figure("hostile.files.fuzzed")

    run()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["mention_id", "name", "coauthors", "title", "abstract", "venue", "year", "affiliations", "topics", "email"]


@settings(HYPOTHESIS, max_examples=150)
@given(
    records=st.lists(
        st.one_of(JSON_VALUES, st.dictionaries(st.sampled_from([*FIELDS, "authors", "work_id"]), JSON_VALUES)),
        min_size=1,
        max_size=5,
    ),
    fmt=st.sampled_from(["mentions", "works"]),
)
def test_arbitrary_json_records_are_entries_or_problems(
    tmp_path_factory: pytest.TempPathFactory, records: list[Any], fmt: str
) -> None:
    path = tmp_path_factory.mktemp("json") / "r.jsonl"
    # json, not orjson: integers past 64 bits are written too (and read back as problems).
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    count_figure("hostile.files.fuzzed")
    entries, problems = read_all(path, fmt)
    assert entries + problems >= 1 or not records
