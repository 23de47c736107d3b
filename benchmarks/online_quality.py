"""Online quality: resolve a labelled file one mention at a time, in file order, into a fresh
registry, and compare B3 with batch clustering of the same file (issue 3 target: within 0.03).

    python benchmarks/online_quality.py [FILE] [--model DIR] [--db URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from disambig.engine import Engine
from disambig.evaluation import score
from disambig.model import load_model
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.training import LabelledCorpus

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "qian_dblp_dev.jsonl.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--db", default=None, help="registry URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    if not args.file.is_file():
        print(f"error: {args.file} not found", file=sys.stderr)
        return 2
    threadpool_limits(1)  # as the server and the CLI do: OpenMP threads on busy cores slow scoring 10x
    model = load_model(args.model)
    corpus = LabelledCorpus.read(args.file)
    gold = list(corpus.labels)

    started = time.perf_counter()
    batch = score([a.identity_id for a in Engine(model, jobs=1).cluster(corpus.mentions)], gold)
    batch_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as scratch:
        registry = Registry(args.db or f"sqlite:///{Path(scratch) / 'online.db'}")
        registry.migrate()
        resolver = Resolver(model, registry)
        started = time.perf_counter()
        online_ids = [resolver.resolve([m])[0].identity_id for m in corpus.mentions]
        online_seconds = time.perf_counter() - started
        registry.close()
    online = score(online_ids, gold)

    print(f"file: {args.file.name}  mentions: {len(gold)}  model: {model.version}")
    print(f"{'mode':<28} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pw F1':>6} {'seconds':>8}")
    for label, s, seconds in (
        ("batch (disambig cluster)", batch, batch_seconds),
        ("online, one at a time", online, online_seconds),
    ):
        print(
            f"{label:<28} {s.b3_precision:6.3f} {s.b3_recall:6.3f} {s.b3_f1:6.3f} {s.pairwise_f1:6.3f} {seconds:8.1f}"
        )
    gap = batch.b3_f1 - online.b3_f1
    print(f"B3 F1 gap (batch - online): {gap:+.4f}  target <= 0.03: {'PASS' if gap <= 0.03 else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
