"""Speed and memory of the real command a user runs: `disambig cluster FILE -o OUT`.

Each run is a fresh child process (imports, model loading, reading, clustering and writing
included). Reported per run:

  wall s           wall-clock seconds from spawn to exit of the child
  mentions/s       non-blank input lines / wall seconds
  peak RSS (wait4) ru_maxrss from os.wait4 on the child. On Linux this is the peak of the single
                   largest process among the child and the descendants it reaped (its worker
                   processes): a max over processes, never a sum, so it understates the memory of
                   a multi-process run.
  peak tree RSS    the child and all its descendants sampled every 0.1 s (psutil if installed,
                   else /proc), RSS summed per sample; the peak of those sums. Pages shared
                   copy-on-write by forked workers count once per process, so this overstates
                   real use; spikes shorter than 0.1 s can be missed.
  peak tree PSS    the same with PSS (shared pages split between the processes sharing them):
                   the closest figure to what the run costs the machine.

    python benchmarks/speed.py                              # default files, shipped model
    python benchmarks/speed.py --model /tmp/m2 --repeat 3 --targets
    python benchmarks/speed.py --json ../shared/data/aminer110.jsonl.gz

With --targets it prints PASS/MISS against the targets below and exits 1 if any is missed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

REPO_ROOT = Path(__file__).resolve().parent.parent
# Relative to the repo root (the data is shared read-only next to the checkout).
DEFAULT_FILES = ("../shared/data/inspire_wang.jsonl.gz", "../shared/data/aminer110.jsonl.gz")
SAMPLE_SECONDS = 0.1
MIB = 1024 * 1024

# The targets: (file stem, Run field, "<" or ">=", bound, description).
# "1.5 GB" is read as 1.5e9 bytes (1430.5 MiB), the stricter of its two readings.
TARGETS: tuple[tuple[str, str, str, float, str], ...] = (
    ("inspire_wang", "wall_seconds", "<", 30.0, "wall < 30 s"),
    ("inspire_wang", "peak_tree_rss_mb", "<", 1.5e9 / MIB, "peak tree RSS < 1.5 GB (1430.5 MiB)"),
    ("aminer110", "mentions_per_second", ">=", 1000.0, ">= 1000 mentions/s"),
)


PROG = "speed.py"  # the name in error messages; scale.py, which reuses run_once, sets its own


def fail(message: str) -> NoReturn:
    """Exit with a one-line message instead of a traceback."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(2)


def stem(path: str) -> str:
    return Path(path).name.split(".")[0]


