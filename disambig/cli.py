"""The `disambig` command line: an adapter over the engine, the trainer and the evaluator.

Bad input exits with code 2 and a message naming the file and line; results are written to a
temporary file and renamed into place, so a failed run never leaves a half-written output.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click
import orjson

from disambig.errors import DisambigError, InputFileError, ServiceError

if TYPE_CHECKING:
    from disambig.batch.resumable import ResolveChunks
    from disambig.engine import Assignment
    from disambig.mention import Mention
    from disambig.resolving import Resolution

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
# `disambig cluster` keeps up to this many mentions in one table in memory (Engine); a larger
# listing streams through shards on disk (StreamingEngine), in bounded memory, with the same output.
ONE_TABLE_MENTIONS = 20_000


def _fail_cleanly(func: F) -> F:
    """Turn DisambigError into a one-line message: exit code 2 for bad input, 1 for a failed service."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DisambigError as exc:
            click.echo(f"disambig: error: {exc}", err=True)
            sys.exit(EXIT_FAILURE if isinstance(exc, ServiceError) else EXIT_BAD_INPUT)

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
    if target.exists() and not target.is_file():
        # A device or a pipe (/dev/null, <(...)): nothing to rename over, write straight to it.
        with open(target, "wb") as handle:
            yield handle
        return
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
    from threadpoolctl import threadpool_limits

    # One OpenMP/BLAS thread for this process's scoring: worker processes give the parallelism,
    # and OpenMP threads contending for busy cores made scoring 10-20x slower (600 mentions:
    # 82 s with default threads on 2 loaded cores, 4.6 s with one). `train --threads` overrides.
    threadpool_limits(1)


