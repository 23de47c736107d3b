"""The `disambig` command line: an adapter over the engine, the trainer and the evaluator.

Bad input exits with code 2 and a message naming the file and line; results are written to a
temporary file and renamed into place, so a failed run never leaves a half-written output.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import click
import orjson

from disambig.errors import DisambigError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_BAD_INPUT = 2


def _fail_cleanly(func: F) -> F:
    """Turn DisambigError into a one-line message and exit code 2."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DisambigError as exc:
            click.echo(f"disambig: error: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


@contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A binary handle whose content appears at `path` only if the block finishes."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="disambig")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def main(verbose: bool) -> None:
    """disambig: author-name mentions in, stable person identities out."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s")


@main.command()
@click.argument("mentions", type=str)
@click.option("-o", "--output", default="-", show_default=True, help="Output JSONL ('-' = stdout).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@click.option("--jobs", type=int, default=0, help="Worker processes (0 = all cores).")
@_fail_cleanly
def cluster(mentions: str, output: str, model_path: Path | None, jobs: int) -> None:
    """Split the mentions of MENTIONS (JSONL, .jsonl.gz or '-') into identities."""
    from disambig.engine import Engine
    from disambig.model import load_model
    from disambig.readers import read_mentions

    records = read_mentions(mentions)
    engine = Engine(load_model(model_path), jobs=jobs)
    assignments = engine.cluster(records)
    with atomic_output(output) as handle:
        for a in assignments:
            handle.write(
                orjson.dumps({"mention_id": a.mention_id, "identity_id": a.identity_id, "confidence": a.confidence})
                + b"\n"
            )


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model dir.")
@click.option(
    "--pairs",
    "pair_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Labelled pair files (e.g. MEDLINE pairs); repeatable.",
)
@click.option(
    "--dev",
    "dev_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Labelled files to report on in the model card (never trained on).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--threads",
    type=int,
    default=1,
    show_default=True,
    help="OpenMP threads for fitting; more threads than free cores makes fitting many times slower.",
)
@click.option(
    "--merge-stage/--no-merge-stage",
    default=False,
    show_default=True,
    help="Also train the second stage that merges clusters whose pooled profiles match.",
)
@_fail_cleanly
def train(
    data: tuple[Path, ...],
    output: Path,
    pair_files: tuple[Path, ...],
    dev_files: tuple[Path, ...],
    seed: int,
    threads: int,
    merge_stage: bool,
) -> None:
    """Train a pairwise model on labelled DATA files (with person_id) and write it to OUTPUT."""
    from threadpoolctl import threadpool_limits

    from disambig.training import train as run_training

    with threadpool_limits(threads):
        model = run_training(
            list(data), pair_files=list(pair_files), dev_files=list(dev_files), seed=seed, merge_stage=merge_stage
        )
    model.save(output)
    click.echo(f"model written to {output} (threshold {model.threshold:.2f})", err=True)


@main.command()
@click.argument("gold", type=str)
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@click.option("--initials", is_flag=True, help="Rewrite every name to initials + surname first.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--jobs", type=int, default=0, help="Worker processes (0 = all cores).")
@_fail_cleanly
def evaluate(gold: str, model_path: Path | None, initials: bool, as_json: bool, jobs: int) -> None:
    """Cluster a labelled file (with person_id) and print B3 and pairwise scores."""
    from disambig.engine import Engine
    from disambig.evaluation import score, score_by_block
    from disambig.model import load_model
    from disambig.training import LabelledCorpus

    corpus = LabelledCorpus.read(gold)
    if initials:
        corpus = corpus.in_initials()
    engine = Engine(load_model(model_path), jobs=jobs)
    assignments = engine.cluster(corpus.mentions)
    predicted = [a.identity_id for a in assignments]
    gold_labels = list(corpus.labels)
    overall = score(predicted, gold_labels)
    per_block = score_by_block(predicted, gold_labels, engine.block_keys(corpus.mentions))
    if as_json:
        report = {
            "file": gold,
            "initials": initials,
            "model": engine.model.version,
            "overall": overall.as_dict(),
            "blocks": {k: v.as_dict() for k, v in per_block.items()},
        }
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{'block':<28} {'n':>6} {'B3 P':>6} {'B3 R':>6} {'B3 F1':>6} {'pw P':>6} {'pw R':>6} {'pw F1':>6}")
    for key, s in [*list(per_block.items()), ("OVERALL", overall)]:
        click.echo(
            f"{key:<28} {s.mentions:>6} {s.b3_precision:6.3f} {s.b3_recall:6.3f} {s.b3_f1:6.3f} "
            f"{s.pairwise_precision:6.3f} {s.pairwise_recall:6.3f} {s.pairwise_f1:6.3f}"
        )


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=50051, show_default=True)
@click.option("--db", "db_url", default="sqlite:///./disambig.db", show_default=True, help="Registry URL.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@_fail_cleanly
def serve(host: str, port: int, db_url: str, model_path: Path | None) -> None:
    """Serve the Disambiguator gRPC API over a persistent identity registry."""
    from disambig.model import load_model
    from disambig.registry import Registry
    from disambig.service.server import serve as run_server

    registry = Registry(db_url)
    registry.migrate()
    run_server(f"{host}:{port}", load_model(model_path), registry)


@main.command()
@click.option("--db", "db_url", default="sqlite:///./disambig.db", show_default=True, help="Registry URL.")
@click.option("--block", "blocks", multiple=True, help="Name block key(s) to re-cluster (default: all).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@_fail_cleanly
def recluster(db_url: str, blocks: tuple[str, ...], model_path: Path | None) -> None:
    """Re-cluster stored mentions with the current model; identity ids stay stable."""
    from disambig.model import load_model
    from disambig.reclustering import recluster as run
    from disambig.registry import Registry

    registry = Registry(db_url)
    registry.migrate()
    report = run(load_model(model_path), registry, list(blocks) or None)
    click.echo(
        f"{report.blocks} blocks, {report.mentions} mentions: {report.mentions_moved} moved, "
        f"{report.ids_kept} ids kept, {report.ids_created} ids created"
    )


@main.group()
def client() -> None:
    """Talk to a running disambig server."""


@client.command("resolve")
@click.argument("mentions", type=str)
@click.option("--target", required=True, help="Server address, HOST:PORT.")
@click.option("-o", "--output", default="-", show_default=True, help="Output JSONL ('-' = stdout).")
@_fail_cleanly
def client_resolve(mentions: str, target: str, output: str) -> None:
    """Stream the mentions of MENTIONS (JSONL) through the server's ResolveStream."""
    import grpc

    from disambig.client import Client
    from disambig.readers import read_mentions

    records = read_mentions(mentions)
    try:
        with Client(target) as remote, atomic_output(output) as handle:
            for r in remote.resolve_stream(records):
                line = {
                    "mention_id": r.mention_id,
                    "identity_id": r.identity_id,
                    "confidence": r.confidence,
                    "created": r.created,
                }
                handle.write(orjson.dumps(line) + b"\n")
    except grpc.RpcError as exc:
        click.echo(f"disambig: error: {target}: {exc.code().name}: {exc.details()}", err=True)
        sys.exit(EXIT_BAD_INPUT if exc.code() == grpc.StatusCode.INVALID_ARGUMENT else 1)


if __name__ == "__main__":
    main()
