"""`disambig cluster` and `disambig resolve`: listings in, one identity per mention out."""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from disambig.cli.app import F, atomic_output, db_option, echo_err, fail_cleanly, main, output_option, registry_url
from disambig.cli.connection import CONNECTION_PARAMETERS, connect, connection_options, reporting_call_errors
from disambig.errors import InputFileError

if TYPE_CHECKING:
    from disambig.batch.listing import Listing
    from disambig.batch.resumable import ResolveChunks
    from disambig.client import Client
    from disambig.engine import Assignment
    from disambig.mention import Mention
    from disambig.resolving import Resolution


# `disambig cluster` keeps up to this many mentions in one table in memory (Engine); a larger
# listing streams through shards on disk (StreamingEngine), in bounded memory, with the same output.
ONE_TABLE_MENTIONS = 20_000


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


@main.command()
@click.argument("mentions", type=str)
@click.option(
    "-o", "--output", default="-", show_default=True, callback=output_option, help="Output file ('-' = stdout)."
)
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
@fail_cleanly
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
            report_problems(listing.report, on_error, echo_err)
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
        echo_err(summary.render())


def _chunk_resolver(
    stack: contextlib.ExitStack[Any], remote: Client | None, db_url: str, model_path: Path | None
) -> ResolveChunks:
    """Where chunks of a listing get resolved: a server's ResolveStream, or the registry in-process."""
    if remote is not None:
        return remote.resolve_chunks
    from disambig.model import load_model
    from disambig.registry import Registry
    from disambig.resolving import Resolver

    registry = Registry(db_url)
    stack.callback(registry.close)
    registry.migrate()
    resolver = Resolver(load_model(model_path), registry)

    def resolve_locally(chunks: Iterator[list[Mention]]) -> Iterator[list[Resolution]]:
        return (resolver.resolve(chunk) for chunk in chunks)

    return resolve_locally  # registry errors carry their own messages


def _first_pass(listing: Listing, listing_path: str, on_error: str, nothing: str) -> Iterable[Mention]:
    """The mentions to resolve. With --on-error fail, a first pass finds malformed entries before
    anything is stored; stdin can be read only once, so its mentions are kept from that pass."""
    from disambig.batch.problems import report_problems

    if on_error != "fail":
        return listing
    source: Iterable[Mention] = listing
    if listing_path == "-":
        source = list(listing)
    else:
        for _ in listing:
            pass
    report_problems(listing.report, on_error, echo_err)
    if not listing.report.mentions:
        raise InputFileError(listing_path, nothing)
    return source


def _given(names: Iterable[str]) -> list[str]:
    """The options among `names` given on the command line (not from a variable or a default)."""
    ctx = click.get_current_context()
    given = [name for name in names if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    return [f"--{name.replace('_', '-')}" for name in given]


def _drop_empty_checkpoint(partial: Path, fmt: str) -> None:
    """Remove OUTPUT.partial if it holds no result, only what its writer puts before the first
    (a CSV header): a failed run that resolved nothing leaves no file. With results it is the
    checkpoint the next run goes on from, and stays."""
    from disambig.batch.output import make_writer

    empty = io.BytesIO()
    make_writer(fmt, empty)
    with contextlib.suppress(FileNotFoundError):
        if partial.read_bytes() in (b"", empty.getvalue()):
            partial.unlink()


@main.command()
@click.argument("listing_path", metavar="LISTING", type=str)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output file (not '-')."
)
@db_option("Registry URL, without --target")
@click.option("--target", help="Resolve through a server's ResolveStream at HOST:PORT instead of --db.")
@connection_options
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@_input_options
@fail_cleanly
def resolve(
    listing_path: str,
    output: Path,
    db_url: str | None,
    target: str | None,
    model_path: Path | None,
    fmt: str | None,
    only: str | None,
    on_error: str,
    output_format: str,
    quiet: bool,
    **connection: Any,
) -> None:
    """Resolve every mention of LISTING against the identity registry, resumably.

    Killed at any moment and run again with the same arguments, it goes on where it stopped
    (from OUTPUT.partial) and stores nothing twice.

    With --target the mentions go to a server instead, reached with --token and the --tls
    options (or their variables), as `disambig client` reaches it.
    """
    from disambig.batch.listing import Listing
    from disambig.batch.problems import report_problems
    from disambig.batch.progress import progress_bar
    from disambig.batch.resumable import ResumableRun
    from disambig.batch.summary import Summary

    if str(output) == "-":
        raise click.UsageError("-o needs an output file: its checkpoint, OUTPUT.partial, is kept beside it")
    if target and _given(["db_url"]):
        raise click.UsageError("--db and --target are alternatives: the server has its own registry")
    if not target and (misplaced := _given(CONNECTION_PARAMETERS)):
        raise click.UsageError(f"{', '.join(misplaced)} go{'es' if len(misplaced) == 1 else ''} with --target")
    url = "" if target else registry_url(db_url)  # a server has its own: no registry setting is read
    listing = Listing(listing_path, fmt, only)
    nothing = f"no mentions to resolve{f' matching {only!r}' if only else ''}"
    run = ResumableRun(output, output_format)
    summary = Summary()
    with contextlib.ExitStack() as stack:
        remote = None
        if target:
            stack.enter_context(reporting_call_errors(target))
            # Before the listing is read, so that bad TLS options are refused before any work.
            remote = stack.enter_context(connect(target, connection))
        source = _first_pass(listing, listing_path, on_error, nothing)
        resolve_chunks = _chunk_resolver(stack, remote, url, model_path)
        bar = stack.enter_context(progress_bar("resolving"))

        def on_result(mention: Mention, identity_id: str, _confidence: float) -> None:
            summary.add(mention, identity_id)
            bar.update(1)

        try:
            count = run.run(source, resolve_chunks, on_result)
        except BaseException:
            _drop_empty_checkpoint(run.partial, output_format)
            raise
    if on_error == "skip":
        report_problems(listing.report, on_error, echo_err)
    if not count:
        output.unlink(missing_ok=True)  # a failed run leaves no output (here at most a CSV header)
        raise InputFileError(listing_path, nothing)
    if not quiet:
        resumed = f" ({run.resumed} taken over from an interrupted run)" if run.resumed else ""
        echo_err(f"{count} mentions resolved{resumed}\n{summary.render()}")
