"""Bad input on every field, at the RPC level (issue 3): the status code, the google.rpc.BadRequest
field path, nothing stored by a rejected request, and a server that keeps serving afterwards.

One server for the module: every case uses its own mention ids, so the cases do not interfere.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from disambig.mention import (
    MAX_ABSTRACT_CHARS,
    MAX_LIST_ITEMS,
    MAX_NAME_CHARS,
    MAX_SHORT_TEXT_CHARS,
    MAX_YEAR,
    MIN_YEAR,
)
from disambig.service.convert import MAX_MENTIONS_PER_REQUEST
from disambig.service.server import MAX_MESSAGE_BYTES, SERVICE_NAME
from disambig.service.servicer import MAX_PAGE_SIZE
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

if TYPE_CHECKING:
    from conftest import RunningServer

Stub = pb_grpc.DisambiguatorStub

# (case id, the field the violation must name, Mention fields that break a limit)
TEXT_LIMITS = {"name": MAX_NAME_CHARS, "abstract": MAX_ABSTRACT_CHARS}
STRING_FIELDS = ("mention_id", "name", "title", "abstract", "venue", "email", "orcid", "work_id")
LIST_FIELDS = ("coauthors", "affiliations", "topics")
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("name-empty", "name", {"name": ""}),
    ("name-blank", "name", {"name": "   "}),
    ("name-controls-only", "name", {"name": "\x00\x01\t"}),
    ("name-no-letters", "name", {"name": "12 34 -."}),
    ("name-no-surname", "name", {"name": "et al."}),
    ("mention_id-blank", "mention_id", {"mention_id": "  "}),
    *[(f"{f}-over-limit", f, {f: "x" * (TEXT_LIMITS.get(f, MAX_SHORT_TEXT_CHARS) + 1)}) for f in STRING_FIELDS],
    *[(f"{f}-too-many-items", f, {f: ["Ann Lee"] * (MAX_LIST_ITEMS + 1)}) for f in LIST_FIELDS],
    *[(f"{f}-item-over-limit", f"{f}[1]", {f: ["Ann Lee", "x" * (MAX_SHORT_TEXT_CHARS + 1)]}) for f in LIST_FIELDS],
    ("year-below-range", "year", {"year": MIN_YEAR - 1}),
    ("year-above-range", "year", {"year": MAX_YEAR + 1}),
    ("year-negative", "year", {"year": -5}),
    ("year-int32-max", "year", {"year": 2**31 - 1}),
    ("year-int32-min", "year", {"year": -(2**31)}),
]
CASE_IDS = [case for case, _, _ in CASES]
MENTION_RPCS = ("Resolve", "ResolveStream", "Cluster")


@pytest.fixture(scope="module")
def server(shared_server: RunningServer) -> RunningServer:
    return shared_server


@pytest.fixture(scope="module")
def channel(server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as chan:
        yield chan


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> Stub:
    return Stub(channel)  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def identities(stub: Stub) -> tuple[str, str]:
    """Two stored identities of two mentions each (rosalind-1, rosalind-2 and grace-1, grace-2), under names
    no other test uses."""
    dna = "Molecular configuration in sodium thymonucleate"
    mentions = [
        pb.Mention(
            mention_id="rosalind-1", name="Rosalind Franklin", coauthors=["Raymond Gosling"], title=dna, year=1953
        ),
        pb.Mention(
            mention_id="rosalind-2", name="Rosalind Franklin", coauthors=["Raymond Gosling"], title=dna, year=1953
        ),
        pb.Mention(mention_id="grace-1", name="Grace Hopper", coauthors=["Howard Aiken"], year=1944),
        pb.Mention(mention_id="grace-2", name="Grace Hopper", coauthors=["Howard Aiken"], year=1944),
    ]
    resolutions = stub.Resolve(pb.ResolveRequest(mentions=mentions)).resolutions
    rosalind, grace = resolutions[0].identity_id, resolutions[2].identity_id
    assert resolutions[1].identity_id == rosalind and resolutions[3].identity_id == grace != rosalind
    return rosalind, grace


def call(stub: Stub, rpc: str, mentions: list[pb.Mention]) -> None:
    """Send mentions through one of the mention RPCs, reading every reply."""
    if rpc == "Resolve":
        stub.Resolve(pb.ResolveRequest(mentions=mentions))
    elif rpc == "ResolveStream":
        list(stub.ResolveStream(iter([pb.ResolveStreamRequest(mentions=mentions)])))
    else:
        stub.Cluster(pb.ClusterRequest(mentions=mentions))


def rejected(action: Callable[[], object], code: grpc.StatusCode) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        action()
    error = info.value
    assert error.code() == code, error.details()
    return error


def violations(error: grpc.RpcError) -> dict[str, str]:
    """field -> description of the BadRequest detail of an error."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, "no google.rpc.Status in the trailers"
    assert len(status.details) == 1 and status.details[0].Is(error_details_pb2.BadRequest.DESCRIPTOR)
    bad_request = error_details_pb2.BadRequest()
    status.details[0].Unpack(bad_request)
    return {v.field: v.description for v in bad_request.field_violations}


