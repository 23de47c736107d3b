"""Pooled PostgreSQL connections are pinged at checkout only after sitting idle: a connection the
database dropped meanwhile is replaced before use, and a busy server sends no ping per call."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from disambig.registry import Registry
from disambig.registry.liveness import IDLE_BEFORE_PING_SECONDS, ping_when_idle


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(url: str, pid: int) -> None:
    """Drop one server connection from the database's side, as a restart would."""
    other = create_engine(url)
    try:
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        other.dispose()


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(postgres_url: str) -> None:
    registry = Registry(postgres_url)
    registry.migrate()
    try:
        dropped = backend_pid(registry.engine)
        terminate(postgres_url, dropped)
        time.sleep(IDLE_BEFORE_PING_SECONDS + 0.2)
        assert backend_pid(registry.engine) != dropped  # the first use after the drop succeeds
        time.sleep(IDLE_BEFORE_PING_SECONDS + 0.2)
        with registry.reading() as session:  # a pinged connection can still be put in autocommit
            assert session.last_change() >= 0
    finally:
        registry.close()


def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_url: str) -> None:
    """Within the idle window nothing is sent before the caller's statement, so a connection
    dropped meanwhile fails that statement (and the pool is renewed for the next one)."""
    engine = create_engine(postgres_url)
    ping_when_idle(engine, idle_seconds=60)
    try:
        dropped = backend_pid(engine)
        terminate(postgres_url, dropped)
        with pytest.raises(DBAPIError) as failed:
            backend_pid(engine)
        assert failed.value.connection_invalidated
        assert backend_pid(engine) != dropped
    finally:
        engine.dispose()
