"""The Dask engine beside the in-process engine: `disambig cluster` on one synthetic corpus.

    python benchmarks/dask_vs_process.py                         # 100k mentions, 2 workers each
    python benchmarks/dask_vs_process.py --size 10000 --repeat 3
    python benchmarks/dask_vs_process.py --scheduler tcp://HOST:PORT   # a running Dask cluster

Each run is a fresh child process, measured with speed.py's run_once (wall time, wait4 peak
RSS, sampled peak tree RSS and PSS), on the corpus of scale.py's cache (generated if missing):

  process   disambig cluster FILE -o OUT --jobs N
  dask      disambig cluster FILE -o OUT --engine dask --workers N      (a LocalCluster it starts)
            disambig cluster FILE -o OUT --engine dask --scheduler URL  (with --scheduler)

The engines run alternately (process, dask, process, dask, ...) so that a load change on the
machine hits both. The wall time includes everything a user waits for: start-up, model loading,
reading, (for dask) starting the LocalCluster and writing the shards, clustering and writing.
`CPU s` is the user + system time of the child and all the descendants it reaped: unlike the
wall time, it hardly moves when other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import scale
import speed
from speed import Run, count_mentions, disambig_command, run_once, summary, tree_memory_sampler

speed.PROG = "dask_vs_process.py"
ENGINES = ("process", "dask")


def commands(workers: int, scheduler: str | None, model: str | None) -> dict[str, list[str]]:
    base = [*disambig_command(), "cluster", "{FILE}", "-o", "{OUT}", "-q"]
    if model is not None:
        base += ["--model", str(Path(model).resolve())]
    dask = [*base, "--engine", "dask"] + (["--scheduler", scheduler] if scheduler else ["--workers", str(workers)])
    return {"process": [*base, "--jobs", str(workers)], "dask": dask}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="mentions/s of the Dask engine beside the in-process engine")
    parser.add_argument("--size", type=int, default=100_000, help="corpus size in mentions (default: 100,000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default: 1)")
    parser.add_argument("--cache", type=Path, default=None, help="scale.py's corpus cache (default: its own)")
    parser.add_argument("--workers", type=int, default=2, help="--jobs of the process engine, --workers of dask (2)")
    parser.add_argument("--scheduler", help="run the dask engine on this scheduler instead of a LocalCluster")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (default: 1)")
    parser.add_argument("--model", metavar="DIR", help="passed to `disambig cluster --model`")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeat < 1 or args.workers < 1:
        parser.error("--size, --repeat and --workers must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.model is not None and not Path(args.model).is_dir():
        speed.fail(f"--model {args.model}: no such directory")
    path = scale.ensure_corpus(args.cache or scale.default_cache_dir(), args.size, args.seed)
    mentions = count_mentions(path)
    argv_of = commands(args.workers, args.scheduler, args.model)
    measure, sampler_name = tree_memory_sampler()
    runs: dict[str, list[Run]] = {engine: [] for engine in ENGINES}
    cpu_seconds: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    with tempfile.TemporaryDirectory(prefix="disambig-dask-vs-process-") as tmp:
        for index in range(1, args.repeat + 1):
            for engine in ENGINES:
                print(f"{engine} run {index} on {path.name} ...", file=sys.stderr, flush=True)
                before = os.times()
                run = run_once(argv_of[engine], engine, path, mentions, index, Path(tmp), measure)
                after = os.times()
                # The child and every descendant it reaped (pool workers; the LocalCluster's
                # nannies, which reap their workers): CPU does not count time lost to other load.
                cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
                print(f"  {run.wall_seconds:.1f} s, {cpu:.1f} CPU s", file=sys.stderr, flush=True)
                runs[engine].append(run)
                cpu_seconds[engine].append(round(cpu, 1))
    medians = {engine: summary(r) for engine, r in runs.items()}
    ratio = medians["dask"].mentions_per_second / medians["process"].mentions_per_second
    if args.json:
        report: dict[str, Any] = {
            "file": str(path),
            "cores": os.cpu_count(),
            "tree_sampler": sampler_name,
            "commands": argv_of,
            "runs": {
                engine: [{**asdict(r), "cpu_seconds": c} for r, c in zip(engine_runs, cpu_seconds[engine])]
                for engine, engine_runs in runs.items()
            },
            "median": {engine: asdict(m) for engine, m in medians.items()},
            "dask_over_process": round(ratio, 3),
        }
        print(json.dumps(report, indent=2))
        return 0
    print(f"corpus: {path} ({mentions:,} mentions)")
    print(f"cores: {os.cpu_count()}  tree sampling: {sampler_name} every {speed.SAMPLE_SECONDS} s  memory in MiB")
    for engine in ENGINES:
        print(f"{engine}: {' '.join(argv_of[engine])}")
    header = (
        f"{'engine':<8} {'run':>6} {'wall s':>8} {'mentions/s':>10} {'CPU s':>7} {'peak RSS (wait4)':>16}"
        f" {'peak tree RSS':>13} {'peak tree PSS':>13}"
    )
    print(header)
    print("-" * len(header))
    for engine in ENGINES:
        rows = [*runs[engine], medians[engine]] if args.repeat > 1 else runs[engine]
        for r in rows:
            label = "median" if r.run == 0 else str(r.run)
            cpu = statistics.median(cpu_seconds[engine]) if r.run == 0 else cpu_seconds[engine][r.run - 1]
            print(
                f"{engine:<8} {label:>6} {r.wall_seconds:>8.1f} {r.mentions_per_second:>10.0f} {cpu:>7.1f}"
                f" {r.peak_rss_wait4_mb:>16.0f} {r.peak_tree_rss_mb:>13.0f} {r.peak_tree_pss_mb:>13.0f}"
            )
    print(f"\ndask / process throughput: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
