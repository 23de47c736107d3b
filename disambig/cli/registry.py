"""`disambig export` and `disambig db ...`: the identity registry as files and as a database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from disambig.cli.app import (
    EXIT_FAILURE,
    atomic_output,
    db_option,
    echo_err,
    existing_registry,
    fail_cleanly,
    main,
    output_option,
    registry_error,
    registry_url,
)


@main.command("export")
@db_option()
@click.option("--format", "fmt", type=click.Choice(("jsonl", "csv")), default="jsonl", show_default=True)
@click.option(
    "--since-seq",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Only identities changed after this change-feed seq (0 = every identity).",
)
@click.option(
    "-o", "--output", default="-", show_default=True, callback=output_option, help="Output file ('-' = stdout)."
)
@click.option(
    "--with-mentions", is_flag=True, help="Add each mention's stored record (JSONL only): what `db load` reads."
)
@fail_cleanly
def export_identities(db_url: str | None, fmt: str, since_seq: int, output: str, with_mentions: bool) -> None:
    """Write every identity ever issued (merged ones with where they redirect), streamed.

    Each identity: id, status, resolved_id, merged_into / split_from lineage, display name, name
    variants, ORCID, mention ids and work ids. The file appears only when complete.
    """
    from disambig.registry.export import iter_identities, write_identities

    if with_mentions and fmt != "jsonl":
        raise click.UsageError("--with-mentions needs --format jsonl")
    registry = existing_registry(registry_url(db_url))
    try:
        with atomic_output(output) as handle:
            count = write_identities(iter_identities(registry, since_seq, with_mentions), fmt, handle)
    finally:
        registry.close()
    echo_err(f"{count} identities exported" + (f" (changed after seq {since_seq})" if since_seq else ""))


@main.group()
def db() -> None:
    """Registry maintenance."""


@db.command("load")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option("Registry URL (empty; made if missing)")
@fail_cleanly
def db_load(export_file: Path, db_url: str | None) -> None:
    """Load EXPORT_FILE (`disambig export --with-mentions`) into an empty registry: same ids,
    mentions and lineage. Curation constraints are not part of an export."""
    from disambig.registry import Registry
    from disambig.registry.load import load_export

    registry = Registry(registry_url(db_url))
    try:
        registry.migrate()
        report = load_export(registry, export_file)
    finally:
        registry.close()
    echo_err(
        f"{report.identities} identities ({report.merged} merged, {report.split} split off), "
        f"{report.mentions} mentions loaded"
    )


@db.command("migrate")
@db_option()
@fail_cleanly
def db_migrate(db_url: str | None) -> None:
    """Bring the registry's schema to the newest revision (serve does it too, on every start)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.registry import Registry
    from disambig.settings import mask_url

    url = registry_url(db_url)
    registry = Registry(url)

    def revision() -> str:
        with registry.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or "none"

    try:
        before = revision()
        registry.migrate()
        after = revision()
    except SQLAlchemyError as exc:
        raise registry_error(url, exc) from exc
    finally:
        registry.close()
    change = f"already at revision {after}" if before == after else f"migrated from revision {before} to {after}"
    echo_err(f"registry {mask_url(url)}: {change}")


@db.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@fail_cleanly
def db_backup(destination: Path, db_url: str | None) -> None:
    """Copy a SQLite registry to DESTINATION consistently, while a server may be using it.

    A PostgreSQL registry is backed up with pg_dump: the command says how, and exits with 2.
    """
    from disambig.registry.backup import backup

    report = backup(registry_url(db_url), destination)
    echo_err(f"{report.source} backed up to {report.destination} ({report.pages} pages, {report.bytes:,} bytes)")


@db.command("check")
@db_option()
@fail_cleanly
def db_check(db_url: str | None) -> None:
    """Check a registry's integrity (no row is changed): exit 0 if it holds together, 1 listing the problems.

    Mentions belong to existing, active identities; merge chains end in an active identity with
    no cycle; active identities have mentions; constraints name stored mentions; the change feed
    is gap-free; on SQLite also PRAGMA integrity_check and foreign_key_check.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.registry.integrity import check_registry
    from disambig.settings import mask_url

    url = registry_url(db_url)
    registry = existing_registry(url, migrate=False)
    try:
        report = check_registry(registry)
    except SQLAlchemyError as exc:
        raise registry_error(url, exc) from exc
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
