"""Security: model files only through the safe loader (tampered artifacts refused, nothing
executed), SQL only with bound parameters (injection strings in every field round-trip unchanged,
no table harmed), LIKE wildcards taken literally, and the configured message size limits enforced
both ways. Token scopes on every RPC: tests/deploy/test_auth_scopes.py; request limits per field:
tests/registry/test_grpc_bad_input.py.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from reliability_support import REPO, SQL_INJECTION, backend_url, count_figure, db_check, figure

from disambig.errors import ModelError
from disambig.model import PairwiseModel, default_model_path, load_model
from disambig.registry import Registry
from disambig.service.checks import page_token
from disambig.service.server import create_server
from disambig.v1 import disambig_pb2 as pb
from disambig.v1 import disambig_pb2_grpc as pb_grpc

Stub = pb_grpc.DisambiguatorStub


# -- tampered model artifacts --------------------------------------------------------------------
class Payload:
    """Unpickling this runs a command: what a pickle-based model format would let a file do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def object_array(name: str, key: str) -> Callable[[Path, Path], None]:
    """A valid .npz whose array holds Python objects: loading it would unpickle the payload."""

    def tamper(model: Path, marker: Path) -> None:
        np.savez(model / name, **{key: np.array([Payload(marker)], dtype=object)})

    return tamper


def looping_tree(model: Path, marker: Path) -> None:
    """Plain numbers whose first split points back at the root: a tree walk would never end."""
    with np.load(model / "classifier.npz") as arrays:
        contents = {key: arrays[key].copy() for key in arrays.files}
    contents["nodes.left"][int(np.flatnonzero(contents["nodes.is_leaf"] == 0)[0])] = 0
    np.savez(model / "classifier.npz", **contents)


def pickle_as(name: str) -> Callable[[Path, Path], None]:
    def tamper(model: Path, marker: Path) -> None:
        (model / name).write_bytes(pickle.dumps(Payload(marker)))

    return tamper


