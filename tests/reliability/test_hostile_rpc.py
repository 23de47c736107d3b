"""Hostile input on every RPC, on both registries: arbitrary requests drawn from the proto
descriptors (hypothesis) and hand-written hostile text. Every call ends OK or with a clear
client-side code (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, NOT_FOUND, FAILED_PRECONDITION), never
UNKNOWN or INTERNAL; the server stays up; a rejected request stores nothing; an accepted one is
stored as validated, and the registry passes `disambig db check` afterwards.

Field-level limits, with the exact field path of each violation, are tests/registry/test_grpc_bad_input.py;
this suite adds what a hostile client would send on top of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_support import (
    HYPOTHESIS,
    SQL_INJECTION,
    backend_url,
    count_figure,
    db_check,
    feed_counter,
    figure,
    serving,
)

from disambig.errors import InvalidMentionError
from disambig.mention import MAX_LIST_ITEMS
from disambig.model import load_model
from disambig.registry import Registry
from disambig.service.checks import page_token
from disambig.service.convert import mention_from_proto, mention_to_proto
from disambig.service.server import MAX_MESSAGE_BYTES, create_server
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

SERVICE = pb.DESCRIPTOR.services_by_name["Disambiguator"]
FD = descriptor.FieldDescriptor
ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}
CALL_TIMEOUT = 120.0
WATCH_TIMEOUT = 0.3  # a WatchChanges that was let in follows the feed until its deadline

# -- strategies built from the descriptors ---------------------------------------------------------
HOSTILE_CHARS = (
    "\x00\x01\x08\x1b\x7f\u0085\u200b\u200c\u200d\u2060\ufeff\u202e\u202d\u200f\u061c\u0301\u0308\u0336\u20dd"
    "\U0001f600\U0001f643\U0001f469\u200d\U0001f52c\U0010fffd'\";--%_\\/*<>&{}[]()!?.,- \t\n"
    "αβγЖжمحمدעברית中文李王ØÆßĳ"
)
EDGE_STRINGS = ("", " ", "\x00", "\u200b", "\u202e", "\U0001f600", "!!!", "...", "-", "''", "Ann\x00 Lee")
BIG_SIZES = (513, 4_097, 65_537, 1 << 20)  # past the name, short-text and abstract limits; 1 MB


def hostile_text(max_size: int = 30) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=max_size),
        st.text(max_size=max_size),  # any code point but surrogates (protobuf strings are UTF-8)
        st.sampled_from(SQL_INJECTION + EDGE_STRINGS),
        st.builds(
            lambda c, n: c * n, st.sampled_from(["x", "é", "\U0001f600", "\x00", " ", "李"]), st.sampled_from(BIG_SIZES)
        ),
    )


def plausible_name() -> st.SearchStrategy[str]:
    """Names that often pass validation, carrying hostile characters."""
    parts = st.sampled_from(["Ada", "A.", "Grace", "Zoë", "محمد", "李", "O'Brien", "Lovelace", "Hopper", "Smith-Jones"])
    noise = st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=3)
    return st.builds(lambda a, n, b: f"{a}{n} {b}", parts, noise, parts)


def int_strategy(field: descriptor.FieldDescriptor) -> st.SearchStrategy[int]:
    bits = 64 if field.type in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64) else 32
    unsigned = field.type in (FD.TYPE_UINT32, FD.TYPE_UINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64)
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    edges = [v for v in (0, -5, -1, 1, 999, 1000, 2200, 2201, 99_999, low, high) if low <= v <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


@dataclass
class Pools:
    """Ids the registry holds, mixed into id fields so that lookups and curation sometimes hit."""

    identity_ids: list[str]
    mention_ids: list[str]
    page_tokens: list[str]


def mild_text() -> st.SearchStrategy[str]:
    """Hostile characters within the limits: requests that often pass validation."""
    return st.one_of(st.text(alphabet=st.sampled_from(HOSTILE_CHARS), max_size=20), st.sampled_from(SQL_INJECTION))


def scalar_strategy(field: descriptor.FieldDescriptor, pools: Pools, mild: bool) -> st.SearchStrategy[Any]:
    """A value of a non-message field. mild: within the limits (mostly valid), else anything."""
    if field.type == FD.TYPE_STRING:
        known = {
            "identity_id": pools.identity_ids,
            "identity_ids": pools.identity_ids,
            "mention_ids": pools.mention_ids,
            "page_token": pools.page_tokens,
        }.get(field.name)
        if field.name == "name":
            return plausible_name() if mild else st.one_of(plausible_name(), hostile_text())
        if field.name == "mention_id" and mild:
            return st.builds("m-{}".format, mild_text())
        if known:
            return st.one_of(st.sampled_from(known), hostile_text())
        return mild_text() if mild else hostile_text()
    if field.type == FD.TYPE_INT32 and mild:
        return st.one_of(st.just(0), st.integers(1000, 2200))
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
        return st.floats(width=32 if field.type == FD.TYPE_FLOAT else 64)
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FD.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    return int_strategy(field)


def message_strategy(
    message: descriptor.Descriptor, pools: Pools, depth: int = 0, mild: bool = False
) -> st.SearchStrategy[Message]:
    """Any message of this type, built field by field from its descriptor: each field unset or
    drawn by its type. A message inside a request is drawn mild (hostile characters within the
    limits, so that it is often accepted) or wild (anything) at even odds."""
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in message.fields:
        if field.type == FD.TYPE_MESSAGE:
            if depth >= 2:
                continue
            tame = message_strategy(field.message_type, pools, depth + 1, mild=True)
            inner = st.one_of(tame, message_strategy(field.message_type, pools, depth + 1, mild=False))
            value = st.one_of(st.lists(tame, max_size=4), st.lists(inner, max_size=4)) if _repeated(field) else inner
        elif _repeated(field):
            item = scalar_strategy(field, pools, mild)
            value = (
                st.lists(item, max_size=4)
                if mild
                else st.one_of(
                    st.lists(item, max_size=6),
                    st.builds(
                        lambda s, n: [s] * n,
                        st.sampled_from(["Ann Lee", "x", ""]),
                        st.sampled_from([MAX_LIST_ITEMS + 1, 100_000]),
                    ),
                )
            )
        else:
            value = scalar_strategy(field, pools, mild)
        always = mild and field.name in ("mention_id", "name")
        fields[field.name] = value if always else st.one_of(st.none(), value)
    cls = message_factory.GetMessageClass(message)

    def build(values: dict[str, Any]) -> Message:
        out = cls()
        for name, value in values.items():
            if isinstance(value, Message):
                getattr(out, name).CopyFrom(value)
            elif isinstance(value, list):
                getattr(out, name).extend(value)
            elif value is not None:
                setattr(out, name, value)
        return out

    return st.fixed_dictionaries(fields).map(build)


def _repeated(field: descriptor.FieldDescriptor) -> bool:
    return bool(field.is_repeated)


def with_duplicates(request: st.SearchStrategy[Message]) -> st.SearchStrategy[Message]:
    """Mention requests where some mentions repeat an id of the same request (or repeat it with a
    NUL appended: an id validation refuses, where it once stripped the NUL into a repeat)."""

    def duplicate(message: Message, variant: int) -> Message:
        mentions = getattr(message, "mentions", None)
        if mentions is None or len(mentions) < 2:
            return message
        mentions[-1].mention_id = mentions[0].mention_id + ("\x00" if variant else "")
        return message

    return st.one_of(request, st.builds(duplicate, request, st.integers(0, 1)))


# -- the servers ---------------------------------------------------------------------------------
@dataclass
class Hostile:
    backend: str
    url: str
    registry: Registry
    stub: pb_grpc.DisambiguatorStub
    channel: grpc.Channel
    target: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    backend = str(request.param)
    url = backend_url(backend, tmp_path_factory.mktemp(f"hostile-{backend}"))
    registry = Registry(url)
    registry.migrate()
    server, port = create_server("127.0.0.1:0", load_model(), registry, workers=4)
    server.start()
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target)
    stub = pb_grpc.DisambiguatorStub(channel)  # type: ignore[no-untyped-call]
    seed = [
        pb.Mention(mention_id=f"seed-{k}", name=name, coauthors=["Howard Aiken"], title="Compilers", year=1952)
        for k, name in enumerate(["Grace Hopper", "G. Hopper", "Ada Lovelace", "A. Lovelace", "محمد علي", "李 王"])
    ]
    stub.Resolve(pb.ResolveRequest(mentions=seed))
    try:
        yield Hostile(backend, url, registry, stub, channel, target)
    finally:
        channel.close()
        server.stop(None).wait()
        registry.close()


def pools_of(hostile: Hostile) -> Pools:
    from sqlalchemy import select

    from disambig.registry.schema import identities, mentions

    with hostile.registry.engine.connect() as conn:
        identity_ids = [r[0] for r in conn.execute(select(identities.c.identity_id).limit(50))]
        owned = list(conn.execute(select(mentions.c.mention_id, mentions.c.identity_id).limit(50)))
    tokens = [page_token(identity, mention) for mention, identity in owned[:10]] or ["x"]
    return Pools(identity_ids or ["id-none"], [m for m, _ in owned] or ["none"], tokens)


def cleaned_ids(messages: Sequence[pb.Mention]) -> list[str]:
    """The ids the server would store for these mentions (as validated), for those that are valid."""
    ids = []
    for message in messages:
        try:
            ids.append(mention_from_proto(message, "m").mention_id)
        except InvalidMentionError:
            continue
    return ids


def invoke(
    hostile: Hostile, method: descriptor.MethodDescriptor, requests: list[Message]
) -> tuple[grpc.StatusCode, list[Message], str]:
    """Call any method with these requests (one unless client-streaming): (code, responses, details)."""
    stub_method: Callable[..., Any] = getattr(hostile.stub, method.name)
    responses: list[Message] = []
    timeout = WATCH_TIMEOUT if method.name == "WatchChanges" else CALL_TIMEOUT
    try:
        if method.client_streaming:
            responses.extend(stub_method(iter(requests), timeout=timeout))
        elif method.server_streaming:
            responses.extend(stub_method(requests[0], timeout=timeout))
        else:
            responses.append(stub_method(requests[0], timeout=timeout))
    except grpc.RpcError as exc:
        return exc.code(), responses, exc.details() or ""
    return grpc.StatusCode.OK, responses, ""


def check_mention_call(
    hostile: Hostile,
    requests: list[Message],
    fresh_before: list[set[str]],
    code: grpc.StatusCode,
    responses: list[Message],
) -> None:
    """Storage invariants of Resolve / ResolveStream: acknowledged mentions are stored with the
    identity they were given; the rejected request and those after it add nothing.
    fresh_before: per request, its ids that were not stored before the call.

    The rejected request is the one after the last acknowledged, except for a message over the
    size limit: the transport refuses it on arrival and ends the call, perhaps before answers to
    earlier requests were sent (those may or may not be stored: they were valid)."""
    acknowledged = {r.mention_id: r.identity_id for response in responses for r in response.resolutions}
    if acknowledged:
        stored = hostile.registry.stored(acknowledged)
        assert {m: stored[m][0] for m in acknowledged} == acknowledged
    if code == grpc.StatusCode.OK:
        return
    rejected = len(responses)
    oversized = [k for k, r in enumerate(requests) if r.ByteSize() > MAX_MESSAGE_BYTES]
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and oversized:
        rejected = oversized[0]
    earlier = {m for r in requests[:rejected] for m in cleaned_ids(r.mentions)}  # type: ignore[attr-defined]
    fresh = set().union(*fresh_before[rejected:]) - earlier - set(acknowledged)
    assert not set(hostile.registry.stored(fresh)), "a rejected request stored mentions"


EXAMPLES = {"Resolve": 100, "ResolveStream": 40, "Cluster": 60, "SearchIdentities": 60, "WatchChanges": 15}
DEFAULT_EXAMPLES = 30


@pytest.mark.parametrize("method_name", [m.name for m in SERVICE.methods])
def test_every_rpc_survives_arbitrary_requests(hostile: Hostile, method_name: str) -> None:
    method = SERVICE.methods_by_name[method_name]
    pools = pools_of(hostile)
    request = message_strategy(method.input_type, pools)
    if method.input_type.fields_by_name.get("mentions") is not None:
        request = with_duplicates(request)
    requests_strategy = (
        st.lists(request, min_size=1, max_size=3)
        if method.client_streaming
        else st.lists(request, min_size=1, max_size=1)
    )
    codes: dict[str, int] = {}

    @settings(HYPOTHESIS, max_examples=EXAMPLES.get(method_name, DEFAULT_EXAMPLES))
    @given(requests=requests_strategy)
    def run(requests: list[Message]) -> None:
        storing = method_name in ("Resolve", "ResolveStream")
        fresh_before = []
        for r in requests if storing else ():
            ids = cleaned_ids(r.mentions)  # type: ignore[attr-defined]
            fresh_before.append(set(ids) - set(hostile.registry.stored(ids)))
        counter = feed_counter(hostile.registry)
        code, responses, details = invoke(hostile, method, requests)
        codes[code.name] = codes.get(code.name, 0) + 1
        count_figure(f"hostile.rpc.{hostile.backend}.cases")
        allowed = ALLOWED | ({grpc.StatusCode.DEADLINE_EXCEEDED} if method_name == "WatchChanges" else set())
        assert code in allowed, f"{method_name} -> {code.name}: {details}"
        if storing:
            check_mention_call(hostile, requests, fresh_before, code, responses)
        elif method_name not in ("MergeIdentities", "SplitIdentity"):
            assert feed_counter(hostile.registry) == counter, f"{method_name} wrote to the registry"
        if code != grpc.StatusCode.OK and method_name in ("MergeIdentities", "SplitIdentity"):
            assert feed_counter(hostile.registry) == counter, f"a refused {method_name} wrote to the registry"
        if code == grpc.StatusCode.OK and method_name in ("Resolve", "Cluster"):
            (response,) = responses
            sent = requests[0].mentions  # type: ignore[attr-defined]
            assert [r.mention_id for r in response.resolutions] == cleaned_ids(sent)  # type: ignore[attr-defined]

    run()
    figure(f"hostile.rpc.{hostile.backend}.{method_name}.codes", codes)
    assert serving(hostile.target)


# -- hand-written hostile text -----------------------------------------------------------------
OK, INVALID = grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT
STRING_FIELDS = ("mention_id", "name", "title", "abstract", "venue", "email", "orcid", "work_id")
LIST_FIELDS = ("coauthors", "affiliations", "topics")
MB = 1 << 20
# (case, Mention fields beyond a plain valid mention, expected code)
CASES: list[tuple[str, dict[str, Any], grpc.StatusCode]] = [
    ("every-optional-field-empty", {f: "" for f in STRING_FIELDS if f not in ("mention_id", "name")}, OK),
    *[(f"1MB-{f}", {f: "x" * MB}, INVALID) for f in STRING_FIELDS],
    *[(f"100000-{f}", {f: [f"Co Author{i}" for i in range(100_000)]}, INVALID) for f in LIST_FIELDS],
    (
        "NUL-in-every-field",
        {
            **{f: f"a\x00b {f}" for f in STRING_FIELDS if f not in ("name", "mention_id")},
            "name": "Ada\x00 Lovelace",
            **{f: ["Ann\x00 Lee", "\x00"] for f in LIST_FIELDS},
        },
        OK,
    ),
    ("name-only-NUL", {"name": "\x00\x00"}, INVALID),
    ("name-RTL-arabic", {"name": "\u202eمحمد بن موسى الخوارزمي"}, OK),
    (
        "name-RTL-hebrew-with-marks",
        {"name": "\u200f\u05e2\u05d3\u05d4 \u200f\u05dc\u05d0\u05d1\u05dc\u05d9\u05d9\u05e1"},
        OK,
    ),
    ("name-zero-width-inside", {"name": "Ada Love\u200blace\u200d"}, OK),
    ("name-zero-width-only", {"name": "\u200b\u200c\u200d\u2060\ufeff"}, INVALID),
    ("name-combining", {"name": "Zoe\u0308 Lo\u0301pez\u0336"}, OK),
    ("name-combining-only", {"name": "\u0301\u0308\u0336"}, INVALID),
    ("name-emoji-inside", {"name": "Ada \U0001f469\u200d\U0001f52c Lovelace"}, OK),
    ("name-emoji-only", {"name": "\U0001f600\U0001f643"}, INVALID),
    ("name-punctuation-only", {"name": "!!! ??? ..."}, INVALID),
    ("name-dashes-and-quotes-only", {"name": "-- '' \u2014 \u00ab\u00bb"}, INVALID),
    ("name-punctuated", {"name": "O'Brien-Smith, Jr., Ada"}, OK),
    ("name-one-letter", {"name": "X"}, OK),
    ("year-0-unknown", {"year": 0}, OK),
    ("year-minus-5", {"year": -5}, INVALID),
    ("year-99999", {"year": 99_999}, INVALID),
    ("mention_id-RTL-and-emoji", {"mention_id": "\u202eid-\U0001f600"}, OK),
    # Ids are taken as sent: a reply names the id the caller sent, and two ids never become one.
    ("mention_id-NUL", {"mention_id": "a\x00b"}, INVALID),
    ("mention_id-controls-and-spaces", {"mention_id": " id\x01 \t"}, OK),
    ("mention_id-over-the-registry-width", {"mention_id": "m" * 513}, INVALID),
    ("surname-over-the-registry-width", {"name": "A " + "ß" * 300}, INVALID),
]
CASE_IDS = [case for case, _, _ in CASES]
STORING = ("Resolve", "ResolveStream")


def mention_of(case: str, rpc: str, fields: dict[str, Any]) -> pb.Mention:
    base: dict[str, Any] = {"mention_id": f"{rpc}-{case}", "name": "Ada Lovelace", "title": "Sketch of the engine"}
    return pb.Mention(**{**base, **fields})


def send(hostile: Hostile, rpc: str, mentions: list[pb.Mention]) -> tuple[grpc.StatusCode, list[pb.Resolution]]:
    try:
        if rpc == "Resolve":
            return OK, list(
                hostile.stub.Resolve(pb.ResolveRequest(mentions=mentions), timeout=CALL_TIMEOUT).resolutions
            )
        if rpc == "ResolveStream":
            replies = hostile.stub.ResolveStream(
                iter([pb.ResolveStreamRequest(mentions=mentions)]), timeout=CALL_TIMEOUT
            )
            return OK, [r for reply in replies for r in reply.resolutions]
        if rpc == "Cluster":
            return OK, list(
                hostile.stub.Cluster(pb.ClusterRequest(mentions=mentions), timeout=CALL_TIMEOUT).resolutions
            )
        context = mentions[0]
        hostile.stub.SearchIdentities(
            pb.SearchIdentitiesRequest(query="Lovelace", context=context), timeout=CALL_TIMEOUT
        )
        return OK, []
    except grpc.RpcError as exc:
        return exc.code(), []


@pytest.mark.parametrize("rpc", [*STORING, "Cluster", "SearchIdentities"])
@pytest.mark.parametrize(("case", "fields", "expected"), CASES, ids=CASE_IDS)
def test_hostile_text_gets_a_clear_answer_and_is_stored_as_validated(
    hostile: Hostile, rpc: str, case: str, fields: dict[str, Any], expected: grpc.StatusCode
) -> None:
    mention = mention_of(case, rpc, fields)
    if rpc not in STORING and "registry-width" in case:
        expected = OK  # only the registry has column widths
    counter = feed_counter(hostile.registry)
    code, resolutions = send(hostile, rpc, [mention])
    count_figure(f"hostile.text.{hostile.backend}.cases")
    assert code == expected, case
    if rpc not in STORING or code != OK:
        assert feed_counter(hostile.registry) == counter, "nothing may be stored"
        return
    validated = mention_from_proto(mention, "m")
    (resolution,) = resolutions
    assert resolution.mention_id == validated.mention_id
    page = hostile.stub.ListIdentityMentions(
        pb.ListIdentityMentionsRequest(identity_id=resolution.identity_id, page_size=1000)
    ).mentions
    (stored,) = [m for m in page if m.mention_id == validated.mention_id]
    assert stored == mention_to_proto(validated.to_dict()), (
        "stored as validated (C0 controls removed and trimmed, but in the id)"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("x" * MB, INVALID),
        ("Love\x00lace", INVALID),
        ("\U0001f600\U0001f643", OK),
        ("\u202eمحمد", OK),
        ("\u200b", OK),
        ("%", OK),
        ("_", OK),
        ("%_%", OK),
        *[(s, OK) for s in SQL_INJECTION],
    ],
)
def test_hostile_search_queries(hostile: Hostile, query: str, expected: grpc.StatusCode) -> None:
    count_figure(f"hostile.text.{hostile.backend}.cases")
    try:
        results = hostile.stub.SearchIdentities(pb.SearchIdentitiesRequest(query=query), timeout=CALL_TIMEOUT).results
        code = OK
    except grpc.RpcError as exc:
        code, results = exc.code(), []
    assert code == expected
    if query.strip("%_") == "":  # LIKE wildcards are text, not patterns
        assert list(results) == []


def test_a_mention_at_the_list_limit_is_answered(hostile: Hostile) -> None:
    """20,000 coauthors is valid (collaboration papers): answered, if slowly; the time is reported."""
    import time

    coauthors = [f"Co Author{i}" for i in range(MAX_LIST_ITEMS)]
    mention = pb.Mention(mention_id="list-limit", name="Quentin Collaboration", coauthors=coauthors)
    started = time.perf_counter()
    code, resolutions = send(hostile, "Resolve", [mention])
    figure(f"hostile.text.{hostile.backend}.resolve_20000_coauthors_seconds", round(time.perf_counter() - started, 2))
    assert code == OK and resolutions[0].mention_id == "list-limit"


def test_the_registry_holds_together_after_all_of_this(hostile: Hostile) -> None:
    assert serving(hostile.target)
    code, output = db_check(hostile.url)
    assert code == 0, output
    figure(f"hostile.{hostile.backend}.db_check", output.splitlines()[0].split(": ", 1)[1])


def test_descriptor_strategies_cover_every_mention_field() -> None:
    """The strategies are built from the descriptor: a field added to Mention is drawn too."""
    pools = Pools(["id-x"], ["m"], ["t"])
    drawn: set[str] = set()

    @settings(HYPOTHESIS, max_examples=60)
    @given(message_strategy(pb.Mention.DESCRIPTOR, pools))
    def collect(message: Message) -> None:
        drawn.update(f.name for f, _ in message.ListFields())

    collect()
    assert drawn == {f.name for f in pb.Mention.DESCRIPTOR.fields}
