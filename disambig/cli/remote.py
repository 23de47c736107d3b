"""Commands that call a running server: `disambig client ...` (resolve, identity, mentions,
search, merge, split), `changes` and `health`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import click
import orjson

from disambig.cli.app import EXIT_FAILURE, F, atomic_output, fail_cleanly, main, output_option
from disambig.cli.connection import connect, connection_options, reporting_call_errors

if TYPE_CHECKING:
    from google.protobuf.message import Message


def _as_dict(message: Message) -> dict[str, Any]:
    """A message as proto3 JSON maps it (field names as in the proto; int64 as strings)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _json_line(message: Message) -> str:
    return orjson.dumps(_as_dict(message)).decode()


@main.group()
def client() -> None:
    """Talk to a running disambig server."""


def _client_command(name: str) -> Callable[[F], F]:
    """`disambig client NAME`, with --target and the connection options; its own arguments and
    options are declared below this decorator."""

    def decorate(func: F) -> F:
        func = connection_options(fail_cleanly(func))
        func = click.option("--target", required=True, help="Server address, HOST:PORT.")(func)
        return cast(F, client.command(name)(func))

    return decorate


@_client_command("resolve")
@click.argument("mentions", type=str)
@click.option(
    "-o", "--output", default="-", show_default=True, callback=output_option, help="Output JSONL ('-' = stdout)."
)
def client_resolve(mentions: str, target: str, output: str, **connection: Any) -> None:
    """Stream the mentions of MENTIONS (JSONL) through the server's ResolveStream."""
    from disambig.readers import read_mentions

    records = read_mentions(mentions)
    with (
        reporting_call_errors(target),
        connect(target, connection) as remote,
        atomic_output(output) as handle,
    ):
        for r in remote.resolve_stream(records):
            line = {
                "mention_id": r.mention_id,
                "identity_id": r.identity_id,
                "confidence": r.confidence,
                "created": r.created,
            }
            handle.write(orjson.dumps(line) + b"\n")


@_client_command("identity")
@click.argument("identity_id")
def client_identity(identity_id: str, target: str, **connection: Any) -> None:
    """Print the identity IDENTITY_ID belongs to now, as JSON (merged ids: the survivor)."""
    with reporting_call_errors(target), connect(target, connection) as remote:
        click.echo(_json_line(remote.get_identity(identity_id)))


@_client_command("mentions")
@click.argument("identity_id")
def client_mentions(identity_id: str, target: str, **connection: Any) -> None:
    """Print every mention of IDENTITY_ID as JSONL, in mention id order."""
    with reporting_call_errors(target), connect(target, connection) as remote:
        for mention in remote.identity_mentions(identity_id):
            click.echo(orjson.dumps(mention.to_dict()).decode())


@_client_command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="Identities to print.")
def client_search(query: str, target: str, limit: int, **connection: Any) -> None:
    """Print the identities a name QUERY may mean, best first: one JSON line each, with its score."""
    with reporting_call_errors(target), connect(target, connection) as remote:
        for identity, score in remote.search(query, limit=limit):
            click.echo(orjson.dumps({"score": score, "identity": _as_dict(identity)}).decode())


@_client_command("merge")
@click.argument("identity_ids", nargs=-1, required=True)
@click.option("--reason", default="", help="Who asks and why, kept in the audit trail.")
def client_merge(identity_ids: tuple[str, ...], target: str, reason: str, **connection: Any) -> None:
    """Merge IDENTITY_IDS into one identity (kept by every later resolution); print the survivor."""
    with reporting_call_errors(target), connect(target, connection) as remote:
        click.echo(_json_line(remote.merge(identity_ids, reason)))


@_client_command("split")
@click.argument("identity_id")
@click.argument("mention_ids", nargs=-1, required=True)
@click.option("--reason", default="", help="Who asks and why, kept in the audit trail.")
def client_split(identity_id: str, mention_ids: tuple[str, ...], target: str, reason: str, **connection: Any) -> None:
    """Move MENTION_IDS of IDENTITY_ID to a new identity (kept apart from then on); print both."""
    with reporting_call_errors(target), connect(target, connection) as remote:
        remaining, split_off = remote.split(identity_id, mention_ids, reason)
        click.echo(_json_line(remaining))
        click.echo(_json_line(split_off))


@main.command()
@click.option("--target", required=True, help="Server address, HOST:PORT.")
@click.option("--since", type=click.IntRange(min=0), default=0, show_default=True, help="Print changes after this seq.")
@click.option("--follow", is_flag=True, help="Then follow new changes live (WatchChanges) until Ctrl-C.")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="Stop after this many changes (0 = no limit).")
@connection_options
@fail_cleanly
def changes(target: str, since: int, follow: bool, limit: int, **connection: Any) -> None:
    """Print the change feed as JSONL, one change a line, in seq order.

    Restart with --since set to the last seq printed: nothing is missed and nothing repeated.
    """
    out = sys.stdout.buffer
    printed = 0
    with reporting_call_errors(target), connect(target, connection) as remote:
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
        finally:
            if watch is not None:
                watch.cancel()


@main.command()
@click.option("--target", help="Server address [default: 127.0.0.1:$DISAMBIG_PORT, else 127.0.0.1:50051].")
@click.option("--service", default="", help="Service to ask about ('' = the whole server).")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Seconds to wait for the answer.")
@connection_options
@fail_cleanly
def health(target: str | None, service: str, timeout: float, **connection: Any) -> None:
    """Ask a server's gRPC health service; exit 0 if SERVING, else 1 (a container health probe)."""
    import grpc

    from disambig.settings import resolve_settings

    if target is None:
        target = f"127.0.0.1:{resolve_settings()[0].port}"
    try:
        with connect(target, connection, timeout) as remote:
            status = remote.health(service)
    except grpc.RpcError as exc:
        click.echo(f"{target}: {exc.code().name}: {exc.details()}", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(f"{target}: {status}")
    if status != "SERVING":
        sys.exit(EXIT_FAILURE)
