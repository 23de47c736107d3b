"""The Dask engine gives the in-process engine's identities: same model, same ids, same confidences.

One LocalCluster of 2 worker processes serves the module; the CLI tests start their own or
connect to it with --scheduler.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from disambig.cli import main
from disambig.engine import Assignment, Engine, name_blocks
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.readers import read_mentions

distributed = pytest.importorskip("distributed", reason="the disambig[dask] extra is not installed")

from disambig.dask_engine import DaskEngine, dask_client, place_shards, read_shard, write_shards  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "haziza.jsonl"


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with dask_client(workers=2) as dask:
        yield dask


def assert_same(expected: list[Assignment], got: list[Assignment]) -> None:
    assert len(got) == len(expected)
    assert [a.mention_id for a in got] == [a.mention_id for a in expected]  # input order
    different = [(e, g) for e, g in zip(expected, got) if e.identity_id != g.identity_id]
    assert not different, f"{len(different)} mentions got another identity, e.g. {different[:3]}"
    assert max(abs(e.confidence - g.confidence) for e, g in zip(expected, got)) <= 1e-6


def test_same_identities_as_in_process_on_a_slice_of_shared_data(
    shared_data: Path, model: PairwiseModel, client: Any
) -> None:
    # Every 4th mention keeps all 110 names of aminer110, most of them "Ajay Gupta" word-order
    # ambiguous, at a quarter of the work.
    mentions = list(read_mentions(shared_data / "aminer110.jsonl.gz"))[::4]
    expected = Engine(model, jobs=1).cluster(mentions)
    got = DaskEngine(client, model).cluster(iter(mentions))  # a stream, read once
    assert_same(expected, got)
    assert len({a.identity_id for a in got}) > 110  # not trivially one identity per name


def test_same_identities_with_split_blocks_and_parquet_shards(
    shared_data: Path, model: PairwiseModel, client: Any, tmp_path: Path
) -> None:
    # Blocks over 40 mentions are split by first name and size, as the in-process engine does.
    mentions = list(read_mentions(shared_data / "qian_dblp_dev.jsonl.gz"))[::5]
    expected = Engine(model, jobs=1, max_block_size=40).cluster(mentions)
    engine = DaskEngine(client, model, max_block_size=40, shards=3, shard_dir=tmp_path, shard_format="parquet")
    assert_same(expected, engine.cluster(mentions))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"shard-0000{i}.parquet" for i in range(3)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["aminer110", "qian_dblp_dev", "citeseerx_kim"])
def test_same_identities_as_in_process_on_whole_shared_files(
    shared_data: Path, model: PairwiseModel, client: Any, name: str
) -> None:
    mentions = list(read_mentions(shared_data / f"{name}.jsonl.gz"))
    expected = Engine(model, jobs=2).cluster(mentions)
    assert_same(expected, DaskEngine(client, model).cluster(mentions))


def test_shards_hold_whole_blocks_and_the_corpus_votes_on_word_order(tmp_path: Path) -> None:
    mentions = [
        Mention("m0", "Wang Wei"),  # ambiguous: surname Wang or Wei?
        Mention("m1", "Wang, Li"),  # the corpus writes Wang as a surname twice...
        Mention("m2", "Q. Wang"),
        Mention("m3", "Wei, Ming"),  # ...and Wei once
        Mention("m4", "W. Wang"),
    ]
    shards = write_shards(mentions, tmp_path, 7)
    assert shards.mentions == 5
    records = {r["mention_id"]: r for p in shards.paths for r in read_shard("jsonl", p.read_bytes())}
    assert sorted(r["row"] for r in records.values()) == [0, 1, 2, 3, 4]
    assert records["m0"]["swap"] is True  # read as Wei Wang, block wang_w
    shard_of = {r["mention_id"]: p for p in shards.paths for r in read_shard("jsonl", p.read_bytes())}
    assert shard_of["m0"] == shard_of["m4"]


def test_coauthors_vote_on_word_order_in_shards_as_in_process(tmp_path: Path) -> None:
    mentions = [
        Mention("m0", "Wang Xiaoming", ("Q. Wang", "Li, Ming")),  # no mention name says which is the surname
        Mention("m1", "Xiaoming Wang", ("Wang, Li",)),
    ]
    shards = write_shards(mentions, tmp_path, 3)
    records = {r["mention_id"]: r for p in shards.paths for r in read_shard("jsonl", p.read_bytes())}
    assert records["m0"]["swap"] is True and records["m1"]["swap"] is False
    assert [b.key for b in name_blocks(mentions)] == ["wang_x"]


def test_shards_are_placed_so_workers_get_similar_work() -> None:
    place = place_shards([50, 10, 0, 30, 20, 40], {"tcp://a": 1, "tcp://b": 1})
    assert 2 not in place  # an empty shard goes nowhere
    load = {w: sum(n for s, n in enumerate([50, 10, 0, 30, 20, 40]) if place.get(s) == [f"tcp://{w}"]) for w in "ab"}
    assert sorted(load.values()) == [70, 80]
    assert place_shards([5, 5], {}) == {}  # no workers yet: Dask decides


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_dask_engine_writes_what_the_process_engine_writes(tmp_path: Path) -> None:
    expected, got = tmp_path / "process.jsonl", tmp_path / "dask.jsonl"
    assert run("cluster", str(EXAMPLE), "-o", str(expected), "--jobs", "1", "-q")[0] == 0
    code, _, err = run("cluster", str(EXAMPLE), "-o", str(got), "--engine", "dask", "--workers", "1")
    assert code == 0, err
    assert got.read_text() == expected.read_text()
    assert "identities from 6 mentions" in err  # the summary


def test_cli_dask_engine_on_a_running_scheduler_reads_stdin(tmp_path: Path, client: Any) -> None:
    code, expected, _ = run("cluster", "-", "--jobs", "1", "-q", input=EXAMPLE.read_text())
    assert code == 0
    address = client.scheduler.address
    shards = tmp_path / "shards"
    code, got, err = run(
        "cluster", "-", "-q", "--engine", "dask", "--scheduler", address, "--shards", str(shards),
        input=EXAMPLE.read_text(),
    )  # fmt: skip
    assert code == 0, err
    assert got == expected
    assert [json.loads(line)["mention_id"] for line in got.splitlines()] == [f"haziza-{i}" for i in range(6)]
    assert any(p.stat().st_size for p in shards.glob("shard-*.jsonl"))


def test_cli_dask_options_need_the_dask_engine() -> None:
    code, _, err = run("cluster", str(EXAMPLE), "--workers", "2")
    assert code == 2
    assert "--engine dask" in err


def test_cli_dask_engine_stops_before_clustering_when_nothing_is_left(client: Any) -> None:
    address = client.scheduler.address
    code, _, err = run("cluster", str(EXAMPLE), "--engine", "dask", "--scheduler", address, "--only", "Ada Lovelace")
    assert code == 2
    assert "no mentions to cluster matching 'Ada Lovelace'" in err
    assert "entries without the name" in err  # what was skipped is reported, not dropped silently
