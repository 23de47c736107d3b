"""Two `disambig serve` replicas on one PostgreSQL registry resolve overlapping listings at once.

They end with the identities one server gives when it runs the same writes one after the other,
in the order the replicas committed them (read from the change feed: PostgreSQL's xmin names the
transaction of each change): the concurrent run is serializable. A mention answered by both
replicas got the same identity from both, and the registry passes `disambig db check`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from reliability_support import (
    ServerProcess,
    chunks,
    db_check,
    figure,
    listing,
    partition,
    postgres_url_or_skip,
    stored_mapping,
    to_proto,
)

from disambig.model import load_model
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.service.convert import mentions_from_proto
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc


def stream_all(
    target: str, batches: list[list[dict[str, Any]]], answers: dict[str, str], errors: list[Exception]
) -> None:
    try:
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.DisambiguatorStub(channel)  # type: ignore[no-untyped-call]
            requests = (pb.ResolveStreamRequest(mentions=to_proto(b)) for b in batches)
            for reply in stub.ResolveStream(requests, timeout=600):
                answers.update((r.mention_id, r.identity_id) for r in reply.resolutions)
    except Exception as exc:
        errors.append(exc)


def transactions(url: str) -> list[list[str]]:
    """The mentions each write transaction linked, in commit order (PostgreSQL: xmin per change row)."""
    registry = Registry(url)
    try:
        with registry.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT seq, kind, mention_id, xmin::text FROM changes ORDER BY seq").all()
    finally:
        registry.close()
    order: dict[str, list[str]] = {}
    for _, kind, mention_id, xmin in rows:
        linked = order.setdefault(xmin, [])
        if kind == "linked":
            linked.append(mention_id)
    return [ms for ms in order.values() if ms]


def pairwise_f1(a: dict[str, str], b: dict[str, str]) -> float:
    def pairs(mapping: dict[str, str]) -> set[tuple[str, str]]:
        return {(x, y) for group in partition(mapping) for x in group for y in group if x < y}

    pa, pb_ = pairs(a), pairs(b)
    if not pa and not pb_:
        return 1.0
    common = len(pa & pb_)
    return 2 * common / (len(pa) + len(pb_)) if common else 0.0


# Batches of several mentions (a listing streamed), and of one (a service calling for each new
# record: single-mention waves, decided presuming nothing changed while the other replica is idle,
# and decided again without the lock when it wrote into their block).
@pytest.mark.parametrize(("size", "per_call"), [(320, (8, 6)), (160, (1, 1))])
def test_two_replicas_on_one_postgresql_end_as_one_server_would(
    tmp_path: Path, size: int, per_call: tuple[int, int]
) -> None:
    url = postgres_url_or_skip()
    records = listing(size, seed=21)
    position = {r["mention_id"]: k for k, r in enumerate(records)}
    half = size // 2
    batches_a = chunks(records, per_call[0])
    batches_b = chunks(records[half:] + records[:half], per_call[1])  # the same mentions, in another order
    answers_a: dict[str, str] = {}
    answers_b: dict[str, str] = {}
    errors: list[Exception] = []
    Registry(url).migrate()  # once, before two processes would both try
    with ServerProcess(url, tmp_path) as a, ServerProcess(url, tmp_path) as b:
        threads = [
            threading.Thread(target=stream_all, args=(a.target, batches_a, answers_a, errors)),
            threading.Thread(target=stream_all, args=(b.target, batches_b, answers_b, errors)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert a.traceback_lines() == [] and b.traceback_lines() == []
    final = stored_mapping(url)
    assert set(final) == set(position), "every mention stored, once"
    assert answers_a == {m: final[m] for m in answers_a} and answers_b == {m: final[m] for m in answers_b}
    both = set(answers_a) & set(answers_b)
    assert len(both) == size and all(answers_a[m] == answers_b[m] for m in both)
    code, output = db_check(url)
    assert code == 0, output

    # One server, the same writes in commit order: the very same identities.
    serial = f"sqlite:///{tmp_path / 'serial.db'}"
    registry = Registry(serial)
    registry.migrate()
    resolver = Resolver(load_model(), registry)
    by_id = {r["mention_id"]: r for r in records}
    commits = transactions(url)
    for linked in commits:
        ordered = sorted(linked, key=position.__getitem__)
        resolver.resolve(mentions_from_proto(to_proto([by_id[m] for m in ordered])))
    registry.close()
    assert stored_mapping(serial) == final

    # And how close that is to one server taking listing A alone, in its order.
    alone = f"sqlite:///{tmp_path / 'alone.db'}"
    registry = Registry(alone)
    registry.migrate()
    resolver = Resolver(load_model(), registry)
    for batch in batches_a:
        resolver.resolve(mentions_from_proto(to_proto(batch)))
    registry.close()
    figure("concurrency.postgres.write_transactions", len(commits))
    figure("concurrency.postgres.identities", len(set(final.values())))
    figure(
        "concurrency.postgres.pairwise_f1_vs_one_server_in_listing_order",
        round(pairwise_f1(final, stored_mapping(alone)), 4),
    )
