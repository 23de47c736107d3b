"""The `disambig` command group and what every command shares: clean failures (exit code 2 for bad
input, 1 for a failed service, a one-line message naming the file and line) and atomic output
(written to a temporary file and renamed into place, so a failed run never leaves half a result)."""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from disambig.errors import DisambigError, ServiceError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def fail_cleanly(func: F) -> F:
    """Turn DisambigError into a one-line message: exit code 2 for bad input, 1 for a failed service."""

    # functools.wraps also carries the click parameters already declared on func.
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DisambigError as exc:
            click.echo(f"disambig: error: {exc}", err=True)
            sys.exit(EXIT_FAILURE if isinstance(exc, ServiceError) else EXIT_BAD_INPUT)

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


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def settings_options(func: F) -> F:
    """--config and one option per server setting (disambig.settings)."""
    from disambig.settings import click_options

    return click_options(func)


def registry_error(url: str, exc: Exception) -> ServiceError:
    from disambig.settings import mask_url

    reason = getattr(exc, "orig", None) or exc
    return ServiceError(f"registry {mask_url(url)}: {type(reason).__name__}: {reason}".splitlines()[0])


def registry_url(db_url: str | None) -> str:
    """--db, else $DISAMBIG_DB, else the config file's db, else the default."""
    from disambig.settings import resolve_settings

    return resolve_settings({"db": db_url})[0].db
