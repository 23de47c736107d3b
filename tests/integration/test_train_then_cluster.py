"""Train a model on a slice of real labelled data, save it, load it back, and cluster with it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from disambig.cli import main
from disambig.evaluation import baseline_labels, score
from disambig.model import load_model
from disambig.training import LabelledCorpus, evaluate


def _slice(source: Path, target: Path, names: set[str]) -> int:
    kept = 0
    with gzip.open(source, "rt") as lines, target.open("w") as out:
        for line in lines:
            record = json.loads(line)
            if record["name"] in names:
                out.write(line)
                kept += 1
    return kept


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("train")
    train_file, dev_file = root / "train.jsonl", root / "dev.jsonl"
    assert (
        _slice(
            shared_data / "aminer110.jsonl.gz",
            train_file,
            # Names of 31-76 mentions (857 in all), some one or two people, some 15-25: many
            # blocks for the grouped folds, both kinds of block to learn from, and small blocks'
            # pairs (the biggest blocks of aminer110 would cost minutes of fitting).
            {
                "Juan Carlos Lopez",
                "Robert Schreiber",
                "Alok Gupta",
                "Thomas Zimmermann",
                "Jeffrey Parsons",
                "Daniel Massey",
                "Shu Lin",
                "Michael Smith",
                "Hui Yu",
                "Richard Taylor",
                "Ping Zhou",
                "David Brown",
                "Kai Zhang",
                "Yun Wang",
                "Lu Liu",
                "Ajay Gupta",
                "David C. Wilson",
                "Bin Zhu",
            },
        )
        > 300
    )
    assert _slice(shared_data / "qian_dblp_dev.jsonl.gz", dev_file, {"Jun Sun", "Ping Zhang", "Yan Liu"}) > 100
    model_dir = root / "model"
    result = CliRunner().invoke(
        main,
        ["train", str(train_file), "--dev", str(dev_file), "-o", str(model_dir), "--threads", "1", "--merge-stage"],
    )
    assert result.exit_code == 0, result.output
    return model_dir, dev_file


def test_trained_model_round_trips_with_its_card(trained: tuple[Path, Path]) -> None:
    model_dir, _ = trained
    for name in ("model.json", "classifier.npz", "merger.npz", "text_prior.npz", "MODEL_CARD.md"):
        assert (model_dir / name).is_file(), name
    model = load_model(model_dir)
    assert 0.0 < model.threshold < 1.0
    assert model.merger is not None
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert "train.jsonl" in card and "dev.jsonl" in card and "shared_coauthors" in card


def test_trained_first_stage_beats_the_one_identity_per_block_baseline(trained: tuple[Path, Path]) -> None:
    model_dir, dev_file = trained
    corpus = LabelledCorpus.read(dev_file)
    model = load_model(model_dir)
    model.merger = None  # the pairwise model and its threshold alone
    model_scores = evaluate(model, corpus)
    block_baseline = score(baseline_labels([m.name for m in corpus.mentions], "block"), list(corpus.labels))
    assert model_scores.b3_f1 > block_baseline.b3_f1


def test_cluster_with_the_trained_model(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, dev_file = trained
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["cluster", str(dev_file), "-o", str(out), "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == len(dev_file.read_text().splitlines())
