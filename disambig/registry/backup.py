"""Online backup of a registry.

SQLite: sqlite3's backup API copies a consistent snapshot page by page while the server keeps
serving (WAL readers and writers are not blocked; a write landing mid-copy restarts the copy).
The copy is written beside the target and renamed into place, switched to a rollback journal so
it is one self-contained file, and checked with PRAGMA quick_check.

PostgreSQL: the tool for that is pg_dump; `pg_dump_command` says how to call it.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from disambig.errors import DisambigError


class BackupError(DisambigError):
    """The registry cannot be backed up as asked; the message says what to do instead."""


@dataclass(frozen=True)
class BackupReport:
    source: Path
    destination: Path
    pages: int
    bytes: int


def sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite URL; None for other databases."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BackupError(f"{url!r} is not a database URL") from None
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite registry has nothing on disk to back up")
    return Path(parsed.database)


def pg_dump_command(url: str, destination: Path | str) -> str:
    """The pg_dump call that backs up a PostgreSQL registry (password left out: use PGPASSWORD
    or ~/.pgpass)."""
    given = make_url(url)
    # URL.set(password=None) keeps the password: build the URL anew without it.
    bare = URL.create(
        "postgresql", username=given.username, host=given.host, port=given.port, database=given.database
    ).update_query_dict(dict(given.query))
    dsn = bare.render_as_string(hide_password=False)
    return f"pg_dump --format=custom --no-owner --file {shlex.quote(str(destination))} {shlex.quote(dsn)}"


def backup_sqlite(source: Path, destination: Path, pages_per_step: int = 1024) -> BackupReport:
    """Copy the SQLite database at source to destination, consistently, while it is in use."""
    if not source.is_file():
        raise BackupError(f"{source}: no such registry file")
    if destination.resolve() == source.resolve():
        raise BackupError(f"{destination}: the backup would overwrite the registry itself")
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        src = sqlite3.connect(source, timeout=30)  # only read; a WAL reader needs the -shm file writable
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=pages_per_step)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
                (status,) = dst.execute("PRAGMA quick_check").fetchone()
                if status != "ok":
                    raise BackupError(f"{destination}: the copy fails its integrity check ({status})")
                (pages,) = dst.execute("PRAGMA page_count").fetchone()
            finally:
                dst.close()
        finally:
            src.close()
        os.replace(tmp, destination)
    except sqlite3.Error as exc:
        raise BackupError(f"{source}: backup failed ({exc})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return BackupReport(source, destination, int(pages), destination.stat().st_size)


def backup(url: str, destination: Path) -> BackupReport:
    """Back up the registry at url to destination (SQLite only; PostgreSQL: see pg_dump_command)."""
    path = sqlite_path(url)
    if path is None:
        raise BackupError(
            "a PostgreSQL registry is backed up with pg_dump, consistently while disambig runs:\n  "
            + pg_dump_command(url, destination)
            + "\n(restore into an empty database with pg_restore --no-owner -d URL FILE)"
        )
    return backup_sqlite(path, destination)
