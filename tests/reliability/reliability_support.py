"""Shared by the reliability suite: a `disambig serve` process, synthetic listings, registries on
both backends, `disambig db check`, and the figures each test reports (printed at the end of the
run; written as JSON to $DISAMBIG_RELIABILITY_FIGURES when set)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import pytest
from click.testing import CliRunner
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, settings

from disambig.cli import main
from disambig.registry import Registry
from disambig.registry.schema import counters, mentions, metadata
from disambig.v1 import disambig_pb2 as pb

# Injection attempts for every text field: they must round-trip unchanged and harm no table.
SQL_INJECTION = (
    "' OR '1'='1",
    "'; DROP TABLE mentions; --",
    "Robert'); DROP TABLE identities;--",
    "1; DELETE FROM changes WHERE 1=1; --",
    "' UNION SELECT name, value FROM counters --",
    '" OR ""="',
    "%' OR mention_id LIKE '%",
    "_%",
    "\\'; SELECT pg_sleep(30); --",
    "$$; DROP TABLE constraints; $$",
    "_%_",
    "') ON CONFLICT DO NOTHING; UPDATE counters SET value = 0; --",
    '{"$ne": null}',
)

REPO = Path(__file__).resolve().parents[2]
FIGURES: dict[str, Any] = {}
SERVE_TIMEOUT = 120.0


def figure(name: str, value: Any) -> None:
    """Record a figure for the run's summary (and README table)."""
    FIGURES[name] = value


def count_figure(name: str, increment: int = 1) -> None:
    FIGURES[name] = int(FIGURES.get(name, 0)) + increment


# -- registries ----------------------------------------------------------------------------------
def postgres_url_or_skip() -> str:
    """The test PostgreSQL database, emptied; skips without one."""
    url = os.environ.get("DISAMBIG_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("DISAMBIG_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)")
    empty_postgres(url)
    return url


def empty_postgres(url: str) -> None:
    registry = Registry(url)
    try:
        with registry.engine.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        registry.close()


def backend_url(backend: str, directory: Path) -> str:
    return f"sqlite:///{directory / 'registry.db'}" if backend == "sqlite" else postgres_url_or_skip()


def feed_counter(registry: Registry) -> int:
    from sqlalchemy import select

    with registry.engine.connect() as conn:
        return int(conn.execute(select(counters.c.value).where(counters.c.name == "changes")).scalar_one())


def stored_count(registry: Registry) -> int:
    """Mentions stored in the registry."""
    from sqlalchemy import func, select

    with registry.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(mentions)).scalar_one())


def stored_mapping(url: str) -> dict[str, str]:
    """mention id -> identity id of every stored mention."""
    from sqlalchemy import select

    from disambig.registry.schema import mentions

    registry = Registry(url)
    try:
        with registry.engine.connect() as conn:
            return {
                r.mention_id: r.identity_id for r in conn.execute(select(mentions.c.mention_id, mentions.c.identity_id))
            }
    finally:
        registry.close()


def partition(mapping: Mapping[str, str]) -> set[frozenset[str]]:
    """The clusters of a mention -> identity mapping, ignoring the ids' names."""
    groups: dict[str, set[str]] = {}
    for mention, identity in mapping.items():
        groups.setdefault(identity, set()).add(mention)
    return {frozenset(g) for g in groups.values()}


def db_check(url: str) -> tuple[int, str]:
    """`disambig db check --db URL`: (exit code, output)."""
    result = CliRunner().invoke(main, ["db", "check", "--db", url])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


# -- a deterministic listing of plausible mentions -------------------------------------------------
SURNAMES = ("Haziza", "Oquab", "Couprie", "Lovelace", "Hopper", "Franklin", "Noether", "Turing", "Wang", "Li")
# Given names by initial: the people of one surname share an initial, so that a name block
# ("D. Haziza") holds several people and resolving it takes evidence, not just the name.
GIVEN = (
    ("Daniel", "David", "Dominik"),
    ("Maxime", "Marie", "Martin"),
    ("Wei", "Wen", "Wu"),
    ("Jun", "Jing", "Jie"),
    ("Ada", "Alan", "Anna"),
)
# fmt: off
WORDS = (
    "graph", "neural", "networks", "protein", "folding", "quantum", "error", "correction", "compilers", "type",
    "systems", "sparse", "attention", "retrieval", "vision", "transformers", "crystallography", "enzymes",
    "algebra", "topology", "cryptography", "lattices", "databases", "consensus", "robotics", "planning",
    "speech", "translation", "astronomy", "galaxies",
)
# fmt: on


def listing(
    n: int, seed: int = 0, prefix: str = "m", surnames: Sequence[str] = SURNAMES, persons_per_surname: int = 3
) -> list[dict[str, Any]]:
    """n mention records of a few people per surname, all of one initial: each person has a given
    name, a coauthor group, topic words and a span of years; names are written in full or as
    initials, coauthors and titles vary from mention to mention."""
    rnd = random.Random(seed)
    people = []
    for s, surname in enumerate(surnames):
        given_names = GIVEN[s % len(GIVEN)]
        for k in range(persons_per_surname):
            group = [f"{rnd.choice(GIVEN)[0]} {rnd.choice(WORDS).capitalize()}son" for _ in range(5)]
            topics = rnd.sample(WORDS, 5)
            people.append((given_names[k % len(given_names)], surname, group, topics, 1990 + rnd.randrange(25)))
    records = []
    for i in range(n):
        given, surname, group, topics, start = people[rnd.randrange(len(people))]
        name = f"{given} {surname}" if rnd.random() < 0.6 else f"{given[0]}. {surname}"
        records.append(
            {
                "mention_id": f"{prefix}{i:05d}",
                "name": name,
                "coauthors": rnd.sample(group, rnd.randint(1, 3)),
                "title": " ".join([*rnd.sample(topics, 3), rnd.choice(WORDS)]),
                "venue": f"Journal of {topics[0].capitalize()}",
                "year": start + rnd.randrange(10),
                "topics": topics[:2],
            }
        )
    return records


def to_proto(records: Iterable[Mapping[str, Any]]) -> list[pb.Mention]:
    return [pb.Mention(**dict(r)) for r in records]


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[k : k + size]) for k in range(0, len(items), size)]


# -- a `disambig serve` process ------------------------------------------------------------------
class ServerProcess:
    """`disambig serve --db URL --port 0` in a child process; the port is read from its log."""

    def __init__(self, db_url: str, cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "disambig.cli", "serve", "--db", db_url, "--port", "0"]
        command += ["--log-level", "warning", *args]
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "DISAMBIG_GRACE_SECONDS": "5", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = self._wait_for_port()
        self.target = f"127.0.0.1:{self.port}"

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + SERVE_TIMEOUT
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if found := re.search(r"serving on [\d.]+:(\d+)", line):
                    return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"disambig serve did not start: {self.lines[-20:]}")

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.kill()

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no grace, no cleanup."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)

    def rss_bytes(self) -> int:
        """Resident memory of the server process, from /proc."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        kilobytes = re.search(r"VmRSS:\s+(\d+) kB", status)
        assert kilobytes is not None
        return int(kilobytes.group(1)) * 1024

    def traceback_lines(self) -> list[str]:
        return [line for line in self.lines if "Traceback" in line]


def serving(target: str, timeout: float = 5.0) -> bool:
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=timeout)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# Hypothesis: no example database in the checkout (a failure prints its seed and example), no
# per-example deadline (a request may take a second on a loaded 2-core machine).
HYPOTHESIS = settings(
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
