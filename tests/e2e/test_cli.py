"""The `disambig` command as a user runs it: files in, files out, exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from disambig.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "haziza.jsonl"


def run(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_cluster_writes_one_line_per_mention_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "identities.jsonl"
    code, _, err = run("cluster", str(EXAMPLE), "-o", str(out), "--jobs", "1")
    assert code == 0, err
    rows = read_jsonl(out)
    inputs = read_jsonl(EXAMPLE)
    assert [r["mention_id"] for r in rows] == [m["mention_id"] for m in inputs]
    for row in rows:
        assert set(row) == {"mention_id", "work_id", "name", "identity_id", "confidence"}
        assert 0.0 <= float(row["confidence"]) <= 1.0  # type: ignore[arg-type]


def test_cluster_is_deterministic_across_runs_and_job_counts(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run("cluster", str(EXAMPLE), "-o", str(first), "--jobs", "1")[0] == 0
    assert run("cluster", str(EXAMPLE), "-o", str(second), "--jobs", "2")[0] == 0
    assert first.read_text() == second.read_text()


def test_cluster_reads_gzip_and_stdin(tmp_path: Path) -> None:
    gz = tmp_path / "m.jsonl.gz"
    gz.write_bytes(gzip.compress(EXAMPLE.read_bytes()))
    code, _, _ = run("cluster", str(gz), "-o", str(tmp_path / "gz.jsonl"), "--jobs", "1")
    assert code == 0
    code, stdout, _ = run("cluster", "-", "--jobs", "1", input=EXAMPLE.read_text())
    assert code == 0
    assert [json.loads(line) for line in stdout.splitlines()] == read_jsonl(tmp_path / "gz.jsonl")
    # Gzip on stdin too: told by its magic bytes, as a file is.
    code, stdout, stderr = run("cluster", "-", "--jobs", "1", input=gz.read_bytes())
    assert code == 0, stderr
    assert [json.loads(line) for line in stdout.splitlines()] == read_jsonl(tmp_path / "gz.jsonl")


def test_missing_mention_id_gets_a_generated_one(tmp_path: Path) -> None:
    src = tmp_path / "m.jsonl"
    src.write_text('{"name": "Ada Lovelace"}\n{"name": "A. Lovelace", "mention_id": "x"}\n')
    code, stdout, _ = run("cluster", str(src), "--jobs", "1")
    assert code == 0
    ids = [json.loads(line)["mention_id"] for line in stdout.splitlines()]
    assert ids[1] == "x" and ids[0] and ids[0] != "x"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"name": "A. B"}\n{"name": \n', "m.jsonl:2"),
        ('{"name": "A. B"}\n{"title": "no name"}\n', "name"),
        ('{"name": ["not", "a", "string"]}\n', "name: must be a string"),
        ('{"name": "A. B", "year": "soon"}\n', "year"),
        ('{"name": "A. B", "coauthors": "C. D"}\n', "coauthors"),
        ("", "empty"),
    ],
)
def test_bad_input_exits_2_naming_the_line_and_writes_nothing(tmp_path: Path, content: str, expected: str) -> None:
    src = tmp_path / "m.jsonl"
    src.write_text(content)
    out = tmp_path / "out.jsonl"
    code, _, err = run("cluster", str(src), "-o", str(out), "--jobs", "1")
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.jsonl.*")), "a temporary output was left behind"


def test_missing_input_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run("cluster", str(tmp_path / "nope.jsonl"), "--jobs", "1")
    assert code == 2
    assert "nope.jsonl" in err


def test_evaluate_json_reports_overall_and_blocks() -> None:
    code, stdout, err = run("evaluate", str(EXAMPLE), "--json", "--jobs", "1")
    assert code == 0, err
    report = json.loads(stdout)
    assert report["overall"]["mentions"] == 6
    assert set(report["blocks"]) == {"haziza_d"}
    for key in ("b3_precision", "b3_recall", "b3_f1", "pairwise_precision", "pairwise_recall", "pairwise_f1"):
        assert 0.0 <= report["overall"][key] <= 1.0


def test_evaluate_table_ends_with_overall_row() -> None:
    code, stdout, _ = run("evaluate", str(EXAMPLE), "--initials", "--jobs", "1")
    assert code == 0
    assert stdout.splitlines()[-1].startswith("OVERALL")


def test_a_works_listing_on_stdin_read_as_mentions_names_the_format_to_use() -> None:
    work = '{"work_id": "W1", "title": "T", "authors": ["Smith J", "Jones K"]}\n'
    code, _, stderr = run("cluster", "-", input=work)
    assert code == 2 and "<stdin>:1" in stderr and "--format works" in stderr
    code, stdout, stderr = run("cluster", "-", "--format", "works", "-q", input=work)
    assert code == 0, stderr
    assert [json.loads(line)["name"] for line in stdout.splitlines()] == ["Smith J", "Jones K"]
