"""`disambig cluster` and `disambig resolve` over listings, as a user runs them: every input
format, malformed entries, --only, the summary, resuming after a kill, and --target."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from sqlalchemy import exists, func, inspect, select

from disambig.batch.resumable import CHUNK_MENTIONS
from disambig.cli import main
from disambig.registry import Registry
from disambig.registry.schema import changes, identities, mentions

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ROOT / "tests" / "data" / "formats"
EXAMPLE = ROOT / "examples" / "haziza.jsonl"
COLUMNS = ["mention_id", "work_id", "name", "identity_id", "confidence"]
# One OpenMP thread in the commands run as processes, as the suite has in-process (conftest):
# on 2 shared cores, more make tiny predictions many times slower.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str


def disambig(*args: str | Path, input: str | None = None) -> Run:
    result = CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def read_output(path: Path) -> list[dict[str, Any]]:
    """The lines of a JSONL output, or the rows of a CSV output (header checked)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        reader = csv.reader(io.StringIO(text))
        assert next(reader) == COLUMNS
        return [dict(zip(COLUMNS, row, strict=True)) for row in reader]
    return [json.loads(line) for line in text.splitlines()]


def mentions_of(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["mention_id"], r["work_id"], r["name"]) for r in rows]


def partition(rows: list[dict[str, Any]]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        groups[r["identity_id"]].add(r["mention_id"])
    return {frozenset(g) for g in groups.values()}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class RegistryState:
    identities: int
    active_without_mentions: int
    mentions: int
    distinct_mentions: int
    changes: int
    assignment: dict[str, str]


def registry_state(url: str) -> RegistryState:
    """What a registry holds (all zero where a run was killed before creating its tables)."""
    registry = Registry(url)
    try:
        if not inspect(registry.engine).has_table("mentions"):
            return RegistryState(0, 0, 0, 0, 0, {})
        with registry.engine.connect() as conn:

            def count(query: Any) -> int:
                return int(conn.execute(query).scalar_one())

            orphan = (identities.c.status == "active") & ~exists().where(
                mentions.c.identity_id == identities.c.identity_id
            )
            return RegistryState(
                identities=count(select(func.count()).select_from(identities)),
                active_without_mentions=count(select(func.count()).select_from(identities).where(orphan)),
                mentions=count(select(func.count()).select_from(mentions)),
                distinct_mentions=count(select(func.count(mentions.c.mention_id.distinct()))),
                changes=count(select(func.count()).select_from(changes)),
                assignment={r.mention_id: r.identity_id for r in conn.execute(select(mentions))},
            )
    finally:
        registry.close()


def empty_registry(path: Path) -> str:
    """A migrated registry with nothing in it, as a user's existing one."""
    url = sqlite_url(path)
    registry = Registry(url)
    registry.migrate()
    registry.close()
    return url


# --- every format ---------------------------------------------------------------------------

DINOV2 = "oquab2023dinov2"
ZOTERO = "http://zotero.org/users/1/items/ABCD1234"
EXPECTED: dict[str, list[tuple[str, str, str]]] = {
    "mentions.csv": [("m1", "", "Daniel Haziza"), ("m2", "", "Müller, Jürgen")],
    "works.jsonl": [
        ("W1#1", "W1", "Daniel Haziza"),
        ("W1#2", "W1", "Maxime Oquab"),
        ("own-id", "W1", "Jan Subjak"),
        ("works:2#1", "works:2", "Zoé Ångström"),
    ],
    "refs.bib": [
        (f"{DINOV2}#1", DINOV2, "Oquab, Maxime"),
        (f"{DINOV2}#2", DINOV2, "Darcet, Timothée"),
        (f"{DINOV2}#3", DINOV2, "Moutakanni, Théo"),
        (f"{DINOV2}#4", DINOV2, "Haziza, Daniel"),
        ("mueller2019#1", "mueller2019", "Müller, Jürgen"),
        ("mueller2019#2", "mueller2019", "ßtrauss, Anna"),
        ("mueller2019#3", "mueller2019", "Barnes and Noble Research"),
    ],
    "arxiv.atom": [
        ("2304.07193v2#1", "2304.07193v2", "Maxime Oquab"),
        ("2304.07193v2#2", "2304.07193v2", "Timothée Darcet"),
        ("2304.07193v2#3", "2304.07193v2", "Daniel Haziza"),
        ("hep-th/9901001v1#1", "hep-th/9901001v1", "Jürgen Müller"),
    ],
    # The second item is an edited volume without authors: a problem, hence --on-error skip.
    "zotero.json": [
        (f"{ZOTERO}#1", ZOTERO, "García-Márquez, José"),
        (f"{ZOTERO}#2", ZOTERO, "van der Berg, Jan"),
        (f"{ZOTERO}#3", ZOTERO, "World Health Organization"),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_format_through_cluster_and_resolve(tmp_path: Path, name: str) -> None:
    listing = FORMATS / name
    skip = ["--on-error", "skip"] if name == "zotero.json" else []
    clustered, resolved = tmp_path / "clustered.jsonl", tmp_path / "resolved.csv"

    run = disambig("cluster", listing, "-o", clustered, "--jobs", "1", "-q", *skip)
    assert run.code == 0, run.stderr
    run = disambig(
        "resolve", listing, "-o", resolved, "--db", sqlite_url(tmp_path / "r.db"), "--output-format", "csv", "-q", *skip
    )
    assert run.code == 0, run.stderr

    by_cluster, by_resolve = read_output(clustered), read_output(resolved)
    # One line per kept mention, in input order, with the documented fields.
    assert mentions_of(by_cluster) == EXPECTED[name]
    assert mentions_of(by_resolve) == EXPECTED[name]
    for row in by_cluster:
        assert list(row) == COLUMNS
        assert row["identity_id"].startswith("id-") and 0.0 <= row["confidence"] <= 1.0
    for row in by_resolve:
        assert row["identity_id"].startswith("id-") and 0.0 <= float(row["confidence"]) <= 1.0
    assert partition(by_cluster) == partition(by_resolve)
    assert not (tmp_path / "resolved.csv.partial").exists()


def test_example_gives_the_same_identities_by_cluster_and_by_resolve(tmp_path: Path) -> None:
    # Identity ids derive from the creating mention in both: a fresh registry gives cluster's ids.
    assert disambig("cluster", EXAMPLE, "-o", tmp_path / "c.jsonl", "--jobs", "1", "-q").code == 0
    run = disambig("resolve", EXAMPLE, "-o", tmp_path / "r.jsonl", "--db", sqlite_url(tmp_path / "r.db"), "-q")
    assert run.code == 0, run.stderr
    clustered, resolved = read_output(tmp_path / "c.jsonl"), read_output(tmp_path / "r.jsonl")
    assert [r["identity_id"] for r in resolved] == [r["identity_id"] for r in clustered]
    assert len(partition(resolved)) == 2


@pytest.mark.parametrize("name", ["refs.bib", "works.jsonl"])
def test_gzip_listing_reads_like_the_plain_one(tmp_path: Path, name: str) -> None:
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress((FORMATS / name).read_bytes()))
    run = disambig("cluster", packed, "-o", tmp_path / "c.jsonl", "--jobs", "1", "-q")
    assert run.code == 0, run.stderr
    assert mentions_of(read_output(tmp_path / "c.jsonl")) == EXPECTED[name]
    run = disambig("resolve", packed, "-o", tmp_path / "r.jsonl", "--db", sqlite_url(tmp_path / "r.db"), "-q")
    assert run.code == 0, run.stderr
    assert mentions_of(read_output(tmp_path / "r.jsonl")) == EXPECTED[name]


def test_resolve_reads_a_listing_on_stdin(tmp_path: Path) -> None:
    # The default --on-error fail checks the whole listing before storing anything; stdin is
    # read once for that.
    out = tmp_path / "r.jsonl"
    run = disambig("resolve", "-", "-o", out, "--db", sqlite_url(tmp_path / "r.db"), "-q", input=EXAMPLE.read_text())
    assert run.code == 0, run.stderr
    assert [r["mention_id"] for r in read_output(out)] == [f"haziza-{i}" for i in range(6)]


@pytest.mark.parametrize(
    "leftover",
    [
        "jsonl lines",  # the interrupted run wrote JSONL; this one is asked for CSV
        "another listing",
        "garbage",
    ],
)
def test_resolve_starts_over_from_a_partial_output_it_cannot_use(tmp_path: Path, leftover: str) -> None:
    reference = tmp_path / "reference.csv"
    args = ["--output-format", "csv", "-q"]
    assert disambig("resolve", EXAMPLE, "-o", reference, "--db", sqlite_url(tmp_path / "ref.db"), *args).code == 0
    out = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"
    if leftover == "jsonl lines":
        assert disambig("resolve", EXAMPLE, "-o", tmp_path / "j.jsonl", "--db", sqlite_url(tmp_path / "j.db")).code == 0
        partial.write_bytes((tmp_path / "j.jsonl").read_bytes())
    elif leftover == "another listing":
        assert disambig("resolve", FORMATS / "refs.bib", "-o", out, "--db", sqlite_url(tmp_path / "o.db")).code == 0
        out.rename(partial)
    else:
        partial.write_bytes(b"\x00\xff not, a, csv\n\n\x1f\x8b")

    run = disambig("resolve", EXAMPLE, "-o", out, "--db", sqlite_url(tmp_path / "r.db"), *args)

    assert run.code == 0, run.stderr
    assert out.read_bytes() == reference.read_bytes()
    assert not partial.exists()


def test_resolve_wants_an_output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = disambig("resolve", EXAMPLE, "-o", "-", "--db", sqlite_url(tmp_path / "r.db"))
    assert run.code == 2
    assert "-o needs an output file" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (".", "is a directory"),
        ("", "is empty"),
        ("haziza.jsonl/out.jsonl", "is not a directory"),
        ("new-folder/", "names a directory"),
        ("x" * 256, "File name too long"),
    ],
    ids=["a-directory", "empty", "under-a-file", "a-folder-to-be", "a-name-too-long"],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "haziza.jsonl").write_bytes(EXAMPLE.read_bytes())
    run = disambig("cluster", "haziza.jsonl", "-o", output)
    assert run.code == 2 and message in run.stderr
    assert "Traceback" not in run.stderr and "identities from" not in run.stderr  # refused before clustering
    assert sorted(p.name for p in tmp_path.iterdir()) == ["haziza.jsonl"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full, a device whose writes fail with ENOSPC")
def test_an_output_whose_writes_fail_is_a_one_line_error() -> None:
    run = disambig("cluster", EXAMPLE, "-o", "/dev/full")
    assert run.code == 1
    assert "cannot write /dev/full: No space left on device" in run.stderr


def test_an_output_file_gets_the_mode_of_any_new_file_and_a_replaced_one_keeps_its_own(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    private = tmp_path / "private.jsonl"
    private.write_text("old\n")
    private.chmod(0o600)
    try:
        new = disambig("cluster", EXAMPLE, "-o", tmp_path / "out" / "identities.jsonl")
        replaced = disambig("cluster", EXAMPLE, "-o", private)
    finally:
        os.umask(umask)
    assert new.code == replaced.code == 0, new.stderr + replaced.stderr
    assert (tmp_path / "out" / "identities.jsonl").stat().st_mode & 0o777 == 0o644
    assert private.stat().st_mode & 0o777 == 0o600 and private.read_text() != "old\n"


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs /dev/null")
def test_a_device_output_is_written_in_place(tmp_path: Path) -> None:
    run = disambig("cluster", EXAMPLE, "-o", "/dev/null")
    assert run.code == 0, run.stderr


def test_an_output_through_a_symbolic_link_writes_where_it_points(tmp_path: Path) -> None:
    """Renamed over, the link itself was replaced by a file (as root, /dev/stdout too)."""
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text("old\n")
    link.symlink_to(real)
    run = disambig("cluster", EXAMPLE, "-o", link)
    assert run.code == 0, run.stderr
    assert link.is_symlink() and len(read_output(real)) == 6


def test_a_failed_output_through_a_symbolic_link_leaves_the_file_it_points_to(tmp_path: Path) -> None:
    from disambig.cli.app import atomic_output

    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text("precious\n")
    link.symlink_to(real)
    with pytest.raises(RuntimeError), atomic_output(str(link)) as handle:
        handle.write(b"partial\n")
        raise RuntimeError("the run fails halfway")
    assert link.is_symlink() and real.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.jsonl", "real.jsonl"]


@pytest.mark.skipif(not Path("/dev/stdout").exists(), reason="needs /dev/stdout")
def test_an_output_to_dev_stdout_appends_where_the_shell_points_it(tmp_path: Path) -> None:
    """`>> log` keeps the log's lines: /dev/stdout is written to, not truncated or renamed over."""
    log = tmp_path / "log"
    log.write_text("line 1\n")
    command = f"{sys.executable} -m disambig.cli cluster {EXAMPLE} -o /dev/stdout -q >> {log}"
    subprocess.run(command, shell=True, check=True)
    lines = log.read_text().splitlines()
    assert lines[0] == "line 1" and len(lines) == 7


def test_an_output_name_as_long_as_a_name_can_be_is_written(tmp_path: Path) -> None:
    out = tmp_path / ("y" * 250)  # its temporary name beside it must not be longer
    run = disambig("cluster", EXAMPLE, "-o", out)
    assert run.code == 0, run.stderr
    assert len(out.read_text().splitlines()) == 6


# --- malformed entries ----------------------------------------------------------------------

BAD_BIBTEX = """\
@article{good1,
  author = {Haziza, Daniel and Oquab, Maxime},
  title = {Good},
  year = {2020},
}

@article{noauthor,
  title = {No author here},
  year = {2021},
}

@article{badyear,
  author = {Haziza, David},
  title = {Bad year},
  year = {twenty},
}

@article{good2,
  author = {Haziza, D.},
  title = {Good again},
  year = {2022},
}
"""
BAD_JSONL = """\
{"mention_id": "a1", "name": "Daniel Haziza", "year": 2020}
{"mention_id": "a2", "name":
{"mention_id": "a3", "name": "Maxime Oquab", "year": "soon"}
{"mention_id": "a4", "name": "D. Haziza"}
"""
BAD_CSV = """\
mention_id,name,year
c1,Daniel Haziza,2020
c2,,2021
c3,D. Haziza,2022
"""
# name: (content, problems as reported (where, what), mention ids kept, entries read)
MALFORMED: dict[str, tuple[str, list[tuple[str, str]], list[str], int]] = {
    "bad.bib": (
        BAD_BIBTEX,
        [("bad.bib:7 (entry noauthor)", "no authors"), ("bad.bib:12 (entry badyear)", "year")],
        ["good1#1", "good1#2", "good2#1"],
        2,
    ),
    "bad.jsonl": (BAD_JSONL, [("bad.jsonl:2", "not valid JSON"), ("bad.jsonl:3", "year")], ["a1", "a4"], 2),
    "bad.csv": (BAD_CSV, [("bad.csv:3", "name")], ["c1", "c3"], 2),
}


def _command(command: str, listing: Path, out: Path, db_url: str) -> list[str | Path]:
    if command == "cluster":
        return ["cluster", listing, "-o", out, "--jobs", "1"]
    return ["resolve", listing, "-o", out, "--db", db_url]


@pytest.mark.parametrize("command", ["cluster", "resolve"])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_entry_fails_by_default_and_writes_nothing(tmp_path: Path, name: str, command: str) -> None:
    content, problems, _, _ = MALFORMED[name]
    listing = tmp_path / name
    listing.write_text(content)
    out = tmp_path / "out.jsonl"
    db_url = empty_registry(tmp_path / "r.db")

    run = disambig(*_command(command, listing, out, db_url))

    assert run.code == 2
    where, what = problems[0]
    assert f"error: {tmp_path / where}: " in run.stderr and what in run.stderr
    if len(problems) > 1:
        assert "and 1 more problem; --on-error skip goes on without them" in run.stderr
    assert "Traceback" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "r.db"]), "output, partial or temp file left"
    state = registry_state(db_url)
    assert (state.mentions, state.identities, state.changes) == (0, 0, 0)


