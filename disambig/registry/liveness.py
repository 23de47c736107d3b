"""Pooled connections to a database server checked for life only when they sat idle.

SQLAlchemy's `pool_pre_ping` sends a round trip at every checkout, and a resolution checks a
connection out once per call: on PostgreSQL that was one round trip in eleven. A connection a busy
server hands back and forth within milliseconds cannot have missed a restart of the database
unnoticed, since the calls that used it around the restart fail and invalidate the pool. One
that sat idle may have: it is pinged first, and replaced at checkout if the database dropped it
(SQLAlchemy's pool retries a checkout whose event raises DisconnectionError with a fresh
connection), so the first call after the database returns still succeeds.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_BEFORE_PING_SECONDS = 1.0
_CHECKED_IN = "disambig_checked_in"


def ping_when_idle(engine: Engine, idle_seconds: float = IDLE_BEFORE_PING_SECONDS) -> None:
    """Ping a pooled connection at checkout when it was last checked in over `idle_seconds` ago."""

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_CHECKED_IN)
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)  # the ping pool_pre_ping would send
            # The driver began a transaction for the ping; the caller may want the connection in
            # autocommit mode, which cannot be set inside one.
            dbapi_connection.rollback()
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError(f"pooled connection found dead after {idle_seconds:g} s idle") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)
