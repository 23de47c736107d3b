"""The `disambig` command group and what every command shares: clean failures (exit code 2 for bad
input, 1 for a failed service, a one-line message naming the file and line) and atomic output
(written to a temporary file and renamed into place, so a failed run never leaves half a result)."""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from disambig.errors import DisambigError, InputFileError, OutputError, ServiceError

if TYPE_CHECKING:
    from disambig.registry import Registry

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def fail_cleanly(func: F) -> F:
    """Turn DisambigError into a one-line message: exit code 2 for bad input, 1 for a failed
    service or an output that could not be written."""

    # functools.wraps also carries the click parameters already declared on func.
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except DisambigError as exc:
            click.echo(f"disambig: error: {exc}", err=True)
            sys.exit(EXIT_FAILURE if isinstance(exc, ServiceError | OutputError) else EXIT_BAD_INPUT)

    return wrapper  # type: ignore[return-value]


def output_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Callback of -o/--output: '-' (stdout) or a file that can be written where it is asked,
    refused before any work rather than after it (a directory, a path under a file, a read-only
    file, a folder this user cannot write in). A missing folder is made when the output is written."""
    if value == "-":
        return value
    if not value:
        raise click.BadParameter("is empty: give a file, or '-' for stdout")
    if value.endswith(("/", os.sep)):
        raise click.BadParameter(f"{value} names a directory")
    try:
        _check_output(Path(value))
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise click.BadParameter(f"cannot write {value}: {exc.strerror or exc}") from exc
    return value


def _check_output(given: Path) -> None:
    if given.is_dir():
        raise click.BadParameter(f"{given} is a directory")
    if given.exists() and not os.access(given, os.W_OK):
        raise click.BadParameter(f"cannot write {given}")
    target = _destination(given)
    if target is None:
        return
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.BadParameter(f"cannot write in {folder}")


def _destination(given: Path) -> Path | None:
    """The file the output replaces, through symbolic links (a link to a file elsewhere stays a
    link); None where it is written in place, appended to, not renamed over: a device or a pipe
    (/dev/null, <(...)), or a descriptor the shell opened (/dev/stdout, /dev/fd/N: renaming over
    what it resolves to would undo a `>> log`)."""
    if str(given) in ("/dev/stdout", "/dev/stderr") or str(given).startswith(("/dev/fd/", "/proc/")):
        return None
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    return None if target.exists() and not target.is_file() else target


@contextmanager
def _writing(path: str) -> Iterator[None]:
    """An OSError of the output's own file operations is an OutputError naming it, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


class _OutputFile(io.BufferedWriter):
    """A failed write (a full disk) is an OutputError."""

    def __init__(self, raw: io.FileIO, path: str) -> None:
        super().__init__(raw)
        self.path = path

    def write(self, data: Any) -> int:
        with _writing(self.path):
            return super().write(data)

    def flush(self) -> None:
        with _writing(self.path):
            super().flush()


@contextmanager
def atomic_output(path: str) -> Iterator[IO[bytes]]:
    """A binary handle whose content appears at `path` only if the block finishes."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    given = Path(path)
    with _writing(path):  # what output_option could not foresee: a race, a read-only mount
        target = _destination(given)
        if target is None:
            raw = io.FileIO(given, "ab")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Short: the target's own name may be as long as a name can be.
            tmp = target.parent / f".disambig-{uuid.uuid4().hex[:12]}.tmp"
            # As any new file is made (the umask applies), not mkstemp's private 0600; a file
            # replaced keeps its mode.
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o666
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            if target.exists():
                os.fchmod(fd, mode)
            raw = io.FileIO(fd, "wb")
    if target is None:
        with _OutputFile(raw, path) as handle:
            yield handle
        return
    try:
        with _OutputFile(raw, path) as handle:
            yield handle
        with _writing(path):
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


def db_option(what: str = "Registry URL") -> Callable[[F], F]:
    """--db of every command with a registry, read with registry_url: `what` begins its help,
    the default chain ends it."""
    return click.option(
        "--db",
        "db_url",
        help=f"{what} [default: $DISAMBIG_DB, else db in the $DISAMBIG_CONFIG file, else sqlite:///./disambig.db].",
    )


def existing_registry(db_url: str, *, migrate: bool = True) -> Registry:
    """The registry at db_url, which must exist: a SQLite file is not created by reading it
    (exit code 2: 'no registry there'). migrate: bring its schema to the newest revision first
    (a file that is no database, a server that refuses: exit code 1, one line)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from disambig.registry import Registry

    url = make_url(db_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).exists():
        raise InputFileError(db_url, "no registry there")
    registry = Registry(db_url)
    if migrate:
        try:
            registry.migrate()
        except BaseException as exc:
            registry.close()
            if isinstance(exc, SQLAlchemyError):  # not a database, a server that refuses
                raise registry_error(db_url, exc) from exc
            raise
    return registry