@pytest.mark.parametrize("command", ["cluster", "resolve"])
@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_entries_skipped_are_reported_and_counted(tmp_path: Path, name: str, command: str) -> None:
    content, problems, kept, entries = MALFORMED[name]
    listing = tmp_path / name
    listing.write_text(content)
    out = tmp_path / "out.jsonl"
    db_url = sqlite_url(tmp_path / "r.db")

    run = disambig(*_command(command, listing, out, db_url), "--on-error", "skip", "-q")

    assert run.code == 0, run.stderr
    assert [r["mention_id"] for r in read_output(out)] == kept
    reported = [line for line in run.stderr.splitlines() if line.startswith("disambig: skipped ")]
    assert len(reported) == len(problems)
    for line, (where, what) in zip(reported, problems, strict=True):
        assert line.startswith(f"disambig: skipped {tmp_path / where}: ") and what in line
    counts = f"{entries} entries read, {len(kept)} mentions kept, {len(problems)} malformed entries skipped"
    assert counts in run.stderr
    if command == "resolve":
        state = registry_state(db_url)
        assert sorted(state.assignment) == sorted(kept)


# --- one name: --only -----------------------------------------------------------------------

TEAM = ["Francisco Massa", "Maxime Oquab"]
ONLY_WORKS: list[dict[str, Any]] = [
    {
        "work_id": "W1",
        "title": "xFormers: hackable transformer blocks",
        "year": 2022,
        "authors": ["Daniel Haziza", *TEAM],
    },
    {"work_id": "W2", "title": "DINOv2: robust visual features", "year": 2023, "authors": [*TEAM, "D. Haziza"]},
    {"work_id": "W3", "title": "Fused attention kernels", "year": 2022, "authors": ["Haziza, Daniel", *TEAM]},
    {"work_id": "W4", "title": "Sparse attention on GPUs", "year": 2021, "authors": ["HAZIZA D", "Francisco Massa"]},
    {
        "work_id": "W5",
        "title": "Memory-efficient attention",
        "year": 2023,
        "authors": ["Maxime Oquab", "Dániel HÁZIZA"],
    },
    {"work_id": "W6", "title": "Imputation for surveys", "year": 2015, "authors": ["David Haziza", "Jae Kwang Kim"]},
    # A truncated author list: the name is not there.
    {"work_id": "W7", "title": "Vision transformers need registers", "year": 2023, "authors": TEAM},
]
DANIEL = [("W1#1", "Daniel Haziza"), ("W2#3", "D. Haziza"), ("W3#1", "Haziza, Daniel"), ("W4#1", "HAZIZA D")]
DANIEL += [("W5#2", "Dániel HÁZIZA")]


