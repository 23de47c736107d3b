"""Load (slow): N clients on loopback for a bounded time against one `disambig serve` process,
mixing Resolve, ResolveStream, SearchIdentities and curation (merges and splits of their own
identities), plus deliberate bad requests. Zero errors other than the deliberate ones, no call
left hanging (deadlock), p50/p99 latency and server RSS reported, and memory flat: RSS at the
end within a tolerance of RSS at a third of the run.

$DISAMBIG_LOAD_SECONDS (default 60) and $DISAMBIG_LOAD_CLIENTS (default 8) size the run.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from reliability_support import (
    ServerProcess,
    backend_url,
    db_check,
    figure,
    listing,
    percentile,
    serving,
    stored_count,
    to_proto,
)

from disambig.registry import Registry
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

SECONDS = float(os.environ.get("DISAMBIG_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("DISAMBIG_LOAD_CLIENTS", "8"))
DEADLINE = 30.0
# Memory is flat when RSS at the end is within this of RSS at a third of the run. The server
# keeps at most CACHE_MENTIONS stored mentions in memory, fewer than a third of the run stores,
# so its caches are full by then; what may still grow is native (gRPC, the database driver,
# malloc's arenas), limited as the image limits it (MALLOC_ARENA_MAX in the Dockerfile).
RSS_TOLERANCE = 0.15
RSS_SLACK_BYTES = 24 * 1024 * 1024
CACHE_MENTIONS = 500
SERVER_ENV = {"MALLOC_ARENA_MAX": "2"}
# Each client's surnames are its own (letters only: "Load0berg" would parse as "Load0 Berg").
TREES = ("Alder", "Birch", "Cedar", "Elm", "Fir", "Hazel", "Larch", "Maple", "Oak", "Pine", "Rowan", "Willow")
SUFFIXES = ("berg", "stein", "mann")
OPERATIONS = (("resolve", 40), ("stream", 15), ("search", 25), ("curate", 12), ("deliberate", 8))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    codes: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, operation: str, seconds: float, code: str, expected: bool, details: str = "") -> None:
        with self.lock:
            self.latencies[operation].append(seconds)
            self.codes[f"{operation}:{code}"] += 1
            if not expected:
                self.unexpected.append(f"{operation}: {code}: {details}")


def surnames(k: int) -> list[str]:
    return [f"{TREES[k % len(TREES)]}{'x' * (k // len(TREES))}{suffix}" for suffix in SUFFIXES]


class LoadClient:
    """One client: its own surnames (so that its identities are its own to curate), one channel."""

    def __init__(self, k: int, target: str, tally: Tally, stop: threading.Event) -> None:
        self.k = k
        self.rnd = random.Random(k)
        self.surnames = surnames(k)
        self.batch = 0
        self.records = iter(())
        self.target = target
        self.tally = tally
        self.stop = stop
        self.identities: list[str] = []

    def run(self) -> None:
        weights = [w for _, w in OPERATIONS]
        with grpc.insecure_channel(self.target) as channel:
            self.stub = pb_grpc.DisambiguatorStub(channel)  # type: ignore[no-untyped-call]
            while not self.stop.is_set():
                operation = self.rnd.choices([o for o, _ in OPERATIONS], weights)[0]
                expected = "INVALID_ARGUMENT" if operation == "deliberate" else "OK"
                started = time.perf_counter()
                details = ""
                try:
                    getattr(self, operation)()
                    code = "OK"
                except grpc.RpcError as exc:
                    code, details = exc.code().name, exc.details() or ""
                self.tally.add(operation, time.perf_counter() - started, code, code == expected, details)

    def next_mentions(self, n: int) -> list[pb.Mention]:
        out = []
        while len(out) < n:
            record = next(self.records, None)
            if record is None:  # a fresh batch of this client's people, new mention ids
                self.batch += 1
                prefix = f"c{self.k}-{self.batch}-"
                self.records = iter(
                    listing(500, seed=1000 * self.k + self.batch, prefix=prefix, surnames=self.surnames)
                )
                continue
            out.append(record)
        return to_proto(out)

    def resolve(self) -> None:
        reply = self.stub.Resolve(
            pb.ResolveRequest(mentions=self.next_mentions(self.rnd.randint(1, 4))), timeout=DEADLINE
        )
        self.identities.extend(r.identity_id for r in reply.resolutions)

    def stream(self) -> None:
        requests = [pb.ResolveStreamRequest(mentions=self.next_mentions(3)) for _ in range(3)]
        for reply in self.stub.ResolveStream(iter(requests), timeout=DEADLINE):
            self.identities.extend(r.identity_id for r in reply.resolutions)

    def search(self) -> None:
        surname = self.rnd.choice(surnames(self.rnd.randrange(CLIENTS)))
        self.stub.SearchIdentities(pb.SearchIdentitiesRequest(query=surname, limit=10), timeout=DEADLINE)

    def curate(self) -> None:
        """Merge two of its identities, or split one of its identities of several mentions."""
        live = list(
            dict.fromkeys(self.current(i) for i in self.rnd.sample(self.identities, min(6, len(self.identities))))
        )
        if len(live) < 2:
            self.resolve()
            return
        if self.rnd.random() < 0.5:
            reply = self.stub.MergeIdentities(
                pb.MergeIdentitiesRequest(identity_ids=live[:2], reason=f"load client {self.k}"), timeout=DEADLINE
            )
            self.identities.append(reply.identity.identity_id)
            return
        for identity in live:
            page = self.stub.ListIdentityMentions(
                pb.ListIdentityMentionsRequest(identity_id=identity, page_size=50), timeout=DEADLINE
            )
            if len(page.mentions) >= 2:
                reply = self.stub.SplitIdentity(
                    pb.SplitIdentityRequest(
                        identity_id=identity, mention_ids=[page.mentions[0].mention_id], reason="load"
                    ),
                    timeout=DEADLINE,
                )
                self.identities.append(reply.split_off.identity_id)
                return

    def current(self, identity: str) -> str:
        return str(
            self.stub.GetIdentity(pb.GetIdentityRequest(identity_id=identity), timeout=DEADLINE).identity.identity_id
        )

    def deliberate(self) -> None:
        """A bad request on purpose: the one error the run expects (INVALID_ARGUMENT)."""
        self.stub.Resolve(
            pb.ResolveRequest(mentions=[pb.Mention(mention_id=f"bad-{self.k}", name="!!!")]), timeout=DEADLINE
        )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_load_mixed_clients(tmp_path: Path, backend: str) -> None:
    url = backend_url(backend, tmp_path)
    Registry(url).migrate()
    tally = Tally()
    stop = threading.Event()
    samples: list[tuple[float, int, int]] = []  # (seconds, server RSS, mentions stored)
    counting = Registry(url)
    serve_args = ("--workers", str(CLIENTS), "--cache-mentions", str(CACHE_MENTIONS))
    with ServerProcess(url, tmp_path, *serve_args, env=SERVER_ENV) as server:
        clients = [LoadClient(k, server.target, tally, stop) for k in range(CLIENTS)]
        threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
        started = time.monotonic()
        for t in threads:
            t.start()
        while (elapsed := time.monotonic() - started) < SECONDS:
            samples.append((elapsed, server.rss_bytes(), stored_count(counting)))
            time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(timeout=DEADLINE + 30)
        hung = [c.k for c, t in zip(clients, threads) if t.is_alive()]
        assert hung == [], f"clients still waiting on a call: {hung} (deadlock?)"
        assert serving(server.target)
        assert server.traceback_lines() == []
        final_rss = server.rss_bytes()
    all_latencies = [s for values in tally.latencies.values() for s in values]
    calls = len(all_latencies)
    counting.close()
    _, at_third, stored_at_third = next(sample for sample in samples if sample[0] >= SECONDS / 3)
    _, at_end, stored_at_end = samples[-1]
    added = stored_at_end - stored_at_third
    name = f"load.{backend}"
    figure(f"{name}.clients_seconds", f"{CLIENTS} clients, {SECONDS:.0f} s")
    figure(f"{name}.calls", calls)
    figure(f"{name}.calls_per_second", round(calls / SECONDS, 1))
    figure(f"{name}.codes", dict(sorted(tally.codes.items())))
    figure(f"{name}.p50_ms", round(1000 * percentile(all_latencies, 50), 1))
    figure(f"{name}.p99_ms", round(1000 * percentile(all_latencies, 99), 1))
    figure(
        f"{name}.p99_ms_by_operation",
        {op: round(1000 * percentile(values, 99), 1) for op, values in sorted(tally.latencies.items())},
    )
    figure(
        f"{name}.rss_mb_third_end_max", [round(x / 2**20, 1) for x in (at_third, at_end, max(r for _, r, _ in samples))]
    )
    figure(f"{name}.mentions_stored_third_end", [stored_at_third, stored_at_end])
    figure(f"{name}.rss_growth_kb_per_mention_added", round((at_end - at_third) / max(added, 1) / 1024, 2))
    figure(f"{name}.rss_mb_after_stop", round(final_rss / 2**20, 1))
    assert tally.unexpected == [], tally.unexpected[:10]
    assert all(tally.codes[f"{op}:OK"] > 0 for op, _ in OPERATIONS if op != "deliberate")
    assert tally.codes["deliberate:INVALID_ARGUMENT"] > 0
    assert stored_at_third > CACHE_MENTIONS, "the server's caches were not full by a third of the run"
    allowed = at_third * (1 + RSS_TOLERANCE) + RSS_SLACK_BYTES
    assert at_end <= allowed, f"RSS grew: {at_third} -> {at_end}, {added} mentions stored meanwhile"
    code, output = db_check(url)
    assert code == 0, output
