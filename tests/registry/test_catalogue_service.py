"""Catalogue integration over gRPC and the command line: redirects, the change feed (paged and
live, across reconnects and replicas), and the export / load / changes commands."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from click.testing import CliRunner

from disambig.cli import main
from disambig.client import ChangeWatch, Client
from disambig.mention import Mention, mention_from_record
from disambig.model import PairwiseModel, load_model
from disambig.registry import Change, NewLink, Registry
from disambig.service.server import create_server
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from conftest import RunningServer


@dataclass(frozen=True)
class Served:
    target: str
    registry: Registry


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@contextmanager
def server_over(url: str, model: PairwiseModel, workers: int = 8) -> Iterator[Served]:
    registry = Registry(url)
    registry.migrate()
    server, port = create_server("127.0.0.1:0", model, registry, workers=workers)
    server.start()
    try:
        yield Served(f"127.0.0.1:{port}", registry)
    finally:
        server.stop(None).wait()
        registry.close()


def person(mention_id: str, surname: str, coauthor: str = "") -> Mention:
    record = {"mention_id": mention_id, "name": f"J. {surname}", "coauthors": [coauthor] if coauthor else []}
    return mention_from_record(record, "test", default_id=mention_id)


def head(registry: Registry) -> int:
    feed = registry.changes(since=0, limit=1_000_000)
    return feed[-1].seq if feed else 0


def take(watch: ChangeWatch, until_seq: int, timeout: float = 10.0) -> list[Change]:
    """Changes from a watch up to and including until_seq (fails rather than hangs)."""
    got: list[Change] = []
    deadline = threading.Timer(timeout, watch.cancel)
    deadline.start()
    try:
        for change in watch:
            got.append(change)
            if change.seq >= until_seq:
                break
    finally:
        deadline.cancel()
    assert got and got[-1].seq == until_seq, f"watch stopped at {got[-1].seq if got else None}, wanted {until_seq}"
    return got


def test_get_identity_redirects_merged_ids_and_shows_split_lineage(shared_server: RunningServer) -> None:
    stub = pb_grpc.DisambiguatorStub(grpc.insecure_channel(shared_server.target))
    with Client(shared_server.target) as client:
        a, b, c = (client.resolve([person(f"gi-{s}", s)])[0].identity_id for s in ("Abara", "Bekele", "Chuma"))
    more = [{"mention_id": f"gi-Chuma-{k}", "name": "J. Chuma"} for k in (2, 3)]
    shared_server.registry.record_links([NewLink(r["mention_id"], "chuma_j", r, c, 0.9) for r in more])  # c survives
    stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=[b, a]))  # a tie: the first listed survives
    survivor = stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=[b, c])).identity.identity_id
    assert survivor == c
    reply = stub.GetIdentity(pb.GetIdentityRequest(identity_id=a))
    assert (reply.identity.identity_id, reply.merged_into, list(reply.merge_path)) == (c, c, [a, b, c])
    active = stub.GetIdentity(pb.GetIdentityRequest(identity_id=c))
    assert (active.merged_into, list(active.merge_path)) == ("", [])
    split = stub.SplitIdentity(pb.SplitIdentityRequest(identity_id=a, mention_ids=["gi-Abara"]))
    assert split.remaining.identity_id == c and split.split_off.split_from == c
    assert stub.GetIdentity(pb.GetIdentityRequest(identity_id=split.split_off.identity_id)).identity.split_from == c


def test_list_changes_pages_through_the_feed(shared_server: RunningServer) -> None:
    with Client(shared_server.target) as client:
        client.resolve([person("lc-1", "Dlamini"), person("lc-2", "Eze")])
        everything = shared_server.registry.changes(since=0, limit=1_000_000)
        page, last = client.list_changes(since=0, limit=3)
        assert [c.seq for c in page] == [1, 2, 3] and last == 3
        assert list(client.changes(since=0, page=2)) == everything
        assert client.list_changes(since=everything[-1].seq) == ([], everything[-1].seq)
        linked = next(c for c in everything if c.mention_id == "lc-2" and c.kind == "linked")
        assert linked.other_identity_id is None and linked.detail == {}
        stub = pb_grpc.DisambiguatorStub(client.channel)
        for bad in (pb.ListChangesRequest(since_seq=-1), pb.ListChangesRequest(limit=-5)):
            with pytest.raises(grpc.RpcError) as caught:
                stub.ListChanges(bad)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_watch_replays_follows_and_resumes_exactly_once(shared_server: RunningServer) -> None:
    registry = shared_server.registry
    start = head(registry)
    with Client(shared_server.target) as client:
        client.resolve([person(f"wa-{k}", f"Fofana{k}") for k in range(3)])  # 6 changes
        first = client.watch_changes(since=start)
        part_one = take(first, start + 2)
        first.cancel()
        client.resolve([person(f"wb-{k}", f"Gueye{k}") for k in range(2)])  # written while away
        second = client.watch_changes(since=part_one[-1].seq)
        replayed_to = head(registry)
        part_two = take(second, replayed_to)
        live = threading.Timer(0.2, lambda: client.resolve([person("wc-0", "Haidara")]))
        live.start()
        part_three = take(second, replayed_to + 2)  # followed live
        second.cancel()
        live.join()
    seqs = [c.seq for c in part_one + part_two + part_three]
    assert seqs == list(range(start + 1, head(registry) + 1))  # nothing missed, nothing twice
    assert [c for c in part_one + part_two + part_three] == registry.changes(since=start, limit=1000)


def test_watch_slots_are_limited_and_freed_and_streams_end_with_the_server(
    tmp_path: Path, model: PairwiseModel
) -> None:
    with server_over(f"sqlite:///{tmp_path / 'r.db'}", model, workers=8) as running, Client(running.target) as client:
        client.resolve([person("ws-1", "Ibekwe")])
        watches = [client.watch_changes() for _ in range(4)]
        for watch in watches:
            take(watch, 2)
        with pytest.raises(grpc.RpcError) as caught:
            list(client.watch_changes())
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert client.list_changes()[1] == 2  # the other RPCs still have their workers
        for watch in watches:
            watch.cancel()
        time.sleep(0.5)  # each stream notices its cancellation at its next poll
        again = client.watch_changes()
        take(again, 2)
        server, port = create_server("127.0.0.1:0", model, running.registry)
        server.start()
        with Client(f"127.0.0.1:{port}") as other:
            watch = other.watch_changes()
            take(watch, 2)
            began = time.monotonic()
            server.stop(0.3).wait()
            with pytest.raises(grpc.RpcError):
                list(watch)
            assert time.monotonic() - began < 5
        again.cancel()


def test_two_replicas_on_postgresql_write_one_ordered_feed(postgres_url: str, model: PairwiseModel) -> None:
    surnames = ("Smith", "Jones", "Garcia")  # shared name blocks: the replicas contend for them
    with server_over(postgres_url, model) as one, server_over(postgres_url, model) as two:
        clients = [Client(one.target), Client(two.target)]

        def resolve(k: int) -> None:
            for i in range(12):
                clients[k].resolve([person(f"r{k}-{i}", surnames[i % 3], coauthor=f"Co {k} {i % 2}")])

        writers = [threading.Thread(target=resolve, args=(k,)) for k in range(2)]
        watch = clients[0].watch_changes()
        for t in writers:
            t.start()
        seen: list[Change] = []
        deadline = time.monotonic() + 20
        for change in watch:
            seen.append(change)
            linked = {c.mention_id for c in seen if c.kind == "linked"}
            if len(linked) == 24 or time.monotonic() > deadline:
                break
        for t in writers:
            t.join()
        watch.cancel()
        assert [c.seq for c in seen] == list(range(1, len(seen) + 1))
        assert sorted(str(c.mention_id) for c in seen if c.kind == "linked") == sorted(
            f"r{k}-{i}" for k in range(2) for i in range(12)
        )
        assert list(clients[1].changes()) == one.registry.changes(limit=1000)  # both replicas: one feed
        for client in clients:
            client.close()


def invoke(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_changes_command_prints_the_feed_and_follows_it(shared_server: RunningServer) -> None:
    registry = shared_server.registry
    with Client(shared_server.target) as client:
        client.resolve([person("cc-1", "Jalloh")])
        start = head(registry) - 2
        lines = [
            json.loads(line)
            for line in invoke("changes", "--target", shared_server.target, "--since", str(start)).splitlines()
        ]
        assert [line["seq"] for line in lines] == [start + 1, start + 2]
        assert lines[1] == {
            "seq": start + 2,
            "kind": "linked",
            "identity_id": lines[0]["identity_id"],
            "other_identity_id": None,
            "mention_id": "cc-1",
            "detail": {},
        }
        live = threading.Timer(0.3, lambda: client.resolve([person("cc-2", "Kamara")]))
        live.start()
        followed = invoke(
            "changes", "--target", shared_server.target, "--since", str(start), "--follow", "--limit", "4"
        )
        live.join()
    assert [json.loads(line)["seq"] for line in followed.splitlines()] == [start + k for k in range(1, 5)]
    assert json.loads(followed.splitlines()[-1])["mention_id"] == "cc-2"


def test_export_and_db_load_commands_round_trip(tmp_path: Path) -> None:
    source = Registry(f"sqlite:///{tmp_path / 'source.db'}")
    source.migrate()
    records = [{"mention_id": f"x{k}", "name": "L. Kone", "work_id": f"w{k}", "orcid": "0000-0001"} for k in range(4)]
    stored = source.record_links([NewLink(r["mention_id"], "kone_l", r, None, 0.8, create=True) for r in records])
    source.merge([stored[0].identity_id, stored[1].identity_id])
    source.close()
    src, dst = f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'copy.db'}"
    dump, csv_out = tmp_path / "out" / "ids.jsonl", tmp_path / "ids.csv"
    invoke("export", "--db", src, "--with-mentions", "-o", str(dump))
    invoke("db", "load", str(dump), "--db", dst)
    again = invoke("export", "--db", dst, "--with-mentions")

    def comparable(text: str) -> list[dict[str, object]]:
        rows = [json.loads(line) for line in text.splitlines()]
        return [{k: v for k, v in r.items() if not k.endswith("_seq")} for r in rows]

    assert comparable(again) == comparable(dump.read_text())
    assert len(comparable(again)) == 4
    invoke("export", "--db", src, "--format", "csv", "-o", str(csv_out))
    assert csv_out.read_text().splitlines()[0].startswith("identity_id,status,resolved_id,merged_into,split_from")
    since = invoke("export", "--db", src, "--since-seq", "1000")
    assert since == ""
    missing = CliRunner().invoke(main, ["export", "--db", f"sqlite:///{tmp_path / 'nowhere.db'}"])
    assert missing.exit_code == 2 and "no registry there" in missing.output
    assert not (tmp_path / "nowhere.db").exists()
    refused = CliRunner().invoke(main, ["db", "load", str(dump), "--db", dst])
    assert refused.exit_code == 2 and "already holds identities" in refused.output
    full = CliRunner().invoke(main, ["export", "--db", src, "-o", "/dev/full"]) if Path("/dev/full").exists() else None
    if full is not None:  # a device whose writes fail (ENOSPC): a one-line error, not a traceback
        assert full.exit_code == 1 and "cannot write /dev/full" in full.output
        assert full.exception is None or isinstance(full.exception, SystemExit)