def write_works(path: Path, works: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(w, ensure_ascii=False) + "\n" for w in works), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["cluster", "resolve"])
def test_only_keeps_compatible_names_and_reports_entries_without_the_name(tmp_path: Path, command: str) -> None:
    listing = write_works(tmp_path / "listing.jsonl", ONLY_WORKS)
    out = tmp_path / "out.jsonl"

    run = disambig(*_command(command, listing, out, sqlite_url(tmp_path / "r.db")), "--only", "Daniel Haziza", "-q")

    assert run.code == 0, run.stderr
    assert [(r["mention_id"], r["name"]) for r in read_output(out)] == DANIEL
    # David is not Daniel, and W7 has no Haziza at all: both reported with where they are.
    reported = [line for line in run.stderr.splitlines() if line.startswith("disambig: skipped ")]
    assert reported == [
        f"disambig: skipped {listing}:6: no author matches 'Daniel Haziza' (David Haziza; Jae Kwang Kim)",
        f"disambig: skipped {listing}:7: no author matches 'Daniel Haziza' (Francisco Massa; Maxime Oquab)",
    ]
    assert "7 entries read, 5 mentions kept, 0 malformed entries skipped, 2 entries without the name" in run.stderr


def test_only_initials_keep_every_given_name_they_fit(tmp_path: Path) -> None:
    listing = write_works(tmp_path / "listing.jsonl", ONLY_WORKS)
    out = tmp_path / "out.jsonl"
    run = disambig("cluster", listing, "-o", out, "--jobs", "1", "--only", "D. Haziza", "-q")
    assert run.code == 0, run.stderr
    # "D." fits Daniel and David alike.
    assert [r["mention_id"] for r in read_output(out)] == [m for m, _ in DANIEL] + ["W6#1"]
    assert f"skipped {listing}:7: no author matches 'D. Haziza'" in run.stderr


