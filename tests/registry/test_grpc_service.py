"""The gRPC service over a real loopback connection, with a real SQLite registry."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from disambig.model import load_model
from disambig.registry import Registry
from disambig.service.server import SERVICE_NAME, create_server
from disambig.training import LabelledCorpus
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


def example_mentions() -> list[pb.Mention]:
    from disambig.client import mention_to_proto

    return [mention_to_proto(m) for m in LabelledCorpus.read(EXAMPLE).mentions]


def test_health_reports_serving(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_resolve_is_idempotent_and_splits_the_homonyms(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    mentions = example_mentions()
    first = stub.Resolve(pb.ResolveRequest(mentions=mentions)).resolutions
    assert [r.mention_id for r in first] == [m.mention_id for m in mentions]
    assert len({r.identity_id for r in first[:3]}) == 1 and len({r.identity_id for r in first[3:]}) == 1
    assert first[0].identity_id != first[3].identity_id
    again = stub.Resolve(pb.ResolveRequest(mentions=mentions)).resolutions
    assert [r.identity_id for r in again] == [r.identity_id for r in first]
    assert not any(r.created for r in again)
    assert any("shared coauthor" in line for line in first[1].explanation)


def test_resolve_stream_answers_each_request_in_order(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    mentions = example_mentions()
    requests = (pb.ResolveStreamRequest(mentions=[m]) for m in mentions)
    replies = list(stub.ResolveStream(requests))
    assert [r.resolutions[0].mention_id for r in replies] == [m.mention_id for m in mentions]


def test_identity_curation_and_paging(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    resolutions = stub.Resolve(pb.ResolveRequest(mentions=example_mentions())).resolutions
    ml, stat = resolutions[0].identity_id, resolutions[3].identity_id
    identity = stub.GetIdentity(pb.GetIdentityRequest(identity_id=ml)).identity
    assert identity.mention_count == 3 and "Francisco Massa" in identity.top_coauthors
    page = stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=ml, page_size=2))
    assert len(page.mentions) == 2 and page.next_page_token
    merged = stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=[ml, stat], reason="test")).identity
    assert merged.mention_count == 6
    loser = stat if merged.identity_id == ml else ml
    assert stub.GetIdentity(pb.GetIdentityRequest(identity_id=loser)).identity.identity_id == merged.identity_id
    # A merge sent again (its reply lost), in either order, gives the survivor and changes nothing.
    feed = stub.ListChanges(pb.ListChangesRequest(limit=1000)).changes
    for retried in ([ml, stat], [stat, ml]):
        again = stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=retried, reason="test")).identity
        assert again.identity_id == merged.identity_id and again.mention_count == 6
    assert stub.ListChanges(pb.ListChangesRequest(limit=1000)).changes == feed
    split = stub.SplitIdentity(
        pb.SplitIdentityRequest(identity_id=merged.identity_id, mention_ids=["haziza-3", "haziza-4", "haziza-5"])
    )
    assert split.remaining.mention_count == 3 and split.split_off.mention_count == 3


def test_cluster_stores_nothing(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    reply = stub.Cluster(pb.ClusterRequest(mentions=example_mentions()))
    assert len({r.identity_id for r in reply.resolutions}) == 2
    with pytest.raises(grpc.RpcError) as error:
        stub.GetIdentity(pb.GetIdentityRequest(identity_id=reply.resolutions[0].identity_id))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_invalid_mentions_name_the_mention_and_field(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    bad = [pb.Mention(mention_id="ok", name="A. B"), pb.Mention(mention_id="x", name="", year=-5)]
    with pytest.raises(grpc.RpcError) as error:
        stub.Resolve(pb.ResolveRequest(mentions=bad))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(error.value)
    assert status is not None
    violations = error_details_pb2.BadRequest()
    status.details[0].Unpack(violations)
    fields = {v.field for v in violations.field_violations}
    assert {"mentions[1].name", "mentions[1].year"} <= fields


def test_unknown_identity_is_not_found(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    with pytest.raises(grpc.RpcError) as error:
        stub.GetIdentity(pb.GetIdentityRequest(identity_id="id-nope"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_search_ranks_identities_by_name_and_context(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    mentions = example_mentions()
    resolutions = stub.Resolve(pb.ResolveRequest(mentions=mentions)).resolutions
    ml, stat = resolutions[0].identity_id, resolutions[3].identity_id
    both = stub.SearchIdentities(pb.SearchIdentitiesRequest(query="Haziza")).results
    assert {r.identity.identity_id for r in both} == {ml, stat}
    context = pb.Mention(name="D. Haziza", coauthors=["Jean-François Beaumont"], title="Calibration of survey weights")
    ranked = stub.SearchIdentities(pb.SearchIdentitiesRequest(query="D. Haziza", context=context)).results
    assert ranked[0].identity.identity_id == stat
    assert ranked[0].score > ranked[1].score
    assert not stub.SearchIdentities(pb.SearchIdentitiesRequest(query="Nobody")).results


def test_python_client_and_cli_stream_a_file(target: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from disambig.cli import main
    from disambig.client import Client

    corpus = LabelledCorpus.read(EXAMPLE)
    with Client(target) as remote:
        streamed = list(remote.resolve_stream(corpus.mentions, batch=2))
    assert [r.mention_id for r in streamed] == [m.mention_id for m in corpus.mentions]
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["client", "resolve", str(EXAMPLE), "--target", target, "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == len(corpus.mentions)
    assert all('"created":false' in line for line in lines)  # already resolved above: idempotent


def test_same_ids_after_a_server_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    model = load_model()
    mentions = example_mentions()
    answers = []
    for _ in range(2):  # two server lifetimes over one registry file
        registry = Registry(url)
        registry.migrate()
        server, port = create_server("127.0.0.1:0", model, registry, workers=2)
        server.start()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
            reply = pb_grpc.DisambiguatorStub(chan).Resolve(pb.ResolveRequest(mentions=mentions))
            answers.append([(r.identity_id, r.created) for r in reply.resolutions])
        server.stop(None).wait()
        registry.close()
    assert [i for i, _ in answers[0]] == [i for i, _ in answers[1]]
    assert not any(created for _, created in answers[1])


def test_a_deadline_too_short_for_the_work_is_reported_and_a_retry_resolves(channel: grpc.Channel) -> None:
    stub = pb_grpc.DisambiguatorStub(channel)
    mentions = example_mentions()
    with pytest.raises(grpc.RpcError) as failure:
        stub.Resolve(pb.ResolveRequest(mentions=mentions), timeout=0.0001)
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    again = stub.Resolve(pb.ResolveRequest(mentions=mentions), timeout=60).resolutions
    assert [r.mention_id for r in again] == [m.mention_id for m in mentions]


def test_python_client_and_cli_curate_identities(target: str) -> None:
    import json

    from click.testing import CliRunner

    from disambig.cli import main
    from disambig.client import Client

    corpus = LabelledCorpus.read(EXAMPLE)
    with Client(target) as remote:
        resolutions = remote.resolve(corpus.mentions)
        ml, stat = resolutions[0].identity_id, resolutions[3].identity_id
        assert [m.mention_id for m in remote.identity_mentions(ml, page_size=2)] == sorted(
            r.mention_id for r in resolutions if r.identity_id == ml
        )
        ranked = remote.search("D. Haziza", context=corpus.mentions[4])
        assert ranked[0][0].identity_id == stat and ranked[0][1] > ranked[1][1]

    def run(*args: str) -> tuple[int, list[str]]:
        result = CliRunner().invoke(main, ["client", *args, "--target", target])
        return result.exit_code, result.output.splitlines()

    code, lines = run("search", "Haziza", "--limit", "1")
    assert code == 0 and len(lines) == 1 and json.loads(lines[0])["identity"]["identity_id"] in {ml, stat}
    code, lines = run("mentions", stat)
    assert code == 0 and {json.loads(line)["mention_id"] for line in lines} == {
        r.mention_id for r in resolutions if r.identity_id == stat
    }
    code, lines = run("merge", ml, stat, "--reason", "curator: one person after all")
    survivor = json.loads(lines[0])["identity_id"]
    assert code == 0 and survivor in {ml, stat}
    merged_away = stat if survivor == ml else ml
    code, lines = run("identity", merged_away)
    assert code == 0 and json.loads(lines[0])["merged_into"] == survivor
    moved = resolutions[3].mention_id
    code, lines = run("split", survivor, moved, "--reason", "curator: not the same after all")
    remaining, split_off = (json.loads(line) for line in lines)
    assert (
        code == 0 and remaining["identity_id"] == survivor and int(split_off["mention_count"]) == 1
    )  # int64: a JSON string
    code, lines = run("identity", "id-nope")
    assert code == 1
    code, lines = run("merge", survivor)  # one identity is nothing to merge: the server refuses
    assert code == 2