def truncated(name: str) -> Callable[[Path, Path], None]:
    def tamper(model: Path, marker: Path) -> None:
        data = (model / name).read_bytes()
        (model / name).write_bytes(data[: len(data) // 2])

    return tamper


def bad_meta(change: dict[str, Any] | list[int]) -> Callable[[Path, Path], None]:
    def tamper(model: Path, marker: Path) -> None:
        meta = json.loads((model / "model.json").read_text())
        (model / "model.json").write_text(json.dumps(change if isinstance(change, list) else {**meta, **change}))

    return tamper


TAMPERING: dict[str, Callable[[Path, Path], None]] = {
    "classifier-object-array": object_array("classifier.npz", "sigmoid"),
    "merger-object-array": object_array("merger.npz", "sigmoid"),
    "classifier-is-a-pickle": pickle_as("classifier.npz"),
    "merger-is-a-pickle": pickle_as("merger.npz"),
    "classifier-truncated-zip": truncated("classifier.npz"),
    "classifier-random-bytes": lambda model, _: (model / "classifier.npz").write_bytes(os.urandom(4096)),
    "classifier-tree-loops": looping_tree,
    "text-prior-object-array": object_array("text_prior.npz", "title.n_docs"),
    "text-prior-is-a-pickle": pickle_as("text_prior.npz"),
    "text-prior-truncated-zip": truncated("text_prior.npz"),
    "model-json-not-an-object": bad_meta([1, 2]),
    "model-json-threshold-not-a-number": bad_meta({"threshold": "0.5; import os"}),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_a_tampered_model_artifact_is_refused(tmp_path: Path, case: str) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    marker = tmp_path / "payload-ran"
    TAMPERING[case](model, marker)
    with pytest.raises(ModelError) as info:
        load_model(model)
    assert str(model) in str(info.value)
    assert not marker.exists(), "the payload ran"
    count_figure("security.tampered_models")


@pytest.mark.parametrize("case", ["classifier-object-array", "classifier-is-a-pickle"])
def test_serve_refuses_a_tampered_model_without_a_traceback(tmp_path: Path, case: str) -> None:
    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    marker = tmp_path / "payload-ran"
    TAMPERING[case](model, marker)
    command = [sys.executable, "-m", "disambig.cli", "serve", "--port", "0", "--model", str(model)]
    command += ["--db", f"sqlite:///{tmp_path / 'r.db'}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "refused" in done.stderr, done.stderr
    assert not marker.exists()
    count_figure("security.tampered_models")


# -- SQL only with bound parameters ------------------------------------------------------------
SQL_CALLS = {"text", "exec_driver_sql", "execute", "executescript", "executemany"}


def test_sql_text_is_never_built_from_strings() -> None:
    """No SQL statement of disambig is an f-string, a concatenation or a .format(): values go
    through bound parameters (SQLAlchemy Core or :name placeholders)."""
    found = []
    for path in (REPO / "disambig").rglob("*.py"):
        if "/v1/" in str(path):
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            built = isinstance(first, ast.JoinedStr | ast.BinOp) or (
                isinstance(first, ast.Call) and isinstance(first.func, ast.Attribute) and first.func.attr == "format"
            )
            if name in SQL_CALLS and built:
                found.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert found == []


STRING_FIELDS = ("title", "abstract", "venue", "email", "orcid", "work_id")


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Registry, Stub]]:
    url = backend_url(str(request.param), tmp_path)
    registry = Registry(url)
    registry.migrate()
    server, port = create_server("127.0.0.1:0", load_model(), registry, workers=4)
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield url, registry, Stub(channel)  # type: ignore[no-untyped-call]
    finally:
        channel.close()
        server.stop(None).wait()
        registry.close()


def test_injection_strings_in_every_field_round_trip_unchanged(served: tuple[str, Registry, Stub]) -> None:
    url, registry, stub = served
    sent = []
    for k, attack in enumerate(SQL_INJECTION):
        fields: dict[str, Any] = {f: attack for f in STRING_FIELDS}
        fields.update(
            mention_id=attack,
            name=f"Ada {attack} Lovelace",
            coauthors=[attack, f"Charles {attack}"],
            affiliations=[attack],
            topics=[attack],
            year=1843 + k,
        )
        sent.append(pb.Mention(**fields))
    resolutions = stub.Resolve(pb.ResolveRequest(mentions=sent)).resolutions
    assert [r.mention_id for r in resolutions] == list(SQL_INJECTION)
    for mention, resolution in zip(sent, resolutions):
        page = stub.ListIdentityMentions(
            pb.ListIdentityMentionsRequest(identity_id=resolution.identity_id, page_size=1000)
        ).mentions
        assert [m for m in page if m.mention_id == mention.mention_id] == [mention], "stored byte for byte"
        count_figure("security.injection_round_trips")
    for attack in SQL_INJECTION:
        with pytest.raises(grpc.RpcError) as info:
            stub.GetIdentity(pb.GetIdentityRequest(identity_id=attack))
        assert info.value.code() == grpc.StatusCode.NOT_FOUND
        stub.SearchIdentities(pb.SearchIdentitiesRequest(query=f"Ada {attack} Lovelace"))
        identity = resolutions[0].identity_id
        page = stub.ListIdentityMentions(
            pb.ListIdentityMentionsRequest(identity_id=identity, page_token=page_token(identity, attack))
        )
        assert all(m.mention_id > attack for m in page.mentions)
        count_figure("security.injection_round_trips", 3)
    # Curation reasons are stored as given, in the change feed.
    identities = list(dict.fromkeys(r.identity_id for r in resolutions))
    if len(identities) >= 2:
        survivor = stub.MergeIdentities(pb.MergeIdentitiesRequest(identity_ids=identities[:2], reason=SQL_INJECTION[1]))
        split = stub.SplitIdentity(
            pb.SplitIdentityRequest(
                identity_id=survivor.identity.identity_id,
                mention_ids=[resolutions[0].mention_id],
                reason=SQL_INJECTION[2],
            )
        )
        assert split.split_off.identity_id
        reasons = {
            json.loads(c.detail_json).get("reason") for c in stub.ListChanges(pb.ListChangesRequest(limit=1000)).changes
        }
        assert {SQL_INJECTION[1], SQL_INJECTION[2]} <= reasons
    # Every table is there with its rows, and the registry holds together.
    from sqlalchemy import inspect

    with registry.engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"identities", "mentions", "constraints", "changes", "counters", "alembic_version"} <= tables
    assert len(registry.stored(SQL_INJECTION)) == len(SQL_INJECTION)
    code, output = db_check(url)
    assert code == 0, output


def test_like_wildcards_in_names_are_literal(served: tuple[str, Registry, Stub]) -> None:
    """A search for "Li" finds Li, not Lin or Liu: the surname prefix is matched literally."""
    _, _, stub = served
    names = {"li": "Wei Li", "lin": "Wei Lin", "liu": "Wei Liu"}
    ids = {}
    for key, name in names.items():
        reply = stub.Resolve(pb.ResolveRequest(mentions=[pb.Mention(mention_id=f"like-{key}", name=name)]))
        ids[key] = reply.resolutions[0].identity_id
    for key in names:
        results = stub.SearchIdentities(pb.SearchIdentitiesRequest(query=names[key].split()[1])).results
        assert [r.identity.identity_id for r in results] == [ids[key]], key


# -- message size limits, both ways ----------------------------------------------------------------
def test_the_configured_message_limit_holds_both_ways(tmp_path: Path) -> None:
    """With max_message_bytes = 1 MiB: a larger request is RESOURCE_EXHAUSTED and stores nothing;
    a reply that would be larger is RESOURCE_EXHAUSTED too, and a smaller page of it works."""
    limit = 1 << 20
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    model: PairwiseModel = load_model()
    server, port = create_server("127.0.0.1:0", model, registry, workers=2, max_message_bytes=limit)
    server.start()
    options = [("grpc.max_receive_message_length", 64 << 20)]
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            stub = Stub(channel)  # type: ignore[no-untyped-call]
            big = [pb.Mention(mention_id=f"big-{k}", name="Ada Lovelace", abstract="z" * 60_000) for k in range(20)]
            with pytest.raises(grpc.RpcError) as info:
                stub.Resolve(pb.ResolveRequest(mentions=big))
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert registry.stored(m.mention_id for m in big) == {}
            identity = ""
            for k in range(24):  # one identity whose mentions add up to more than the limit
                mention = pb.Mention(
                    mention_id=f"doc-{k}",
                    name="Ada Lovelace",
                    coauthors=["Charles Babbage"],
                    title="Notes on the analytical engine",
                    abstract="y" * 60_000,
                )
                identity = stub.Resolve(pb.ResolveRequest(mentions=[mention])).resolutions[0].identity_id
            with pytest.raises(grpc.RpcError) as info:
                stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=identity, page_size=1000))
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            figure("security.oversized_reply", info.value.details())
            page = stub.ListIdentityMentions(pb.ListIdentityMentionsRequest(identity_id=identity, page_size=5))
            assert len(page.mentions) == 5 and page.next_page_token
    finally:
        server.stop(None).wait()
        registry.close()