def test_only_without_any_match_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    for command in ("cluster", "resolve"):
        args = _command(command, EXAMPLE, out, sqlite_url(tmp_path / "r.db"))
        run = disambig(*args, "--only", "Ada Lovelace", "--output-format", "csv")
        assert run.code == 2
        assert "no mentions to" in run.stderr and "matching 'Ada Lovelace'" in run.stderr
        assert not out.exists() and not (tmp_path / "out.csv.partial").exists()


# --- the summary ----------------------------------------------------------------------------

IDENTITY_LINE = re.compile(r"^  (id-\S+)  (.+)  \((\d+) works?, (.+)\)$")


def parse_summary(text: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The first line, and per identity: name variants, works, years, coauthors."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\d+ identit(?:y|ies) from \d+ mentions?$", line))
    found: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] = {}
    for line in lines[start + 1 :]:
        if match := IDENTITY_LINE.match(line):
            current = {"names": match[2].split("; "), "works": int(match[3]), "years": match[4]}
            found[match[1]] = current
        elif line.startswith("      coauthors: "):
            current["coauthors"] = line.removeprefix("      coauthors: ").split("; ")
    return lines[start], found


@pytest.mark.parametrize("command", ["cluster", "resolve"])
def test_summary_shows_each_identity_with_its_variants_works_years_and_coauthors(tmp_path: Path, command: str) -> None:
    works = [*ONLY_WORKS[:5], {**ONLY_WORKS[4], "work_id": "W5b", "year": 2023}]
    listing = write_works(tmp_path / "listing.jsonl", works)
    out = tmp_path / "out.jsonl"

    run = disambig(*_command(command, listing, out, sqlite_url(tmp_path / "r.db")), "--only", "Daniel Haziza")

    assert run.code == 0, run.stderr
    rows = read_output(out)
    first, summary = parse_summary(run.stderr)
    identities = len(partition(rows))
    assert first == f"{identities} {'identity' if identities == 1 else 'identities'} from {len(rows)} mentions"
    by_work = {w["work_id"]: w for w in works}
    expected: dict[str, dict[str, Any]] = defaultdict(lambda: {"names": Counter(), "works": set(), "years": []})
    coauthors: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        work = by_work[row["work_id"]]
        expected[row["identity_id"]]["names"][row["name"]] += 1
        expected[row["identity_id"]]["works"].add(row["work_id"])
        expected[row["identity_id"]]["years"].append(work["year"])
        coauthors[row["identity_id"]].update(a for a in work["authors"] if a != row["name"])
    assert set(summary) == set(expected)
    for identity_id, shown in summary.items():
        want = expected[identity_id]
        # The commonest variants first, at most 4; "Haziza, Daniel" stays one variant.
        names: Counter[str] = want["names"]
        counts = [names[n] for n in shown["names"]]
        hidden = [c for n, c in names.items() if n not in shown["names"]]
        assert set(shown["names"]) <= set(names) and len(shown["names"]) == min(4, len(names))
        assert counts == sorted(counts, reverse=True) and all(c <= counts[-1] for c in hidden)
        assert shown["works"] == len(want["works"])
        low, high = min(want["years"]), max(want["years"])
        assert shown["years"] == (str(low) if low == high else f"{low}-{high}")
        assert set(shown["coauthors"]) <= coauthors[identity_id] and shown["coauthors"]


