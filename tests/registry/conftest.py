"""A real gRPC server on loopback over a real SQLite registry, shared by the service tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from disambig.model import load_model
from disambig.registry import Registry
from disambig.registry.schema import metadata
from disambig.service.server import create_server


@dataclass(frozen=True)
class RunningServer:
    target: str
    registry: Registry


@contextmanager
def running_server(db: Path, workers: int = 4) -> Iterator[RunningServer]:
    """A started server over a migrated registry at db; stopped and closed on exit."""
    registry = Registry(f"sqlite:///{db}")
    registry.migrate()
    server, port = create_server("127.0.0.1:0", load_model(), registry, workers=workers)
    server.start()
    try:
        yield RunningServer(f"127.0.0.1:{port}", registry)
    finally:
        server.stop(None).wait()
        registry.close()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server for a whole test module, whose tests keep apart by using their own mention ids."""
    with running_server(tmp_path_factory.mktemp("shared") / "r.db") as running:
        yield running


@pytest.fixture
def target(tmp_path: Path) -> Iterator[str]:
    with running_server(tmp_path / "r.db") as running:
        yield running.target


@pytest.fixture
def channel(target: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(target) as chan:
        yield chan


def _emptied_postgres() -> str:
    url = os.environ.get("DISAMBIG_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DISAMBIG_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)")
    clean = Registry(url)
    with clean.engine.begin() as conn:
        metadata.drop_all(conn)
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    clean.close()
    return url


@pytest.fixture
def postgres_url() -> str:
    """The test PostgreSQL database, emptied; the test is skipped without one."""
    return _emptied_postgres()


@pytest.fixture
def emptied_postgres() -> Callable[[], str]:
    """Empties the test PostgreSQL database and returns its URL at each call, for a test that
    needs it empty more than once; the test is skipped without one."""
    _emptied_postgres()
    return _emptied_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty registry URL on each backend (PostgreSQL skipped when CI provides none)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return _emptied_postgres()


@pytest.fixture
def registry(backend_url: str) -> Iterator[Registry]:
    """A migrated, empty registry on each backend, closed after the test."""
    store = Registry(backend_url)
    store.migrate()
    yield store
    store.close()
