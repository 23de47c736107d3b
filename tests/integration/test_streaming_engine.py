"""The streaming engine gives the one-table engine's identities: same model, ids and confidences.

StreamingEngine is what `disambig cluster` runs on a listing too large for one table in memory;
the CLI tests lower that limit so a small file takes the streaming path.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from disambig.batch.summary import Summary, summarise
from disambig.cli import batch as batch_commands
from disambig.cli import main
from disambig.engine import Assignment, Engine
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.readers import read_mentions
from disambig.shards import read_shard, write_shards
from disambig.streaming import StreamingEngine

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "haziza.jsonl"


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


def streamed(engine: StreamingEngine, mentions: list[Mention]) -> list[tuple[Mention, Assignment]]:
    counted: list[int] = []
    with engine.cluster(iter(mentions), after_reading=counted.append) as clustered:  # a stream, read once
        got = list(clustered)
    assert counted == [len(mentions)]
    return got


def assert_same(expected: list[Assignment], mentions: list[Mention], got: list[tuple[Mention, Assignment]]) -> None:
    assert [a for _, a in got] == expected  # input order, ids and confidences to the last digit
    assert [(m.mention_id, m.name, m.work_id) for m, _ in got] == [(m.mention_id, m.name, m.work_id) for m in mentions]


def test_same_identities_as_one_table_on_a_slice_of_shared_data(shared_data: Path, model: PairwiseModel) -> None:
    # Every 4th mention keeps all 110 names of aminer110, most of them "Ajay Gupta" word-order
    # ambiguous (the corpus votes), at a quarter of the work.
    mentions = list(read_mentions(shared_data / "aminer110.jsonl.gz"))[::4]
    expected = Engine(model, jobs=1).cluster(mentions)
    assert_same(expected, mentions, streamed(StreamingEngine(model, jobs=2, shards=7), mentions))
    assert len({a.identity_id for a in expected}) > 110  # not trivially one identity per name


def test_same_identities_with_split_blocks(shared_data: Path, model: PairwiseModel) -> None:
    # Blocks over 40 mentions are split by first name and size, as the one-table engine does.
    mentions = list(read_mentions(shared_data / "qian_dblp_dev.jsonl.gz"))[::5]
    expected = Engine(model, jobs=1, max_block_size=40).cluster(mentions)
    engine = StreamingEngine(model, jobs=1, shards=3, max_block_size=40)
    assert_same(expected, mentions, streamed(engine, mentions))


def test_shards_read_a_two_word_surname_as_the_one_table_engine_does(tmp_path: Path, model: PairwiseModel) -> None:
    names = ["García-Márquez, J.", "Garcia Marquez J", "José García Márquez", "Márquez, Ana", "Ajay Kumar Gupta"]
    mentions = [Mention(f"m{i}", name, title=f"Paper {i}") for i, name in enumerate(names)]
    shards = write_shards(mentions, tmp_path, 3)
    records = {r["mention_id"]: r for p in shards.paths for r in read_shard("jsonl", p.read_bytes())}
    assert records["m2"]["swap"] is True  # García Márquez, José: the block garciamarquez_j
    assert "swap" not in records["m4"] or records["m4"]["swap"] is False
    assert shards.row_shards[2] == shards.row_shards[0]
    expected = Engine(model, jobs=1).cluster(mentions)
    assert_same(expected, mentions, streamed(StreamingEngine(model, jobs=1, shards=3), mentions))


def test_shards_read_a_capitals_surname_last_as_the_one_table_engine_does(tmp_path: Path, model: PairwiseModel) -> None:
    names = ["Wei LI", "Ajay K. GUPTA", "Jean DUPONT", "Li, Wei"]
    mentions = [Mention(f"m{i}", name, title=f"Paper {i}") for i, name in enumerate(names)]
    shards = write_shards(mentions, tmp_path, 3)
    records = {r["mention_id"]: r for p in shards.paths for r in read_shard("jsonl", p.read_bytes())}
    assert records["m0"]["swap"] is True  # Li, Wei: the block li_w
    assert shards.row_shards[0] == shards.row_shards[3]
    expected = Engine(model, jobs=1).cluster(mentions)
    assert_same(expected, mentions, streamed(StreamingEngine(model, jobs=1, shards=3), mentions))


def test_summaries_of_shards_combine_into_the_summary_of_the_whole(model: PairwiseModel) -> None:
    mentions = read_mentions(EXAMPLE)
    results = [(m, a.identity_id) for m, a in zip(mentions, Engine(model).cluster(mentions))]
    whole = Summary()
    for mention, identity in results:
        whole.add(mention, identity)
    first = [r for r in results if r[1] == results[0][1]]
    rest = [r for r in results if r[1] != results[0][1]]
    for limit in (1, 20):
        parts = [summarise(first).top(limit), summarise(rest).top(limit)]
        assert Summary.combine(parts).render(limit) == whole.render(limit)
    with pytest.raises(ValueError, match="share an identity"):
        Summary.combine([summarise(results), summarise(first)])


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("output_format", ["jsonl", "csv"])
def test_cli_streams_a_large_listing_and_writes_what_one_table_writes(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output_format: str
) -> None:
    listing = str(shared_data / "citeseerx_kim.jsonl.gz")
    code, expected, expected_summary = run("cluster", listing, "--output-format", output_format, "--jobs", "2")
    assert code == 0
    monkeypatch.setattr(batch_commands, "ONE_TABLE_MENTIONS", 100)  # 5,018 mentions: streamed
    code, got, summary = run("cluster", listing, "--output-format", output_format, "--jobs", "2")
    assert code == 0, summary
    assert got == expected
    assert summary == expected_summary
    assert "identities from 5018 mentions" in summary


def test_cli_streams_stdin_and_stops_before_clustering_on_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    code, expected, _ = run("cluster", "-", "-q", "--jobs", "1", input=EXAMPLE.read_text())
    monkeypatch.setattr(batch_commands, "ONE_TABLE_MENTIONS", 2)
    code, got, err = run("cluster", "-", "-q", "--jobs", "1", input=EXAMPLE.read_text())
    assert code == 0, err
    assert got == expected
    bad = EXAMPLE.read_text() + '{"mention_id": "x", "name": 3}\n'
    code, got, err = run("cluster", "-", "--jobs", "1", input=bad)
    assert code == 2
    assert got == ""
    assert "<stdin>:7" in err