@pytest.mark.parametrize("command", ["cluster", "resolve"])
def test_quiet_prints_nothing(tmp_path: Path, command: str) -> None:
    run = disambig(*_command(command, EXAMPLE, tmp_path / "out.jsonl", sqlite_url(tmp_path / "r.db")), "-q")
    assert run.code == 0
    assert run.stderr == ""
    assert len(read_output(tmp_path / "out.jsonl")) == 6


# --- resuming after a kill ------------------------------------------------------------------


def _disambig_command() -> list[str]:
    script = Path(sys.executable).with_name("disambig")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "disambig.cli"]


def slice_of(source: Path, count: int, destination: Path) -> Path:
    """The first `count` mentions of a labelled file, mention ids kept (file order groups names,
    so a chunk holds few name blocks and resolves fast)."""
    with gzip.open(source, "rt", encoding="utf-8") as lines, open(destination, "w", encoding="utf-8") as out:
        for _, line in zip(range(count), lines, strict=False):
            out.write(line)
    return destination


class ResolveProcess:
    """`disambig resolve LISTING -o OUT --db URL` run as a process a test can SIGKILL."""

    def __init__(self, listing: Path, output: Path, db_url: str) -> None:
        self.args = [*_disambig_command(), "resolve", str(listing), "-o", str(output), "--db", db_url]
        self.output = output
        self.partial = output.with_name(output.name + ".partial")
        self.env = {**os.environ, **ONE_THREAD}
        self.stderr = ""

    def checkpointed(self) -> int:
        """Complete lines in the partial output now."""
        try:
            return self.partial.read_bytes().count(b"\n")
        except FileNotFoundError:
            return 0

    def run(self, kill_when: Callable[[float], bool] | None = None, timeout: float = 300.0) -> int | None:
        """Run once; kill_when(seconds since start) is polled and SIGKILLs the process when true.
        Returns the exit code, or None when the process was killed."""
        log = self.output.with_name(self.output.name + ".stderr")
        with open(log, "wb") as err:
            proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=err, env=self.env)
            start = time.monotonic()
            killed = False
            try:
                while proc.poll() is None:
                    elapsed = time.monotonic() - start
                    assert elapsed < timeout, f"disambig resolve still running after {timeout} s"
                    if kill_when is not None and kill_when(elapsed):
                        proc.kill()  # SIGKILL
                        killed = True
                        break
                    time.sleep(0.01)
            finally:
                proc.kill()
                code = proc.wait()
        self.stderr = log.read_text(encoding="utf-8", errors="replace")
        return None if killed and code < 0 else code