def invalid(action: Callable[[], object]) -> dict[str, str]:
    return violations(rejected(action, grpc.StatusCode.INVALID_ARGUMENT))


# -- every Mention field, through every RPC that takes mentions ----------------------------------


@pytest.mark.parametrize("rpc", MENTION_RPCS)
@pytest.mark.parametrize(("case", "field", "values"), CASES, ids=CASE_IDS)
def test_a_bad_field_is_named_and_nothing_is_stored(
    stub: Stub, server: RunningServer, rpc: str, case: str, field: str, values: dict[str, Any]
) -> None:
    good_id, bad_id = f"{rpc}-{case}-good", f"{rpc}-{case}-bad"
    good = pb.Mention(mention_id=good_id, name="Ada Lovelace", title="Notes", year=1843)
    bad = pb.Mention(**{"mention_id": bad_id, "name": "Ada Lovelace", **values})
    found = invalid(lambda: call(stub, rpc, [good, bad]))
    assert set(found) == {f"mentions[1].{field}"}, found
    assert server.registry.stored([good_id, bad_id, bad.mention_id]) == {}


@pytest.mark.parametrize("rpc", MENTION_RPCS)
def test_every_bad_field_of_every_mention_is_named_at_once(stub: Stub, rpc: str) -> None:
    mentions = [
        pb.Mention(mention_id=f"{rpc}-all-0", name="Ada Lovelace"),
        pb.Mention(mention_id=f"{rpc}-all-1", name="", year=MAX_YEAR + 1),
        pb.Mention(mention_id=f"{rpc}-all-2", name="Ada Lovelace", topics=["x" * (MAX_SHORT_TEXT_CHARS + 1)]),
        pb.Mention(name="Ada Lovelace"),
    ]
    found = invalid(lambda: call(stub, rpc, mentions))
    assert set(found) == {"mentions[1].name", "mentions[1].year", "mentions[2].topics[0]", "mentions[3].mention_id"}


@pytest.mark.parametrize("rpc", MENTION_RPCS)
def test_a_missing_or_repeated_mention_id_is_named(stub: Stub, server: RunningServer, rpc: str) -> None:
    good = pb.Mention(mention_id=f"{rpc}-dup", name="Ada Lovelace")
    found = invalid(lambda: call(stub, rpc, [good, pb.Mention(name="Ada Lovelace")]))
    assert set(found) == {"mentions[1].mention_id"}
    found = invalid(lambda: call(stub, rpc, [good, pb.Mention(mention_id=f"{rpc}-dup", name="A. Lovelace")]))
    assert set(found) == {"mentions[1].mention_id"} and "repeats" in found["mentions[1].mention_id"]
    assert server.registry.stored([f"{rpc}-dup"]) == {}


