"""`disambig serve`, `disambig recluster` and `disambig config`: running the service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from disambig.cli.app import (
    db_option,
    echo_err,
    existing_registry,
    fail_cleanly,
    main,
    registry_error,
    registry_url,
    settings_options,
)
from disambig.errors import InputFileError


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
    """Re-cluster stored mentions with the current model; identity ids stay stable.

    A --block the registry does not hold is named on stderr; if it holds none of them, the
    command exits with code 2 (with --rekey, after the mentions are moved: they may fill it).
    """
    from disambig.model import load_model
    from disambig.reclustering import recluster as run

    url = registry_url(db_url)
    registry = existing_registry(url)
    try:
        if blocks and not rekey:
            _refuse_missing_blocks(url, blocks, registry.block_keys())
        report = run(load_model(model_path), registry, list(blocks) or None, rekey=rekey)
        rekeyed = f"{report.mentions_rekeyed} mentions moved to another block; " if rekey else ""
        click.echo(
            f"{rekeyed}{report.blocks} blocks, {report.mentions} mentions: {report.mentions_moved} moved, "
            f"{report.ids_kept} ids kept, {report.ids_created} ids created"
        )
        if blocks and rekey:
            _refuse_missing_blocks(url, blocks, registry.block_keys())
    finally:
        registry.close()


def _refuse_missing_blocks(url: str, blocks: tuple[str, ...], held: list[str]) -> None:
    """Name on stderr each of `blocks` not among the blocks `held`; none held is an input error."""
    from disambig.settings import mask_url

    known = set(held)
    missing = [block for block in dict.fromkeys(blocks) if block not in known]
    if len(missing) == len(set(blocks)):
        raise InputFileError(mask_url(url), f"no name block {', '.join(map(repr, missing))} there")
    for block in missing:
        echo_err(f"disambig: warning: {mask_url(url)}: no name block {block!r} there")


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