Kill = Callable[["ResolveProcess"], Callable[[float], bool]]


def when_checkpointed(lines: int, then_wait: float = 0.0) -> Kill:
    """Kill once `lines` lines are checkpointed in the partial output, `then_wait` s later."""

    def arm(run: ResolveProcess) -> Callable[[float], bool]:
        reached: list[float] = []

        def now(elapsed: float) -> bool:
            if not reached and run.checkpointed() >= lines:
                reached.append(elapsed)
            return bool(reached) and elapsed >= reached[0] + then_wait

        return now

    return arm


def when_partial_opened(then_wait: float) -> Kill:
    """Kill `then_wait` s after the run (re)opens its partial output, right before it resolves
    its first chunk: that chunk's transaction is then in flight."""

    def arm(run: ResolveProcess) -> Callable[[float], bool]:
        before = _stat(run.partial)
        opened: list[float] = []

        def now(elapsed: float) -> bool:
            if not opened and _stat(run.partial) not in (None, before):
                opened.append(elapsed)
            return bool(opened) and elapsed >= opened[0] + then_wait

        return now

    return arm


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def after(seconds: float) -> Kill:
    return lambda run: lambda elapsed: elapsed >= seconds


def resume_after_kills(tmp_path: Path, listing: Path, kills: list[Kill]) -> None:
    """An uninterrupted run into one fresh registry; a run into another, killed at each point of
    `kills` and rerun with the same arguments until it finishes: the same output, the same
    registry, nothing stored twice."""
    reference = ResolveProcess(listing, tmp_path / "reference.jsonl", sqlite_url(tmp_path / "reference.db"))
    assert reference.run() == 0, reference.stderr
    expected = reference.output.read_bytes()
    total = expected.count(b"\n")

    killed_url = sqlite_url(tmp_path / "killed.db")
    killed = ResolveProcess(listing, tmp_path / "killed.jsonl", killed_url)
    code: int | None = None
    lines = 0
    for number, kill in enumerate(kills, start=1):
        code = killed.run(kill(killed))
        if code == 0:  # finished before the kill point: nothing left to interrupt
            break
        assert code is None, f"kill {number}: exit {code}\n{killed.stderr}"
        # What the killed run wrote is a prefix of the uninterrupted output; the registry holds
        # whole chunks (each one transaction), at least those checkpointed.
        partial = killed.partial.read_bytes() if killed.partial.exists() else b""
        lines = partial.count(b"\n")
        assert expected.startswith(partial[: partial.rfind(b"\n") + 1]), f"kill {number}: partial output differs"
        if (tmp_path / "killed.db").exists():
            stored = registry_state(killed_url)
            assert stored.mentions % CHUNK_MENTIONS == 0 or stored.mentions == total, stored.mentions
            assert stored.mentions >= lines, f"kill {number}: checkpointed lines not in the registry"
            assert stored.distinct_mentions == stored.mentions
    for _ in range(3):  # rerun with the same arguments until it finishes
        if code == 0:
            break
        code = killed.run()
    assert code == 0, killed.stderr
    if lines >= CHUNK_MENTIONS:
        assert "taken over from an interrupted run" in killed.stderr

    assert killed.output.read_bytes() == expected
    assert not killed.partial.exists()
    mine, theirs = registry_state(killed_url), registry_state(sqlite_url(tmp_path / "reference.db"))
    assert mine.mentions == mine.distinct_mentions == theirs.mentions == total
    assert mine.identities == theirs.identities
    assert mine.active_without_mentions == theirs.active_without_mentions == 0
    assert mine.assignment == theirs.assignment
    assert mine.changes == theirs.changes, "a re-resolved chunk was recorded twice"


