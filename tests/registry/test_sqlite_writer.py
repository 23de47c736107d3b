"""Writers of one SQLite registry from several processes queue on a lock of their own, not on
SQLite's sleeping busy handler (disambig.registry.sqlite_writer)."""

from __future__ import annotations

import threading
from pathlib import Path

from disambig.registry import Registry
from disambig.registry.sqlite_writer import WriterLock


def test_a_second_process_waits_for_the_writer_then_goes_in(tmp_path: Path) -> None:
    """Two WriterLocks of one file stand for two server processes: each has its own descriptor
    of the lock file, and flock(2) locks of two descriptors exclude each other as two processes'
    do. (SQLite alone would also hold the second back, by sleeping in its busy handler.)"""
    database = str(tmp_path / "r.db")
    first, second = WriterLock(database), WriterLock(database)
    entered = threading.Event()

    def write() -> None:
        with second:
            entered.set()

    try:
        with first:
            other = threading.Thread(target=write)
            other.start()
            assert not entered.wait(0.3), "the second writer went in while the first held the file"
        other.join(timeout=10)
        assert entered.is_set()
        assert (tmp_path / "r.db-writer.lock").exists()
    finally:
        first.close()
        second.close()


def test_a_registry_writes_through_its_lock(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        registry.migrate()
        with registry.writing():
            pass
        assert (tmp_path / "r.db-writer.lock").exists()
    finally:
        registry.close()


def test_a_database_no_other_process_opens_takes_no_file(tmp_path: Path) -> None:
    for database in (None, "", ":memory:"):
        lock = WriterLock(database)
        with lock:
            pass
        assert lock.path is None


def test_a_folder_without_write_access_leaves_processes_to_the_busy_timeout(tmp_path: Path) -> None:
    lock = WriterLock(str(tmp_path / "missing-folder" / "r.db"))  # the lock file cannot be made
    with lock:
        pass
    assert lock.path is None
    with lock:  # and the threads of this process still queue
        pass


def test_a_writer_kept_out_past_its_wait_is_left_to_sqlites_busy_timeout(tmp_path: Path) -> None:
    """A process stuck holding the lock (a long re-clustering) does not hold the others forever:
    after their wait they go on to SQLite, whose busy timeout then fails them as it always did."""
    database = str(tmp_path / "r.db")
    holder, waiter = WriterLock(database), WriterLock(database, wait_seconds=0.2)
    try:
        with holder:
            done = threading.Event()

            def write() -> None:
                with waiter:
                    done.set()

            other = threading.Thread(target=write)
            other.start()
            assert done.wait(10), "the waiter never gave up on the lock file"
            other.join(timeout=10)
    finally:
        holder.close()
        waiter.close()