@pytest.mark.parametrize(
    "values",
    [
        {"year": 0},  # unknown
        {"year": MIN_YEAR},
        {"year": MAX_YEAR},
        {"name": "A" + "b" * (MAX_NAME_CHARS - 1)},
        {"title": "x" * MAX_SHORT_TEXT_CHARS, "abstract": "x" * MAX_ABSTRACT_CHARS},
        {"coauthors": ["x" * MAX_SHORT_TEXT_CHARS], "topics": ["", " "]},
    ],
    ids=["year-0-unknown", "year-min", "year-max", "name-at-limit", "texts-at-limit", "items-at-limit"],
)
def test_values_at_the_limits_are_accepted(stub: Stub, values: dict[str, Any]) -> None:
    good = pb.Mention(mention_id="limit-0", name="Ada Lovelace")
    edge = pb.Mention(**{"mention_id": "limit-1", "name": "Ada Lovelace", **values})
    reply = stub.Cluster(pb.ClusterRequest(mentions=[good, edge]))
    assert [r.mention_id for r in reply.resolutions] == ["limit-0", "limit-1"]


def test_a_stream_keeps_what_it_acknowledged_and_stores_nothing_of_the_rejected_request(
    stub: Stub, server: RunningServer
) -> None:
    requests = [
        pb.ResolveStreamRequest(mentions=[pb.Mention(mention_id="stream-ok", name="Ada Lovelace")]),
        pb.ResolveStreamRequest(
            mentions=[pb.Mention(mention_id="stream-good", name="Ada Lovelace"), pb.Mention(mention_id="stream-bad")]
        ),
    ]
    replies: list[pb.ResolveStreamResponse] = []
    with pytest.raises(grpc.RpcError) as info:
        replies.extend(stub.ResolveStream(iter(requests)))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"mentions[1].name"}
    assert [r.resolutions[0].mention_id for r in replies] == ["stream-ok"]
    assert set(server.registry.stored(["stream-ok", "stream-good", "stream-bad"])) == {"stream-ok"}


# -- request messages that are no protobuf message of their method --------------------------------


def raw_call(channel: grpc.Channel, method: str, streaming: bool = False) -> Callable[..., Any]:
    """A call of `method` sending bytes as they are, and reading replies as bytes."""
    kind = channel.stream_stream if streaming else channel.unary_unary
    return kind(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)


def not_utf8(mention_id: str) -> bytes:
    """A ResolveRequest whose mention's name is not UTF-8: protobuf refuses to decode it."""
    good = pb.ResolveRequest(mentions=[pb.Mention(mention_id=mention_id, name="Ann Lee")]).SerializeToString()
    return good.replace(b"Ann", b"A\xffn")


@pytest.mark.parametrize(
    ("method", "payload"),
    [
        ("/disambig.v1.Disambiguator/Resolve", not_utf8("undecodable-1")),
        ("/disambig.v1.Disambiguator/GetIdentity", b"\xff\xff\xff\xff"),
        ("/grpc.health.v1.Health/Check", b"\x0a\x05ab"),  # a string field cut short
    ],
    ids=["resolve-not-utf8", "get-identity-garbage", "health-truncated"],
)
def test_an_undecodable_request_is_invalid_argument(
    channel: grpc.Channel, server: RunningServer, method: str, payload: bytes
) -> None:
    error = rejected(lambda: raw_call(channel, method)(payload), grpc.StatusCode.INVALID_ARGUMENT)
    assert set(violations(error)) == {"request"}
    assert set(server.registry.stored(["undecodable-1"])) == set()


def test_a_stream_answers_the_messages_before_an_undecodable_one(channel: grpc.Channel, server: RunningServer) -> None:
    first = pb.ResolveStreamRequest(mentions=[pb.Mention(mention_id="undecodable-ok", name="Ann Lee")])
    replies: list[bytes] = []
    stream = raw_call(channel, "/disambig.v1.Disambiguator/ResolveStream", streaming=True)
    with pytest.raises(grpc.RpcError) as info:
        replies.extend(stream(iter([first.SerializeToString(), not_utf8("undecodable-2")])))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(info.value)) == {"request[1]"}
    answered = [pb.ResolveStreamResponse.FromString(r).resolutions[0].mention_id for r in replies]
    assert answered == ["undecodable-ok"]
    assert set(server.registry.stored(["undecodable-ok", "undecodable-2"])) == {"undecodable-ok"}