def test_resolve_killed_after_a_checkpoint_resumes_to_the_same_result(tmp_path: Path, shared_data: Path) -> None:
    listing = slice_of(shared_data / "aminer110.jsonl.gz", CHUNK_MENTIONS + 100, tmp_path / "listing.jsonl")
    resume_after_kills(tmp_path, listing, [when_checkpointed(CHUNK_MENTIONS)])


@pytest.mark.slow
def test_resolve_killed_at_random_points_resumes_to_the_same_result(tmp_path: Path, shared_data: Path) -> None:
    listing = slice_of(shared_data / "aminer110.jsonl.gz", 6 * CHUNK_MENTIONS + 250, tmp_path / "listing.jsonl")
    chance = random.Random(4)
    kills = [
        after(chance.uniform(0.05, 0.8)),  # before the first chunk: imports, model
        when_partial_opened(chance.uniform(0.0, 0.5)),  # the first chunk's transaction in flight
        when_checkpointed(CHUNK_MENTIONS, then_wait=chance.uniform(0.0, 1.5)),  # mid-way
        when_partial_opened(chance.uniform(0.0, 0.3)),  # while taking over the partial output
        when_checkpointed(3 * CHUNK_MENTIONS, then_wait=chance.uniform(0.0, 1.5)),
        after(chance.uniform(1.0, 4.0)),
        when_checkpointed(5 * CHUNK_MENTIONS, then_wait=chance.uniform(0.0, 0.5)),
    ]
    resume_after_kills(tmp_path, listing, kills)


# --- through a server -----------------------------------------------------------------------


