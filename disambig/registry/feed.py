"""Following the change feed: replay from a sequence number, then poll for what comes next.

Writers take sequence numbers from one counter row inside their transaction, so a change is
visible only once every change before it is: reading `seq > last` in order never skips one and
never repeats one. Polling also sees the writes of other replicas sharing a PostgreSQL registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from disambig.registry.store import Change, Registry

POLL_SECONDS = 0.2
PAGE = 500


def follow(
    registry: Registry,
    since: int,
    keep_going: Callable[[], bool],
    *,
    stop: threading.Event | None = None,
    poll_seconds: float = POLL_SECONDS,
    page: int = PAGE,
) -> Iterator[Change]:
    """Every change after `since`, in order, then each new one as it is committed.

    Ends when keep_going() turns false (checked between pages and polls) or `stop` is set (which
    also cuts a poll's wait short).
    """
    stopped = stop or threading.Event()
    last = since
    while keep_going() and not stopped.is_set():
        batch = registry.changes(since=last, limit=page)
        for change in batch:
            yield change
            last = change.seq
        if len(batch) < page:
            stopped.wait(poll_seconds)