# -- SearchIdentities: its context mention and its own fields ------------------------------------

CONTEXT_CASES = [c for c in CASES if c[1] != "mention_id" or c[0] == "mention_id-over-limit"]


@pytest.mark.parametrize(("case", "field", "values"), CONTEXT_CASES, ids=[case for case, _, _ in CONTEXT_CASES])
def test_a_bad_context_field_of_a_search_is_named(stub: Stub, case: str, field: str, values: dict[str, Any]) -> None:
    context = pb.Mention(**{"name": "Ada Lovelace", **values})
    found = invalid(lambda: stub.SearchIdentities(pb.SearchIdentitiesRequest(query="Lovelace", context=context)))
    assert set(found) == {f"context.{field}"}, found


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"query": ""}, "query"),
        ({"query": "  \t"}, "query"),
        ({"query": "x" * (MAX_NAME_CHARS + 1)}, "query"),
        ({"query": "Lovelace", "limit": -1}, "limit"),
    ],
    ids=["empty", "blank", "over-limit", "negative-limit"],
)
def test_a_bad_search_field_is_named(stub: Stub, request_fields: dict[str, Any], field: str) -> None:
    found = invalid(lambda: stub.SearchIdentities(pb.SearchIdentitiesRequest(**request_fields)))
    assert set(found) == {field}, found


def test_a_huge_search_limit_is_capped(stub: Stub, identities: tuple[str, str]) -> None:
    results = stub.SearchIdentities(pb.SearchIdentitiesRequest(query="Franklin", limit=2**31 - 1)).results
    assert [r.identity.identity_id for r in results] == [identities[0]]


# -- request limits: RESOURCE_EXHAUSTED ----------------------------------------------------------


@pytest.mark.parametrize("rpc", MENTION_RPCS)
def test_too_many_mentions_in_a_request(stub: Stub, server: RunningServer, rpc: str) -> None:
    mentions = [
        pb.Mention(mention_id=f"{rpc}-many-{i}", name="Ada Lovelace") for i in range(MAX_MENTIONS_PER_REQUEST + 1)
    ]
    error = rejected(lambda: call(stub, rpc, mentions), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert str(MAX_MENTIONS_PER_REQUEST) in (error.details() or "")
    assert server.registry.stored([f"{rpc}-many-0", f"{rpc}-many-{MAX_MENTIONS_PER_REQUEST}"]) == {}


def test_too_many_mention_ids_in_a_split(stub: Stub, identities: tuple[str, str]) -> None:
    ids = [f"m{i}" for i in range(MAX_MENTIONS_PER_REQUEST + 1)]
    request = pb.SplitIdentityRequest(identity_id=identities[0], mention_ids=ids)
    rejected(lambda: stub.SplitIdentity(request), grpc.StatusCode.RESOURCE_EXHAUSTED)


@pytest.mark.parametrize("rpc", MENTION_RPCS)
def test_a_message_over_the_receive_limit(stub: Stub, server: RunningServer, rpc: str) -> None:
    huge = pb.Mention(mention_id=f"{rpc}-huge", name="Ada Lovelace", abstract="x" * MAX_MESSAGE_BYTES)
    rejected(lambda: call(stub, rpc, [huge]), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert server.registry.stored([f"{rpc}-huge"]) == {}


# -- unknown ids: NOT_FOUND; impossible curation: FAILED_PRECONDITION ----------------------------


def unknown_id_calls(stub: Stub, known: str) -> dict[str, Callable[[], object]]:
    return {
        "GetIdentity": lambda: stub.GetIdentity(pb.GetIdentityRequest(identity_id="id-nope")),
        "ListIdentityMentions": lambda: stub.ListIdentityMentions(
            pb.ListIdentityMentionsRequest(identity_id="id-nope")
        ),
        "MergeIdentities": lambda: stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=[known, "id-nope"])),
        "SplitIdentity": lambda: stub.SplitIdentity(
            pb.SplitIdentityRequest(identity_id="id-nope", mention_ids=["rosalind-1"])
        ),
    }