@contextmanager
def serving(db: Path) -> Iterator[str]:
    """`disambig serve` on a free loopback port over a fresh SQLite registry; its HOST:PORT."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = f"127.0.0.1:{port}"
    args = [*_disambig_command(), "serve", "--port", str(port), "--db", sqlite_url(db), "--log-level", "warning"]
    log = db.with_name("serve.log")
    with open(log, "wb") as err:
        server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **ONE_THREAD})
    try:
        with grpc.insecure_channel(target) as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=60)
            except grpc.FutureTimeoutError:
                pytest.fail(f"disambig serve did not start:\n{log.read_text()}")
        yield target
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def served_listing(request: pytest.FixtureRequest, tmp_path: Path, which: str) -> Path:
    if which == "works":
        return write_works(tmp_path / "listing.jsonl", ONLY_WORKS)
    shared_data: Path = request.getfixturevalue("shared_data")
    # Two chunks: the stream sends the second before the first is answered.
    return slice_of(shared_data / "aminer110.jsonl.gz", CHUNK_MENTIONS + 150, tmp_path / "listing.jsonl")


@pytest.mark.parametrize("through", ["db", "target"])
def test_listing_cut_off_after_a_chunk_exits_2_keeping_the_checkpoint(
    tmp_path: Path, shared_data: Path, through: str
) -> None:
    # A truncated download: no single entry is at fault, so even --on-error skip stops, naming
    # the line; the chunk resolved before stays checkpointed for the rerun.
    whole = gzip.compress(
        slice_of(shared_data / "aminer110.jsonl.gz", 2 * CHUNK_MENTIONS, tmp_path / "w.jsonl").read_bytes()
    )
    listing = tmp_path / "listing.jsonl.gz"
    listing.write_bytes(whole[: len(whole) * 3 // 4])
    out = tmp_path / "out.jsonl"
    args: list[str | Path] = ["resolve", listing, "-o", out, "--on-error", "skip", "-q"]
    if through == "db":
        run = disambig(*args, "--db", sqlite_url(tmp_path / "r.db"))
    else:
        with serving(tmp_path / "served.db") as target:
            run = disambig(*args, "--target", target)
    assert run.code == 2
    assert re.fullmatch(
        rf"disambig: error: {re.escape(str(listing))}:\d+: truncated or corrupt gzip \(.*\)\n", run.stderr
    )
    assert not out.exists()
    assert (tmp_path / "out.jsonl.partial").read_bytes().count(b"\n") == CHUNK_MENTIONS


@pytest.mark.parametrize("which", ["works", pytest.param("two chunks", marks=pytest.mark.slow)])
def test_resolve_through_a_server_gives_the_output_of_a_local_registry(
    request: pytest.FixtureRequest, tmp_path: Path, which: str
) -> None:
    listing = served_listing(request, tmp_path, which)
    with serving(tmp_path / "served.db") as target:
        remote = disambig("resolve", listing, "-o", tmp_path / "remote.jsonl", "--target", target, "-q")
    assert remote.code == 0, remote.stderr
    local = disambig("resolve", listing, "-o", tmp_path / "local.jsonl", "--db", sqlite_url(tmp_path / "l.db"), "-q")
    assert local.code == 0, local.stderr
    assert (tmp_path / "remote.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    served, embedded = registry_state(sqlite_url(tmp_path / "served.db")), registry_state(sqlite_url(tmp_path / "l.db"))
    assert served.assignment == embedded.assignment
    assert served.identities == embedded.identities


def dead_target() -> str:
    """HOST:PORT where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.parametrize("output_format", ["jsonl", "csv"])
def test_a_server_that_cannot_be_reached_is_one_line_and_leaves_no_file(tmp_path: Path, output_format: str) -> None:
    target = dead_target()
    out = tmp_path / f"out.{output_format}"
    run = disambig("resolve", EXAMPLE, "-o", out, "--output-format", output_format, "--target", target)
    assert run.code == 1
    assert re.fullmatch(rf"disambig: error: {re.escape(target)}: UNAVAILABLE: [^\n]+\n", run.stderr), run.stderr
    # Nothing was resolved: no output, and no OUTPUT.partial (a CSV header at most) to resume from.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_server_that_cannot_be_reached_keeps_the_checkpoint_of_an_earlier_run(tmp_path: Path) -> None:
    listing = tmp_path / "listing.jsonl"
    listing.write_text(
        "".join(json.dumps({"mention_id": f"m{k}", "name": f"Ann Person{k}"}) + "\n" for k in range(CHUNK_MENTIONS + 5))
    )
    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    # An interrupted run answered the first chunk: its lines are the checkpoint.
    checkpoint = "".join(
        json.dumps(
            {"mention_id": f"m{k}", "work_id": "", "name": f"Ann Person{k}", "identity_id": f"id{k}", "confidence": 1.0}
        )
        + "\n"
        for k in range(CHUNK_MENTIONS)
    ).encode()
    partial.write_bytes(checkpoint)
    run = disambig("resolve", listing, "-o", out, "--target", dead_target())
    assert run.code == 1 and "UNAVAILABLE" in run.stderr
    assert not out.exists()
    kept = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [(r["mention_id"], r["identity_id"]) for r in kept] == [(f"m{k}", f"id{k}") for k in range(CHUNK_MENTIONS)]


def test_connection_options_go_with_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.jsonl"
    refused = disambig("resolve", EXAMPLE, "-o", out, "--db", sqlite_url(tmp_path / "r.db"), "--token", "t0ken")
    assert refused.code == 2 and "--token goes with --target" in refused.stderr
    assert not out.exists() and not (tmp_path / "r.db").exists()
    # A variable set for the client commands does not stop a run against a registry.
    monkeypatch.setenv("DISAMBIG_TOKEN", "t0ken")
    local = disambig("resolve", EXAMPLE, "-o", out, "--db", sqlite_url(tmp_path / "r.db"), "-q")
    assert local.code == 0, local.stderr
    assert len(read_output(out)) == 6
