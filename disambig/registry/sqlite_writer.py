"""One writer at a time on a SQLite registry, handed on within a millisecond.

SQLite lets one connection write at a time. A writer that finds the file locked waits in
SQLite's busy handler, which sleeps between retries: 1, 2, 5, 10, 15, 20, 25 ms and up to
100 ms. Under load that ran out ("database is locked") between the threads of one process, so
they queue on a lock of their own; and between the processes of `disambig serve --processes N`
it left one process asleep for milliseconds after the other's write of half a millisecond.

`WriterLock` queues this process's threads on a threading lock, then the processes on an
exclusive flock(2) of a file beside the database (`NAME-writer.lock`), polled every 0.1 ms at
first and every millisecond after: a waiter goes in within about that of the release. After
SQLite's own timeout (10 s) a writer stops waiting for it and meets SQLite's busy timeout, as
writers that do not take it (another program, an older disambig) always do. Where the lock file
cannot be made (a read-only folder) or flock does not exist (Windows), the processes are left to
the busy timeout.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # not on Windows: the busy timeout arbitrates between processes there
    fcntl = None  # type: ignore[assignment]


# SQLite's busy timeout on a registry's connections (Registry sets it). A writer waits as long for
# the file lock before leaving it to that timeout, which then waits as long again and fails with
# "database is locked".
BUSY_TIMEOUT_SECONDS = 10.0
# Polls of the file lock: quick at first (a resolution's write holds it for about half a
# millisecond), then every millisecond.
FIRST_POLL_SECONDS, POLL_SECONDS = 0.0001, 0.001


class WriterLock:
    """Context manager: this thread is the one writer of the database file among the threads
    and processes that take it."""

    def __init__(self, database: str | None, wait_seconds: float = BUSY_TIMEOUT_SECONDS) -> None:
        # None or "" or ":memory:": a database no other process can open.
        self.path = Path(f"{database}-writer.lock") if database and database != ":memory:" else None
        self.wait_seconds = wait_seconds
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._held = False

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            fd = self._file()
            self._held = fd is not None and _flock_within(fd, self.wait_seconds)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._held and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._held = False
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None

    def _file(self) -> int | None:
        """The lock file's descriptor (opened on first use), None without one. Read-only: flock
        needs no more, and a lock file another user made still serves."""
        if self.path is None or fcntl is None:
            return None
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError:
                self.path = None  # left to the busy timeout
                return None
        return self._fd


def _flock_within(fd: int, seconds: float) -> bool:
    """Take the exclusive lock within `seconds`; False if another writer held it all along."""
    deadline = time.monotonic() + seconds
    pause = FIRST_POLL_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, POLL_SECONDS)
