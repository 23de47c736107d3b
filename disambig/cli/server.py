"""`disambig serve`, `disambig recluster` and `disambig config`: running the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from disambig.cli.app import db_option, fail_cleanly, main, registry_error, registry_url, settings_options


@main.command()
@settings_options
@fail_cleanly
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
    registry = Registry(settings.db)
    try:
        registry.migrate()
    except SQLAlchemyError as exc:
        raise registry_error(settings.db, exc) from exc
    if settings.processes > 1:
        registry.close()  # each server process opens its own
        from disambig.service.processes import serve_processes

        code = serve_processes(settings)
        if code:
            raise SystemExit(code)
        return
    try:
        run_server(settings, load_model(settings.model), registry)
    finally:
        registry.close()


@main.command()
@db_option()
@click.option("--block", "blocks", multiple=True, help="Name block key(s) to re-cluster (default: all).")
@click.option("--model", "model_path", type=click.Path(path_type=Path), help="Model directory (default: shipped).")
@click.option(
    "--rekey",
    is_flag=True,
    help="First move mentions to the name blocks this version reads their names into (see `db check`).",
)
@fail_cleanly
def recluster(db_url: str | None, blocks: tuple[str, ...], model_path: Path | None, rekey: bool) -> None:
    """Re-cluster stored mentions with the current model; identity ids stay stable."""
    from disambig.model import load_model
    from disambig.reclustering import recluster as run
    from disambig.registry import Registry

    registry = Registry(registry_url(db_url))
    registry.migrate()
    report = run(load_model(model_path), registry, list(blocks) or None, rekey=rekey)
    rekeyed = f"{report.mentions_rekeyed} mentions moved to another block; " if rekey else ""
    click.echo(
        f"{rekeyed}{report.blocks} blocks, {report.mentions} mentions: {report.mentions_moved} moved, "
        f"{report.ids_kept} ids kept, {report.ids_created} ids created"
    )


@main.command("config")
@settings_options
@fail_cleanly
def show_config(config: Path | None, **flags: Any) -> None:
    """Check and print the effective server configuration as TOML, secrets masked.

    Takes the same flags, variables and --config file as `disambig serve`; each line says where
    its value came from. Exit code 2 names the first bad setting.
    """
    from disambig.settings import check, render, resolve_settings

    settings, sources = resolve_settings(flags, config=config)
    check(settings, sources)
    click.echo(render(settings, sources), nl=False)