def count_mentions(path: Path) -> int:
    """Non-blank lines; gzip is recognised by its magic bytes, as the reader does."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    opener: Callable[[Path], Any] = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path) as handle:
        return sum(1 for line in handle if line.strip())


def disambig_command() -> list[str]:
    """The console script if it is on PATH, else the same entry point through this interpreter."""
    script = shutil.which("disambig")
    return [script] if script else [sys.executable, "-m", "disambig.cli"]


# --- memory of a process tree -------------------------------------------------------------


def _proc_children() -> dict[int, list[int]]:
    """ppid -> pids, from /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # exited meanwhile
            continue
        # The command name is in parentheses and may itself contain spaces or ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _proc_field_kb(path: str, key: bytes) -> int:
    try:
        with open(path, "rb") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_memory_proc(root: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over root and its descendants, from /proc."""
    children = _proc_children()
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        stack.extend(children.get(pid, ()))
    rss = sum(_proc_field_kb(f"/proc/{pid}/status", b"VmRSS:") for pid in pids)
    pss = sum(_proc_field_kb(f"/proc/{pid}/smaps_rollup", b"Pss:") for pid in pids)
    return rss * 1024, pss * 1024


def _tree_memory_psutil(root: int) -> tuple[int, int]:
    import psutil

    try:
        parent = psutil.Process(root)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    rss = pss = 0
    for proc in procs:
        try:
            info = proc.memory_full_info()  # reads smaps_rollup on Linux: has rss and pss
        except psutil.Error:
            continue
        rss += info.rss
        pss += getattr(info, "pss", 0)
    return rss, pss


def tree_memory_sampler() -> tuple[Callable[[int], tuple[int, int]], str]:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return _tree_memory_proc, "/proc"
    return _tree_memory_psutil, "psutil"


class PeakSampler(threading.Thread):
    """Samples a process tree every SAMPLE_SECONDS until stopped; keeps the peaks of the sums."""

    def __init__(self, pid: int, measure: Callable[[int], tuple[int, int]]) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.measure = measure
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            rss, pss = self.measure(self.pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.samples += 1
            self.stopped.wait(SAMPLE_SECONDS)


# --- one run ------------------------------------------------------------------------------


@dataclass
class Run:
    file: str
    run: int
    mentions: int
    wall_seconds: float
    mentions_per_second: float
    peak_rss_wait4_mb: float
    peak_tree_rss_mb: float
    peak_tree_pss_mb: float
    samples: int


def run_once(
    command: list[str],
    label: str,
    path: Path,
    mentions: int,
    index: int,
    workdir: Path,
    measure: Callable[[int], tuple[int, int]],
) -> Run:
    output = workdir / f"{stem(label)}.{index}.jsonl"
    argv = [*command]
    argv[argv.index("{FILE}")] = str(path)
    argv[argv.index("{OUT}")] = str(output)
    log = workdir / "stderr.log"
    with open(log, "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        sampler = PeakSampler(child.pid, measure)
        sampler.start()
        # wait4 reaps the child and returns its rusage; Popen must not wait for it again.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        sampler.stopped.set()
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        fail(f"{' '.join(argv)} exited with {child.returncode}:\n  " + "\n  ".join(tail))
    written = count_mentions(output)
    if written != mentions:
        fail(f"{label}: {written} assignments written for {mentions} mentions")
    output.unlink()
    return Run(
        file=label,
        run=index,
        mentions=mentions,
        wall_seconds=round(wall, 3),
        mentions_per_second=round(mentions / wall, 1),
        peak_rss_wait4_mb=round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        peak_tree_rss_mb=round(sampler.peak_rss / MIB, 1),
        peak_tree_pss_mb=round(sampler.peak_pss / MIB, 1),
        samples=sampler.samples,
    )


# --- report -------------------------------------------------------------------------------


def summary(runs: list[Run]) -> Run:
    """Median wall time and throughput, worst (max) memory, over the runs of one file."""
    wall = statistics.median(r.wall_seconds for r in runs)
    return Run(
        file=runs[0].file,
        run=0,
        mentions=runs[0].mentions,
        wall_seconds=round(wall, 3),
        mentions_per_second=round(runs[0].mentions / wall, 1),
        peak_rss_wait4_mb=max(r.peak_rss_wait4_mb for r in runs),
        peak_tree_rss_mb=max(r.peak_tree_rss_mb for r in runs),
        peak_tree_pss_mb=max(r.peak_tree_pss_mb for r in runs),
        samples=sum(r.samples for r in runs),
    )


def check_targets(summaries: list[Run]) -> list[dict[str, Any]]:
    """PASS/MISS per target; "n/a" if the target's file was not run."""
    by_stem = {stem(s.file): s for s in summaries}
    checks: list[dict[str, Any]] = []
    for name, field, op, bound, text in TARGETS:
        run = by_stem.get(name)
        value: float | None = None if run is None else float(getattr(run, field))
        met = value is not None and (value < bound if op == "<" else value >= bound)
        status = "n/a" if value is None else ("PASS" if met else "MISS")
        checks.append({"target": f"{name}: {text}", "measured": value, "status": status})
    return checks


def print_table(runs: list[Run], summaries: list[Run], command: list[str], sampler: str) -> None:
    print(f"command: {' '.join(command)}")
    print(f"cores: {os.cpu_count()}  tree sampling: {sampler} every {SAMPLE_SECONDS} s  memory in MiB")
    header = (
        f"{'file':<16} {'run':>6} {'mentions':>8} {'wall s':>8} {'mentions/s':>10} "
        f"{'peak RSS (wait4)':>16} {'peak tree RSS':>13} {'peak tree PSS':>13}"
    )
    print(header)
    print("-" * len(header))
    shown = list(runs)
    if len(summaries) != len(runs):  # --repeat > 1: one median row per file
        shown = []
        for s in summaries:
            shown += [r for r in runs if r.file == s.file] + [s]
    for r in shown:
        run = "median" if r.run == 0 else str(r.run)
        print(
            f"{stem(r.file):<16} {run:>6} {r.mentions:>8} {r.wall_seconds:>8.2f} {r.mentions_per_second:>10.0f} "
            f"{r.peak_rss_wait4_mb:>16.0f} {r.peak_tree_rss_mb:>13.0f} {r.peak_tree_pss_mb:>13.0f}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Wall time, throughput and peak memory of `disambig cluster FILE -o OUT`."
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILES", help=f"mention JSONL(.gz) files (default: {' '.join(DEFAULT_FILES)})"
    )
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per file (default: 1)")
    parser.add_argument("--model", metavar="DIR", help="passed to `disambig cluster --model`")
    parser.add_argument("--jobs", type=int, metavar="N", help="passed to `disambig cluster --jobs` (default: unset)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--targets", action="store_true", help="print PASS/MISS against the issue's targets")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = [(f, Path(f)) for f in args.files] if args.files else [(f, REPO_ROOT / f) for f in DEFAULT_FILES]
    for label, path in files:
        if not path.is_file():
            fail(f"{label}: no such file (labelled data lives in ../shared/data, see its README)")
    if args.model is not None and not Path(args.model).is_dir():
        fail(f"--model {args.model}: no such directory")

    command = [*disambig_command(), "cluster", "{FILE}", "-o", "{OUT}"]
    if args.model is not None:
        command += ["--model", str(Path(args.model).resolve())]
    if args.jobs is not None:
        command += ["--jobs", str(args.jobs)]
    measure, sampler_name = tree_memory_sampler()

    runs: list[Run] = []
    summaries: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="disambig-speed-") as tmp:
        for label, path in files:
            mentions = count_mentions(path)
            file_runs = [
                run_once(command, label, path, mentions, i, Path(tmp), measure) for i in range(1, args.repeat + 1)
            ]
            runs += file_runs
            summaries.append(summary(file_runs) if args.repeat > 1 else file_runs[0])

    checks = check_targets(summaries) if args.targets else []
    if args.json:
        report: dict[str, Any] = {
            "command": command,
            "cores": os.cpu_count(),
            "tree_sampler": sampler_name,
            "runs": [asdict(r) for r in runs],
            "summary": [asdict(s) for s in summaries],
        }
        if args.targets:
            report["targets"] = checks
        print(json.dumps(report, indent=2))
    else:
        print_table(runs, summaries, command, sampler_name)
        if args.targets:
            print()
            for c in checks:
                measured = "not run" if c["measured"] is None else f"{c['measured']:g}"
                print(f"{c['status']:<5} {c['target']:<52} measured: {measured}")
    return 1 if any(c["status"] == "MISS" for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
