"""One writer at a time on a SQLite registry, handed on without sleeping.

SQLite lets one connection write at a time. A writer that finds the file locked waits in
SQLite's busy handler, which sleeps between retries: 1, 2, 5, 10, 15, 20, 25 ms and up to
100 ms. Under load that ran out ("database is locked") between the threads of one process, so
they queue on a lock of their own; and between the processes of `disambig serve --processes N`
it left one process asleep for milliseconds after the other's write of half a millisecond.

`WriterLock` queues this process's threads on a threading lock, then the processes on an
exclusive flock(2) of a file beside the database (`NAME-writer.lock`). A process waiting there
is woken by the kernel the moment the lock is released. Writers that do not take it (another
program, an older disambig) still meet SQLite's busy timeout, as before. Where the lock file
cannot be made (a read-only folder) or flock does not exist (Windows), the processes are left to
the busy timeout.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # not on Windows: the busy timeout arbitrates between processes there
    fcntl = None  # type: ignore[assignment]


class WriterLock:
    """Context manager: this thread is the one writer of the database file among the threads
    and processes that take it."""

    def __init__(self, database: str | None) -> None:
        # None or "" or ":memory:": a database no other process can open.
        self.path = Path(f"{database}-writer.lock") if database and database != ":memory:" else None
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0  # the process that opened _fd: a forked child opens its own

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None

    def _file(self) -> int | None:
        """The lock file's descriptor in this process (opened on first use), None without one."""
        if self.path is None or fcntl is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self.path = None  # left to the busy timeout
                return None
            self._pid = os.getpid()
        return self._fd
