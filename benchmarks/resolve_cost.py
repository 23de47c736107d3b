"""The cost of one online resolution in process, without gRPC: CPU time, or instructions under callgrind.

    python benchmarks/resolve_cost.py --preload /tmp/preloaded.db      # once: a registry of ../shared/data
    python benchmarks/resolve_cost.py --registry /tmp/preloaded.db     # CPU ms a call, p50 wall ms
    python benchmarks/resolve_cost.py --db postgresql+psycopg://USER@HOST/COPY   # a preloaded database, changed
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        python benchmarks/resolve_cost.py --registry /tmp/preloaded.db --calls 230
    callgrind_annotate /tmp/cg.out | grep "PROGRAM TOTALS"                  # instructions of the timed calls

Each run resolves --calls mentions into a fresh copy of the preloaded registry (SQLite), one call
at a time, as `Resolver.resolve` does for a single-mention Resolve: copies of stored mentions with
new ids, sampled over all files with a fixed seed (the same calls every run). The first --warm
calls warm the caches and are not counted. With --db the registry is that database, which the
run writes to: give it a copy of a preloaded one each time (PostgreSQL: `createdb -T PRELOADED
COPY`; `service_latency.py --db URL` preloads one). It also prints the SQL statements a call
sends, each a round trip on PostgreSQL.

Wall-clock figures on a shared machine vary from run to run by more than most changes to a call
(on the 2-core machines of this project, twofold between runs of the same code); callgrind counts
instructions, which are the same from run to run of the same code and inputs. Under callgrind the
script switches instrumentation on for the counted calls only, so the file's total is theirs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from sqlalchemy import event
from threadpoolctl import threadpool_limits

from disambig.model import load_model
from disambig.registry import Registry
from disambig.resolving import Resolver

# A sibling script (its directory is on sys.path when run): the same corpus and preload.
import service_latency  # isort: skip


def under_callgrind() -> bool:
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


def instrument(on: bool) -> None:
    """Ask callgrind to count (or stop counting) this process. callgrind reads the request while
    the program runs, so the program keeps running until the request is answered."""
    control = subprocess.Popen(
        ["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while control.poll() is None:
        sum(range(1000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--preload", type=Path, help="build a preloaded SQLite registry at this path and stop")
    target.add_argument("--registry", type=Path, help="a preloaded SQLite registry (copied, never changed)")
    target.add_argument("--db", help="a preloaded registry's URL, written to (give it a copy)")
    parser.add_argument("--data", type=Path, default=service_latency.DATA)
    parser.add_argument("--calls", type=int, default=1030, help="calls resolved, the warm ones included")
    parser.add_argument("--warm", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not (args.data / "README.md").is_file():
        print(f"error: labelled data not found at {args.data}", file=sys.stderr)
        return 2
    if args.calls <= args.warm:
        print("error: --calls must exceed --warm", file=sys.stderr)
        return 2
    threadpool_limits(1)  # as the server runs: one OpenMP thread
    files = service_latency.corpus(args.data)
    if args.preload is not None:
        seconds = service_latency.preload(f"sqlite:///{args.preload.resolve()}", files)
        print(f"preloaded {sum(len(f) for f in files)} mentions into {args.preload} in {seconds:.1f} s")
        return 0
    mentions = [m for f in files for m in f]
    rng = random.Random(args.seed)
    calls = [replace(m, mention_id=f"cost-{k}") for k, m in enumerate(rng.sample(mentions, args.calls))]
    with tempfile.TemporaryDirectory() as scratch:
        url = args.db
        if url is None:
            copy = Path(scratch) / "registry.db"
            shutil.copyfile(args.registry, copy)
            url = f"sqlite:///{copy}"
        registry = Registry(url)
        statements = [0]
        event.listen(registry.engine, "before_cursor_execute", lambda *_: statements.__setitem__(0, statements[0] + 1))
        resolver = Resolver(load_model(), registry)
        resolver.warm_up(3600)
        for mention in calls[: args.warm]:
            resolver.resolve([mention])
        counting = under_callgrind()
        if counting:
            instrument(True)
        wall = []
        statements[0] = 0
        cpu = time.process_time()
        for mention in calls[args.warm :]:
            started = time.perf_counter()
            resolver.resolve([mention])
            wall.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu
        if counting:
            instrument(False)
        registry.close()
    counted = len(wall)
    print(
        f"{counted} resolutions: CPU {cpu / counted * 1e3:.2f} ms a call, wall p50 {np.median(wall) * 1e3:.2f} ms, "
        f"mean {np.mean(wall) * 1e3:.2f} ms, {statements[0] / counted:.1f} SQL statements a call"
        + ("  (under callgrind: the instructions are the output file's PROGRAM TOTALS)" if counting else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
