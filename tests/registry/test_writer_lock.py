"""The SQLite registry's writer lock excludes writers of other processes, also forked ones."""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from disambig.registry.writer_lock import WriterLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the file lock is flock(2), POSIX only")


def _take_and_report(lock: WriterLock, go: Event, taken: Queue[float]) -> None:
    taken.put(0.0)  # started: the parent takes the lock now
    go.wait(30)
    with lock:
        taken.put(time.monotonic())


def _own_lock_on(database: str, go: Event, taken: Queue[float]) -> None:
    _take_and_report(WriterLock(database), go, taken)


def _waits_for(
    parent: WriterLock, method: str, start_child: Callable[[Event, Queue[float]], multiprocessing.Process]
) -> None:
    context = multiprocessing.get_context(method)
    go, taken = context.Event(), context.Queue()
    child = start_child(go, taken)
    assert taken.get(timeout=60) == 0.0
    with parent:
        go.set()
        time.sleep(0.5)
        assert taken.empty()  # the child is queued behind the parent
        released = time.monotonic()
    assert taken.get(timeout=30) >= released
    child.join(timeout=30)
    assert child.exitcode == 0


def test_a_server_process_with_its_own_lock_waits(tmp_path: Path) -> None:
    database = str(tmp_path / "registry.db")
    spawn = multiprocessing.get_context("spawn")

    def start(go: Event, taken: Queue[float]) -> multiprocessing.Process:
        child = spawn.Process(target=_own_lock_on, args=(database, go, taken))
        child.start()
        return child  # type: ignore[return-value]

    parent = WriterLock(database)
    _waits_for(parent, "spawn", start)
    parent.close()


def test_a_forked_process_reopens_the_lock_file_and_waits(tmp_path: Path) -> None:
    parent = WriterLock(str(tmp_path / "registry.db"))
    with parent:  # the descriptor is opened before the fork, and inherited
        pass
    fork = multiprocessing.get_context("fork")

    def start(go: Event, taken: Queue[float]) -> multiprocessing.Process:
        child = fork.Process(target=_take_and_report, args=(parent, go, taken))
        child.start()
        return child  # type: ignore[return-value]

    _waits_for(parent, "fork", start)
    parent.close()


def test_an_in_memory_database_needs_no_lock_file() -> None:
    lock = WriterLock(":memory:")
    with lock:
        assert lock.path is None