@pytest.mark.parametrize("rpc", ["GetIdentity", "ListIdentityMentions", "MergeIdentities", "SplitIdentity"])
def test_an_unknown_identity_is_not_found(stub: Stub, identities: tuple[str, str], rpc: str) -> None:
    error = rejected(unknown_id_calls(stub, identities[0])[rpc], grpc.StatusCode.NOT_FOUND)
    assert "id-nope" in (error.details() or "")


def test_a_merge_of_an_identity_with_itself(stub: Stub, identities: tuple[str, str]) -> None:
    rosalind = identities[0]
    request = pb.MergeIdentitiesRequest(identity_ids=[rosalind, rosalind])
    error = rejected(lambda: stub.MergeIdentities(request), grpc.StatusCode.FAILED_PRECONDITION)
    assert rosalind in (error.details() or "")


@pytest.mark.parametrize(
    ("mention_ids", "named"),
    [(["grace-1"], "grace-1"), (["rosalind-1", "rosalind-2"], None)],
    ids=["mention-of-another-identity", "nothing-would-remain"],
)
def test_an_impossible_split(
    stub: Stub, server: RunningServer, identities: tuple[str, str], mention_ids: list[str], named: str | None
) -> None:
    rosalind = identities[0]
    request = pb.SplitIdentityRequest(identity_id=rosalind, mention_ids=mention_ids)
    error = rejected(lambda: stub.SplitIdentity(request), grpc.StatusCode.FAILED_PRECONDITION)
    assert rosalind in (error.details() or "")
    if named:
        assert named in (error.details() or "")
    assert server.registry.get_identity(rosalind).mention_count == 2  # nothing moved


# -- missing or malformed request fields: INVALID_ARGUMENT naming the field ---------------------


def _token(payload: bytes) -> str:
    """A page token spelled as the service spells them, around any payload."""
    return base64.urlsafe_b64encode(payload).decode("ascii")


