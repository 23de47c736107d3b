"""`disambig resolve` of a BibTeX listing through a local server (issue 4 target: report works/s).

    python benchmarks/bibtex_resolve.py [--works 10000] [--corpus FILE]

Builds a BibTeX file of --works entries from a synthetic corpus (benchmarks/synthetic.py: the
mentions of one paper are consecutive and share a title), starts `disambig serve` on a fresh
SQLite registry, and times `disambig resolve LISTING --target` from spawn to exit.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import orjson

DEFAULT_CORPUS = Path("/tmp/disambig-synthetic/syn-v1-seed1-100000.jsonl.gz")


def works(corpus: Path, count: int) -> list[dict[str, object]]:
    """The first `count` papers of a synthetic corpus: consecutive mentions with one title."""
    out: list[dict[str, object]] = []
    with gzip.open(corpus, "rb") as handle:
        records = (orjson.loads(line) for line in handle)
        for _, group in itertools.groupby(records, key=lambda r: (r["title"], r.get("year"))):
            authors = list(group)
            first = authors[0]
            out.append(
                {
                    "title": first["title"],
                    "year": first.get("year"),
                    "venue": first.get("venue", ""),
                    "authors": [a["name"] for a in authors],
                    "keywords": first.get("topics", []),
                }
            )
            if len(out) == count:
                break
    return out


def bibtex(entries: list[dict[str, object]]) -> str:
    def clean(text: object) -> str:
        return str(text).replace("{", "").replace("}", "")

    lines = []
    for k, work in enumerate(entries):
        authors = " and ".join(clean(a) for a in work["authors"])  # type: ignore[attr-defined]
        keywords = "; ".join(clean(t) for t in work["keywords"])  # type: ignore[attr-defined]
        lines.append(
            f"@article{{w{k},\n  author = {{{authors}}},\n  title = {{{clean(work['title'])}}},\n"
            f"  journal = {{{clean(work['venue'])}}},\n  year = {{{work['year'] or ''}}},\n"
            f"  keywords = {{{keywords}}},\n}}\n"
        )
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--works", type=int, default=10_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"error: {args.corpus} not found (make it with benchmarks/synthetic.py)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "works.bib"
        entries = works(args.corpus, args.works)
        listing.write_text(bibtex(entries))
        mentions = sum(len(w["authors"]) for w in entries)  # type: ignore[misc, arg-type]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "disambig.cli", "serve", "--port", str(port), "--db", f"sqlite:///{scratch}/r.db"],
            stderr=subprocess.DEVNULL,
        )
        try:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                grpc.channel_ready_future(channel).result(timeout=60)
            started = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "disambig.cli",
                    "resolve",
                    str(listing),
                    "-o",
                    f"{scratch}/out.jsonl",
                    "--target",
                    f"127.0.0.1:{port}",
                    "-q",
                ],
                check=True,
            )
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(
        f"{len(entries)} BibTeX works, {mentions} author mentions, through a local server: {wall:.1f} s = "
        f"{len(entries) / wall:.1f} works/s ({mentions / wall:.0f} mentions/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
