"""One writer at a time on a SQLite registry, queued in the kernel rather than polled.

SQLite lets one writer in at a time and makes the others wait in its busy handler, which sleeps
and retries (1, 2, 5, 10 ms ...): with several server processes on one file, a resolution that
found the file locked for a fraction of a millisecond slept for milliseconds, and the processes
left the cores idle. Writers now queue on an advisory lock of a file beside the database
(flock: the kernel wakes the next one when the lock is released), so by the time a transaction
asks SQLite for its write lock it is free. Threads of one process queue on a threading lock
first (flock does not exclude the threads of one process). SQLite's busy timeout still guards
any writer that does not take this lock.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from types import TracebackType

if sys.platform != "win32":
    import fcntl


class WriterLock:
    """A context manager: this thread holds the registry's write turn while inside."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        in_file = database not in (None, "", ":memory:") and sys.platform != "win32"
        self.path = Path(f"{database}.writer-lock") if in_file else None
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> WriterLock:
        self._threads.acquire()
        try:
            if self.path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            if self.path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        # Opened in each process that uses it: a descriptor inherited across fork() shares its
        # lock with the parent's, which would then not exclude the two.
        assert self.path is not None
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None