# (case id, RPC, the request from (Rosalind's id, Grace's id, a page token of Rosalind's), the field named)
BAD_REQUESTS: list[tuple[str, str, Callable[[str, str, str], Message], str]] = [
    ("get-empty-id", "GetIdentity", lambda r, g, t: pb.GetIdentityRequest(), "identity_id"),
    ("get-blank-id", "GetIdentity", lambda r, g, t: pb.GetIdentityRequest(identity_id=" "), "identity_id"),
    ("list-empty-id", "ListIdentityMentions", lambda r, g, t: pb.ListIdentityMentionsRequest(), "identity_id"),
    (
        "list-negative-page-size",
        "ListIdentityMentions",
        lambda r, g, t: pb.ListIdentityMentionsRequest(identity_id=r, page_size=-1),
        "page_size",
    ),
    (
        "list-garbage-token",
        "ListIdentityMentions",
        lambda r, g, t: pb.ListIdentityMentionsRequest(identity_id=r, page_token="not a token"),
        "page_token",
    ),
    (
        # Brackets nested past the JSON parser's depth: a RecursionError, not a ValueError.
        "list-token-nested-too-deep",
        "ListIdentityMentions",
        lambda r, g, t: pb.ListIdentityMentionsRequest(identity_id=r, page_token=_token(b"[" * 5000)),
        "page_token",
    ),
    (
        # JSON spells a lone surrogate, which no database text holds.
        "list-token-lone-surrogate",
        "ListIdentityMentions",
        lambda r, g, t: pb.ListIdentityMentionsRequest(
            identity_id=r, page_token=_token(json.dumps([r, "\ud800"]).encode())
        ),
        "page_token",
    ),
    (
        "list-token-of-another-listing",
        "ListIdentityMentions",
        lambda r, g, t: pb.ListIdentityMentionsRequest(identity_id=g, page_token=t),
        "page_token",
    ),
    ("merge-no-ids", "MergeIdentities", lambda r, g, t: pb.MergeIdentitiesRequest(), "identity_ids"),
    ("merge-one-id", "MergeIdentities", lambda r, g, t: pb.MergeIdentitiesRequest(identity_ids=[r]), "identity_ids"),
    (
        "merge-empty-id",
        "MergeIdentities",
        lambda r, g, t: pb.MergeIdentitiesRequest(identity_ids=[r, ""]),
        "identity_ids[1]",
    ),
    (
        "merge-reason-over-limit",
        "MergeIdentities",
        lambda r, g, t: pb.MergeIdentitiesRequest(identity_ids=[r, g], reason="x" * (MAX_SHORT_TEXT_CHARS + 1)),
        "reason",
    ),
    (
        "split-empty-id",
        "SplitIdentity",
        lambda r, g, t: pb.SplitIdentityRequest(mention_ids=["rosalind-1"]),
        "identity_id",
    ),
    ("split-no-mention-ids", "SplitIdentity", lambda r, g, t: pb.SplitIdentityRequest(identity_id=r), "mention_ids"),
    (
        "split-empty-mention-id",
        "SplitIdentity",
        lambda r, g, t: pb.SplitIdentityRequest(identity_id=r, mention_ids=["rosalind-1", ""]),
        "mention_ids[1]",
    ),
    (
        "split-reason-over-limit",
        "SplitIdentity",
        lambda r, g, t: pb.SplitIdentityRequest(
            identity_id=r, mention_ids=["rosalind-1"], reason="x" * (MAX_SHORT_TEXT_CHARS + 1)
        ),
        "reason",
    ),
]


@pytest.fixture(scope="module")
def page_token(stub: Stub, identities: tuple[str, str]) -> str:
    page = stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=identities[0], page_size=1))
    assert len(page.mentions) == 1 and page.next_page_token
    return page.next_page_token


@pytest.mark.parametrize(("case", "rpc", "make", "field"), BAD_REQUESTS, ids=[case for case, *_ in BAD_REQUESTS])
def test_a_missing_or_malformed_request_field_is_named(
    stub: Stub,
    server: RunningServer,
    identities: tuple[str, str],
    page_token: str,
    case: str,
    rpc: str,
    make: Callable[[str, str, str], Message],
    field: str,
) -> None:
    request = make(*identities, page_token)
    assert set(invalid(lambda: getattr(stub, rpc)(request))) == {field}
    rosalind, grace = (server.registry.get_identity(i) for i in identities)
    assert (rosalind.status, rosalind.mention_count, grace.status, grace.mention_count) == ("active", 2, "active", 2)


def test_paging_follows_its_tokens_and_caps_a_huge_page_size(stub: Stub, identities: tuple[str, str]) -> None:
    rosalind = identities[0]
    first = stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=rosalind, page_size=1))
    second = stub.ListIdentityMentions(
        pb.ListIdentityMentionsRequest(identity_id=rosalind, page_size=1, page_token=first.next_page_token)
    )
    assert [m.mention_id for m in (*first.mentions, *second.mentions)] == ["rosalind-1", "rosalind-2"]
    assert not second.next_page_token
    everything = stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=rosalind, page_size=2**31 - 1))
    assert len(everything.mentions) == 2 <= MAX_PAGE_SIZE and not everything.next_page_token


# -- and the server is still there ---------------------------------------------------------------


def test_the_server_still_serves_after_all_of_this(stub: Stub, channel: grpc.Channel, server: RunningServer) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME)).status == (
        health_pb2.HealthCheckResponse.SERVING
    )
    reply = stub.Resolve(pb.ResolveRequest(mentions=[pb.Mention(mention_id="after-all", name="Ada Lovelace")]))
    assert reply.resolutions[0].mention_id == "after-all"
    assert set(server.registry.stored(["after-all"])) == {"after-all"}
