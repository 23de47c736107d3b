"""Clustering quality of a model against labelled files, next to two name-only baselines.

For every file and every mode ("as written", and "initials": every name rewritten to initials +
surname) it prints one row per method:

  model  the pairwise model clustered by the engine (wall seconds of Engine.cluster only)
  name   baseline: same normalised name string = same person
  block  baseline: one identity per surname + first-initial block

with B3 and pairwise precision, recall and F1.

    python benchmarks/quality.py                               # default files, shipped model
    python benchmarks/quality.py --model /tmp/m2 --mode as-written ../shared/data/qian_dblp_dev.jsonl.gz
    python benchmarks/quality.py --json > quality.json

Timings are for orientation only; benchmarks/speed.py measures the real command.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from disambig.model import PairwiseModel

REPO_ROOT = Path(__file__).resolve().parent.parent
# Relative to the repo root (the data is shared read-only next to the checkout).
DEFAULT_FILES = ("../shared/data/qian_dblp_dev.jsonl.gz", "../shared/data/inspire_wang.jsonl.gz")
MODES = {"as-written": "as written", "initials": "initials"}
BASELINES = (("name", "same normalised name"), ("block", "one identity per block"))
METRICS = ("b3_precision", "b3_recall", "b3_f1", "pairwise_precision", "pairwise_recall", "pairwise_f1")


def fail(message: str) -> NoReturn:
    """Exit with a one-line message instead of a traceback."""
    print(f"quality.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def load_model_or_fail(path: str | None, fail: Callable[[str], NoReturn]) -> tuple[PairwiseModel, str]:
    """The model in `path` (default: the shipped one) and its directory; `fail` says why not."""
    from disambig.errors import DisambigError
    from disambig.model import default_model_path, load_model

    model_dir = path or str(default_model_path())
    try:
        return load_model(path), model_dir
    except DisambigError as exc:
        fail(f"cannot load model: {exc}")
    except OSError as exc:
        fail(f"cannot load model from {model_dir}: {exc}")


def resolve_files(given: list[str]) -> list[tuple[str, Path]]:
    """(label, path) per input file; defaults are resolved against the repo root, so the script
    works from any directory. Exits with a message if a file is missing."""
    files = [(f, Path(f)) for f in given] if given else [(f, REPO_ROOT / f) for f in DEFAULT_FILES]
    for label, path in files:
        if not path.is_file():
            fail(f"{label}: no such file (labelled data lives in ../shared/data, see its README)")
    return files


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="B3 and pairwise quality of a model and of two name-only baselines on labelled files."
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILES",
        help=f"labelled JSONL(.gz) files with person_id (default: {' '.join(DEFAULT_FILES)})",
    )
    parser.add_argument("--model", metavar="DIR", help="model directory (default: the shipped model)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows instead of a table")
    parser.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (0 = all cores)")
    parser.add_argument(
        "--mode",
        action="append",
        choices=sorted(MODES),
        help="name mode to evaluate; repeatable (default: both)",
    )
    return parser.parse_args(argv)


def evaluate_file(label: str, path: Path, modes: list[str], model: PairwiseModel, jobs: int) -> list[dict[str, Any]]:
    from disambig.engine import Engine
    from disambig.evaluation import Scores, baseline_labels, score
    from disambig.training import LabelledCorpus

    corpus = LabelledCorpus.read(path)
    gold = list(corpus.labels)
    engine = Engine(model, jobs=jobs)
    rows: list[dict[str, Any]] = []
    for mode in modes:
        mode_corpus = corpus.in_initials() if mode == "initials" else corpus
        start = time.perf_counter()
        assignments = engine.cluster(mode_corpus.mentions)
        seconds = time.perf_counter() - start
        results: list[tuple[str, Scores, float | None]] = [
            ("model", score([a.identity_id for a in assignments], gold), seconds)
        ]
        names = [m.name for m in mode_corpus.mentions]
        for kind, _ in BASELINES:
            results.append((f"baseline:{kind}", score(baseline_labels(names, kind), gold), None))
        for method, scores, secs in results:
            row: dict[str, Any] = {"file": label, "mode": MODES[mode], "method": method}
            row.update(scores.as_dict())
            row["seconds"] = None if secs is None else round(secs, 2)
            row["model_version"] = model.version
            row["threshold"] = model.threshold
            row["jobs"] = jobs
            rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]], model: PairwiseModel, model_dir: str, jobs: int) -> None:
    print(f"model: {model.version}  threshold: {model.threshold:.3f}  dir: {model_dir}  jobs: {jobs}")
    print("methods: model | baseline:name = " + BASELINES[0][1] + " | baseline:block = " + BASELINES[1][1])
    header = (
        f"{'file':<24} {'mode':<10} {'method':<15} {'n':>6} "
        f"{'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pw P':>6} {'pw R':>6} {'pw F1':>6} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        name = Path(row["file"]).name.split(".")[0]
        secs = "" if row["seconds"] is None else f"{row['seconds']:.1f}"
        metrics = " ".join(f"{row[m]:6.3f}" for m in METRICS)
        print(f"{name:<24} {row['mode']:<10} {row['method']:<15} {row['mentions']:>6} {metrics} {secs:>7}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = resolve_files(args.files)
    modes = args.mode or list(MODES)
    jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)

    from threadpoolctl import threadpool_limits

    from disambig.errors import DisambigError

    model, model_dir = load_model_or_fail(args.model, fail)

    # With jobs > 1 the engine runs one worker process per core. BLAS/OpenMP threads (e.g. the
    # OpenMP pool of HistGradientBoosting's predict) would then oversubscribe the cores: in the
    # parent, which prepares the blocks and assembles results while the workers run, and in the
    # workers, which inherit the parent's state through fork. One thread per process keeps the
    # timing honest and avoids forking a process with a live OpenMP pool. With jobs == 1 the
    # single process may use every core through those libraries, so nothing is limited.
    limits = threadpool_limits(1) if jobs > 1 else contextlib.nullcontext()
    rows: list[dict[str, Any]] = []
    with limits:
        for label, path in files:
            try:
                rows.extend(evaluate_file(label, path, modes, model, jobs))
            except DisambigError as exc:
                fail(str(exc))

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows, model, model_dir, jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