def _input_options(func: F) -> F:
    """Options every command reading a listing shares: one reader layer, one filter."""
    from disambig.batch.problems import ON_ERROR
    from disambig.readers import FORMATS

    options = [
        click.option("--format", "fmt", type=click.Choice(FORMATS), help="Input format (default: from the name)."),
        click.option("--only", help='Keep only mentions compatible with this name, e.g. "D. Haziza".'),
        click.option(
            "--on-error",
            type=click.Choice(ON_ERROR),
            default="fail",
            show_default=True,
            help="On malformed entries: fail before writing anything, or report them and go on.",
        ),
        click.option("--output-format", type=click.Choice(("jsonl", "csv")), default="jsonl", show_default=True),
        click.option("-q", "--quiet", is_flag=True, help="No summary on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


@main.command()
@click.argument("mentions", type=str)
@click.option("-o", "--output", default="-", show_default=True, help="Output file ('-' = stdout).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@click.option("--jobs", type=int, default=0, help="Worker processes (0 = all cores).")
@click.option(
    "--engine",
    "engine_name",
    type=click.Choice(("process", "dask")),
    default="process",
    show_default=True,
    help="process: a process pool on this machine; dask: a Dask cluster (the disambig[dask] extra).",
)
@click.option("--scheduler", help="Dask scheduler address, tcp://HOST:PORT (default: start a LocalCluster).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes of the LocalCluster [default: 2].")
@click.option(
    "--shards",
    "shard_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the Dask engine's shards (mentions partitioned by name block) in this directory.",
)
@click.option("--shard-format", type=click.Choice(("jsonl", "parquet")), default="jsonl", show_default=True)
@_input_options
@_fail_cleanly
def cluster(
    mentions: str,
    output: str,
    model_path: Path | None,
    jobs: int,
    engine_name: str,
    scheduler: str | None,
    workers: int | None,
    shard_dir: Path | None,
    shard_format: str,
    fmt: str | None,
    only: str | None,
    on_error: str,
    output_format: str,
    quiet: bool,
) -> None:
    """Split the mentions of a listing into identities (stateless: nothing is stored).

    MENTIONS is a file ('-' = JSONL on stdin) in any input format: mentions or works JSONL,
    CSL-JSON, BibTeX, arXiv Atom, CSV/TSV; gzip accepted.

    With --engine dask the mentions are streamed into shards by name block and the blocks are
    clustered on a Dask cluster (--scheduler, else a LocalCluster of --workers processes): the
    same identities as the default engine.
    """
    from disambig.batch.listing import Listing
    from disambig.batch.output import make_writer
    from disambig.batch.problems import report_problems
    from disambig.batch.progress import progress_bar
    from disambig.batch.summary import Summary, summarise
    from disambig.engine import Engine
    from disambig.model import load_model

    listing = Listing(mentions, fmt, only)
    nothing = "no mentions to cluster" + (f" matching {only!r}" if only else "")

    def after_reading(bar: Any) -> Callable[[int], None]:
        def read(count: int) -> None:
            report_problems(listing.report, on_error, _echo_err)
            if not count:
                raise InputFileError(mentions, nothing)
            bar.total = count

        return read

    def write(results: Iterable[tuple[Mention, Assignment]], summary: Summary | None = None) -> None:
        with atomic_output(output) as handle:
            writer = make_writer(output_format, handle)
            for mention, a in results:
                writer.write(mention, a.identity_id, a.confidence)
                if summary is not None:
                    summary.add(mention, a.identity_id)

    if engine_name != "dask" and (scheduler or workers or shard_dir or shard_format != "jsonl"):
        raise click.UsageError("--scheduler, --workers, --shards and --shard-format go with --engine dask")
    if engine_name == "dask" and scheduler and workers:
        raise click.UsageError("--workers sizes the LocalCluster; with --scheduler the cluster is already there")
    summary = Summary()
    stream = iter(listing)
    # The process engine keeps a small listing in one table (Engine), fastest there.
    batch = [] if engine_name == "dask" else list(itertools.islice(stream, ONE_TABLE_MENTIONS + 1))
    if engine_name == "dask":
        from disambig.dask_engine import DaskEngine, dask_client

        # Read once into shards and once more to write the output (stdin can be read only once).
        records = list(listing) if mentions == "-" else listing
        with dask_client(scheduler, workers) as client, progress_bar("clustering") as bar:
            engine = DaskEngine(client, load_model(model_path), shard_dir=shard_dir, shard_format=shard_format)
            assignments = engine.cluster(records, progress=bar.update, after_reading=after_reading(bar))
        write(zip(records, assignments, strict=True), summary)
    elif len(batch) > ONE_TABLE_MENTIONS:
        # Too many mentions for one table in memory: stream them through shards on disk.
        from disambig.streaming import StreamingEngine

        streaming = StreamingEngine(load_model(model_path), jobs=jobs)
        stream = itertools.chain(batch, stream)
        del batch  # the engine reads the listing once, keeping none of it
        with (
            progress_bar("clustering") as bar,
            streaming.cluster(
                stream, progress=bar.update, after_reading=after_reading(bar), summarise=summarise
            ) as clustered,
        ):
            write(clustered)
            summary = Summary.combine(clustered.summaries)
    else:
        with progress_bar("clustering", total=len(batch)) as bar:
            after_reading(bar)(len(batch))
            assignments = Engine(load_model(model_path), jobs=jobs).cluster(batch, progress=bar.update)
        write(zip(batch, assignments, strict=True), summary)
    if not quiet:
        _echo_err(summary.render())


def _chunk_resolver(
    stack: contextlib.ExitStack[Any], target: str | None, db_url: str, model_path: Path | None
) -> tuple[ResolveChunks, tuple[type[Exception], ...]]:
    """Where chunks of a listing get resolved: a server's ResolveStream, or the registry in-process;
    and the errors that mean that service failed."""
    if target:
        import grpc

        from disambig.client import Client

        return stack.enter_context(Client(target)).resolve_chunks, (grpc.RpcError,)
    from disambig.model import load_model
    from disambig.registry import Registry
    from disambig.resolving import Resolver

    registry = Registry(db_url)
    stack.callback(registry.close)
    registry.migrate()
    resolver = Resolver(load_model(model_path), registry)

    def resolve_locally(chunks: Iterator[list[Mention]]) -> Iterator[list[Resolution]]:
        return (resolver.resolve(chunk) for chunk in chunks)

    return resolve_locally, ()  # registry errors carry their own messages


@main.command()
@click.argument("listing_path", metavar="LISTING", type=str)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file (not '-')."
)
@click.option("--db", "db_url", default="sqlite:///./disambig.db", show_default=True, help="Registry URL.")
@click.option("--target", help="Resolve through a server's ResolveStream at HOST:PORT instead of --db.")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@_input_options
@_fail_cleanly
def resolve(
    listing_path: str,
    output: Path,
    db_url: str,
    target: str | None,
    model_path: Path | None,
    fmt: str | None,
    only: str | None,
    on_error: str,
    output_format: str,
    quiet: bool,
) -> None:
    """Resolve every mention of LISTING against the identity registry, resumably.

    Killed at any moment and run again with the same arguments, it goes on where it stopped
    (from OUTPUT.partial) and stores nothing twice.
    """
    from disambig.batch.listing import Listing
    from disambig.batch.problems import report_problems
    from disambig.batch.progress import progress_bar
    from disambig.batch.resumable import ResumableRun
    from disambig.batch.summary import Summary

    if str(output) == "-":
        raise click.UsageError("-o needs an output file: its checkpoint, OUTPUT.partial, is kept beside it")
    listing = Listing(listing_path, fmt, only)
    source: Iterable[Mention] = listing
    nothing = f"no mentions to resolve{f' matching {only!r}' if only else ''}"
    if on_error == "fail":
        # A first pass finds malformed entries before anything is stored; stdin can be read only
        # once, so its mentions are kept from that pass.
        if listing_path == "-":
            source = list(listing)
        else:
            for _ in listing:
                pass
        report_problems(listing.report, on_error, _echo_err)
        if not listing.report.mentions:
            raise InputFileError(listing_path, nothing)
    run = ResumableRun(output, output_format)
    summary = Summary()
    with contextlib.ExitStack() as stack:
        resolve_chunks, failure = _chunk_resolver(stack, target, db_url, model_path)
        bar = stack.enter_context(progress_bar("resolving"))

        def on_result(mention: Mention, identity_id: str, _confidence: float) -> None:
            summary.add(mention, identity_id)
            bar.update(1)

        try:
            count = run.run(source, resolve_chunks, on_result)
        except failure as exc:
            raise ServiceError(f"{target or db_url}: {exc}") from exc
    if on_error == "skip":
        report_problems(listing.report, on_error, _echo_err)
    if not count:
        output.unlink(missing_ok=True)  # a failed run leaves no output (here at most a CSV header)
        raise InputFileError(listing_path, nothing)
    if not quiet:
        resumed = f" ({run.resumed} taken over from an interrupted run)" if run.resumed else ""
        _echo_err(f"{count} mentions resolved{resumed}\n{summary.render()}")


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


def _settings_options(func: F) -> F:
    """--config and one option per server setting (disambig.settings)."""
    from disambig.settings import click_options

    return click_options(func)


def _registry_error(url: str, exc: Exception) -> ServiceError:
    from disambig.settings import mask_url

    reason = getattr(exc, "orig", None) or exc
    return ServiceError(f"registry {mask_url(url)}: {type(reason).__name__}: {reason}".splitlines()[0])


@main.command()
@_settings_options
@_fail_cleanly
def serve(config: Path | None, **flags: Any) -> None:
    """Serve the Disambiguator gRPC API over a persistent identity registry.

    Each setting comes from its flag, else its DISAMBIG_* variable, else the --config TOML file
    ($DISAMBIG_CONFIG), else its default; `disambig config` prints the result. A bad value exits
    with code 2 naming the setting.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.model import load_model
    from disambig.registry import Registry
    from disambig.service.app import serve as run_server
    from disambig.service.logs import configure_logging
    from disambig.settings import load_settings

    settings = load_settings(flags, config=config)
    configure_logging(settings.log_format, settings.log_level)
    model = load_model(settings.model)
    registry = Registry(settings.db)
    try:
        registry.migrate()
    except SQLAlchemyError as exc:
        raise _registry_error(settings.db, exc) from exc
    try:
        run_server(settings, model, registry)
    finally:
        registry.close()


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


if TYPE_CHECKING:
    from disambig.client import Client


def _connection_options(func: F) -> F:
    """Options of commands that call a server: bearer token and TLS."""
    pem = click.Path(exists=True, dir_okay=False, path_type=Path)
    options = [
        click.option(
            "--token",
            envvar="DISAMBIG_TOKEN",
            show_envvar=True,
            help="Bearer token (prefer the variable: flags show in ps).",
        ),
        click.option("--tls", is_flag=True, help="Use TLS, trusting the system's root certificates."),
        click.option(
            "--tls-ca",
            type=pem,
            envvar="DISAMBIG_CLIENT_TLS_CA",
            show_envvar=True,
            help="Use TLS, trusting this CA (PEM).",
        ),
        click.option(
            "--tls-cert",
            type=pem,
            envvar="DISAMBIG_CLIENT_TLS_CERT",
            show_envvar=True,
            help="Client certificate (mutual TLS).",
        ),
        click.option(
            "--tls-key", type=pem, envvar="DISAMBIG_CLIENT_TLS_KEY", show_envvar=True, help="Client certificate's key."
        ),
        click.option(
            "--tls-server-name",
            envvar="DISAMBIG_CLIENT_TLS_SERVER_NAME",
            show_envvar=True,
            help="Name the server certificate must carry, if not the target's host.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _connect(target: str, connection: dict[str, Any], timeout: float = 60.0) -> Client:
    """A disambig.client.Client for target with the options of _connection_options."""
    from disambig.client import Client

    if (connection.get("tls_cert") is None) != (connection.get("tls_key") is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    return Client(target, timeout, **connection)


@main.group()
def client() -> None:
    """Talk to a running disambig server."""


@client.command("resolve")
@click.argument("mentions", type=str)
@click.option("--target", required=True, help="Server address, HOST:PORT.")
@click.option("-o", "--output", default="-", show_default=True, help="Output JSONL ('-' = stdout).")
@_connection_options
@_fail_cleanly
def client_resolve(mentions: str, target: str, output: str, **connection: Any) -> None:
    """Stream the mentions of MENTIONS (JSONL) through the server's ResolveStream."""
    import grpc

    from disambig.readers import read_mentions

    records = read_mentions(mentions)
    try:
        with _connect(target, connection) as remote, atomic_output(output) as handle:
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


if TYPE_CHECKING:
    from disambig.registry import Registry


def _existing_registry(db_url: str) -> Registry:
    """A registry that must already exist (a SQLite file is not created by reading it)."""
    from sqlalchemy.engine import make_url

    from disambig.registry import Registry

    url = make_url(db_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).exists():
        raise InputFileError(db_url, "no registry there")
    registry = Registry(db_url)
    registry.migrate()
    return registry


@contextmanager
def _export_output(output: str) -> Iterator[IO[bytes]]:
    """A regular file is written atomically; a device or pipe (/dev/null, a FIFO) is written
    in place, never renamed over."""
    if output != "-" and Path(output).exists() and not Path(output).is_file():
        with open(output, "wb") as handle:
            yield handle
        return
    with atomic_output(output) as handle:
        yield handle


@main.command("export")
@click.option("--db", "db_url", default="sqlite:///./disambig.db", show_default=True, help="Registry URL.")
@click.option("--format", "fmt", type=click.Choice(("jsonl", "csv")), default="jsonl", show_default=True)
@click.option(
    "--since-seq",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Only identities changed after this change-feed seq (0 = every identity).",
)
@click.option("-o", "--output", default="-", show_default=True, help="Output file ('-' = stdout).")
@click.option(
    "--with-mentions", is_flag=True, help="Add each mention's stored record (JSONL only): what `db load` reads."
)
@_fail_cleanly
def export_identities(db_url: str, fmt: str, since_seq: int, output: str, with_mentions: bool) -> None:
    """Write every identity ever issued (merged ones with where they redirect), streamed.

    Each identity: id, status, resolved_id, merged_into / split_from lineage, display name, name
    variants, ORCID, mention ids and work ids. The file appears only when complete.
    """
    from disambig.registry.export import iter_identities, write_identities

    if with_mentions and fmt != "jsonl":
        raise click.UsageError("--with-mentions needs --format jsonl")
    registry = _existing_registry(db_url)
    try:
        with _export_output(output) as handle:
            count = write_identities(iter_identities(registry, since_seq, with_mentions), fmt, handle)
    finally:
        registry.close()
    _echo_err(f"{count} identities exported" + (f" (changed after seq {since_seq})" if since_seq else ""))


@main.group()
def db() -> None:
    """Registry maintenance."""


@db.command("load")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db_url", default="sqlite:///./disambig.db", show_default=True, help="Registry URL (empty).")
@_fail_cleanly
def db_load(export_file: Path, db_url: str) -> None:
    """Load EXPORT_FILE (`disambig export --with-mentions`) into an empty registry: same ids,
    mentions and lineage. Curation constraints are not part of an export."""
    from disambig.registry import Registry
    from disambig.registry.load import load_export

    registry = Registry(db_url)
    try:
        registry.migrate()
        report = load_export(registry, export_file)
    finally:
        registry.close()
    _echo_err(
        f"{report.identities} identities ({report.merged} merged, {report.split} split off), "
        f"{report.mentions} mentions loaded"
    )


@main.command()
@click.option("--target", required=True, help="Server address, HOST:PORT.")
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, help="Print changes after this seq.")
@click.option("--follow", is_flag=True, help="Then follow new changes live (WatchChanges) until Ctrl-C.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Stop after this many changes (0 = no limit).")
@_fail_cleanly
def changes(target: str, since: int, follow: bool, limit: int) -> None:
    """Print the change feed as JSONL, one change a line, in seq order.

    Restart with --since set to the last seq printed: nothing is missed and nothing repeated.
    """
    import grpc

    from disambig.client import Client

    out = sys.stdout.buffer
    printed = 0
    with Client(target) as remote:
        watch = remote.watch_changes(since) if follow else None
        feed = iter(watch) if watch is not None else remote.changes(since)
        try:
            for change in feed:
                line = {
                    "seq": change.seq,
                    "kind": change.kind,
                    "identity_id": change.identity_id,
                    "other_identity_id": change.other_identity_id,
                    "mention_id": change.mention_id,
                    "detail": dict(change.detail),
                }
                out.write(orjson.dumps(line) + b"\n")
                out.flush()
                printed += 1
                if limit and printed >= limit:
                    break
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except grpc.RpcError as exc:
            click.echo(f"disambig: error: {target}: {exc.code().name}: {exc.details()}", err=True)
            sys.exit(EXIT_BAD_INPUT if exc.code() == grpc.StatusCode.INVALID_ARGUMENT else EXIT_FAILURE)
        finally:
            if watch is not None:
                watch.cancel()


@main.command("config")
@_settings_options
@_fail_cleanly
def show_config(config: Path | None, **flags: Any) -> None:
    """Check and print the effective server configuration as TOML, secrets masked.

    Takes the same flags, variables and --config file as `disambig serve`; each line says where
    its value came from. Exit code 2 names the first bad setting.
    """
    from disambig.settings import check, render, resolve_settings

    settings, sources = resolve_settings(flags, config=config)
    check(settings, sources)
    click.echo(render(settings, sources), nl=False)


@main.command()
@click.option("--target", help="Server address [default: 127.0.0.1:$DISAMBIG_PORT, else 127.0.0.1:50051].")
@click.option("--service", default="", help="Service to ask about ('' = the whole server).")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait for the answer.")
@_connection_options
@_fail_cleanly
def health(target: str | None, service: str, timeout: float, **connection: Any) -> None:
    """Ask a server's gRPC health service; exit 0 if SERVING, else 1 (a container health probe)."""
    import grpc

    from disambig.settings import resolve_settings

    if target is None:
        target = f"127.0.0.1:{resolve_settings()[0].port}"
    try:
        with _connect(target, connection, timeout) as remote:
            status = remote.health(service)
    except grpc.RpcError as exc:
        click.echo(f"{target}: {exc.code().name}: {exc.details()}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(f"{target}: {status}")
    if status != "SERVING":
        sys.exit(EXIT_FAILURE)


def _registry_url(db_url: str | None) -> str:
    """--db, else $DISAMBIG_DB, else the config file's db, else the default."""
    from disambig.settings import resolve_settings

    return resolve_settings({"db": db_url})[0].db


@db.command("migrate")
@click.option("--db", "db_url", help="Registry URL [default: $DISAMBIG_DB, else sqlite:///./disambig.db].")
@_fail_cleanly
def db_migrate(db_url: str | None) -> None:
    """Bring the registry's schema to the newest revision (serve does it too, on every start)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.registry import Registry
    from disambig.settings import mask_url

    url = _registry_url(db_url)
    registry = Registry(url)

    def revision() -> str:
        with registry.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or "none"

    try:
        before = revision()
        registry.migrate()
        after = revision()
    except SQLAlchemyError as exc:
        raise _registry_error(url, exc) from exc
    finally:
        registry.close()
    change = f"already at revision {after}" if before == after else f"migrated from revision {before} to {after}"
    _echo_err(f"registry {mask_url(url)}: {change}")


@db.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", "db_url", help="Registry URL [default: $DISAMBIG_DB, else sqlite:///./disambig.db].")
@_fail_cleanly
def db_backup(destination: Path, db_url: str | None) -> None:
    """Copy a SQLite registry to DESTINATION consistently, while a server may be using it.

    A PostgreSQL registry is backed up with pg_dump: the command says how, and exits with 2.
    """
    from disambig.registry.backup import backup

    report = backup(_registry_url(db_url), destination)
    _echo_err(f"{report.source} backed up to {report.destination} ({report.pages} pages, {report.bytes:,} bytes)")


@db.command("check")
@click.option("--db", "db_url", help="Registry URL [default: $DISAMBIG_DB, else sqlite:///./disambig.db].")
@_fail_cleanly
def db_check(db_url: str | None) -> None:
    """Check a registry's integrity (no row is changed): exit 0 if it holds together, 1 listing the problems.

    Mentions belong to existing, active identities; merge chains end in an active identity with
    no cycle; active identities have mentions; constraints name stored mentions; the change feed
    is gap-free; on SQLite also PRAGMA integrity_check and foreign_key_check.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.registry import Registry
    from disambig.registry.integrity import check_registry
    from disambig.settings import mask_url

    url = _registry_url(db_url)
    database = make_url(url).database or ""
    if (
        make_url(url).get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not Path(database).exists()
    ):
        raise InputFileError(url, "no registry there")
    registry = Registry(url)
    try:
        report = check_registry(registry)
    except SQLAlchemyError as exc:
        raise _registry_error(url, exc) from exc
    finally:
        registry.close()
    click.echo(f"registry {mask_url(url)}: {report.summary()}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    if not report.ok:
        click.echo(f"{len(report.problems)} problem{'s' if len(report.problems) > 1 else ''} found")
        sys.exit(EXIT_FAILURE)
    click.echo("ok")


@main.group("model")
def model_group() -> None:
    """Inspect models."""


@model_group.command("info")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    help="Model directory (default: $DISAMBIG_MODEL, else the shipped model).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_fail_cleanly
def model_info(model_path: Path | None, as_json: bool) -> None:
    """Print a model's card: version, thresholds, features, training data, development figures."""
    from disambig.features import FEATURES
    from disambig.model import default_model_path, load_model, render_card

    path = model_path or default_model_path()
    model = load_model(path)
    if as_json:
        info = {
            "path": str(path),
            "version": model.version,
            "threshold": model.threshold,
            "merge_stage": model.merger is not None,
            "merge_threshold": model.merge_threshold,
            "features": [{"name": f.name, "description": f.description} for f in FEATURES],
            "card": model.card,
        }
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"path: {path}\n")
    click.echo(render_card(model), nl=False)


if __name__ == "__main__":
    main()
