"""Token authentication and scopes over real loopback connections, for every RPC of the service."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from disambig.client import Client
from disambig.service.auth import METHOD_SCOPES, READ, WRITE, TokenTable, required_scope
from disambig.service.channel import open_channel
from disambig.settings import SettingsError, read_tokens
from disambig.v1 import disambig_pb2 as pb

SERVICE = pb.DESCRIPTOR.services_by_name["Disambiguator"]
READ_TOKEN = "r-0123456789abcdef"
WRITE_TOKEN = "w-0123456789abcdef"
HASHED_TOKEN = "h-0123456789abcdef"  # in the file only as its sha256
AUTH_CODES = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


def tokens_file(directory: Path) -> Path:
    path = directory / "tokens.toml"
    digest = hashlib.sha256(HASHED_TOKEN.encode()).hexdigest()
    path.write_text(f'[tokens]\n"{READ_TOKEN}" = "read"\n"{WRITE_TOKEN}" = "write"\n"sha256:{digest}" = "read"\n')
    return path


def call(channel: grpc.Channel, method: descriptor.MethodDescriptor, token: str | None) -> grpc.StatusCode:
    """Call method with an empty request (bytes out, bytes in); the status code it ends with."""
    request = message_factory.GetMessageClass(method.input_type)()
    path = f"/{SERVICE.full_name}/{method.name}"
    kwargs: dict[str, Any] = {"request_serializer": type(request).SerializeToString, "response_deserializer": bytes}
    metadata = [("authorization", f"Bearer {token}")] if token else []
    # A live stream (WatchChanges) that was let in ends with DEADLINE_EXCEEDED; a refusal is immediate.
    timeout = 0.5 if method.server_streaming and not method.client_streaming else 2.0
    try:
        if method.client_streaming and method.server_streaming:
            list(channel.stream_stream(path, **kwargs)(iter([request]), metadata=metadata, timeout=timeout))
        elif method.client_streaming:
            channel.stream_unary(path, **kwargs)(iter([request]), metadata=metadata, timeout=timeout)
        elif method.server_streaming:
            list(channel.unary_stream(path, **kwargs)(request, metadata=metadata, timeout=timeout))
        else:
            channel.unary_unary(path, **kwargs)(request, metadata=metadata, timeout=timeout)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_every_rpc_of_the_descriptor_has_a_scope() -> None:
    missing = [m.name for m in SERVICE.methods if m.name not in METHOD_SCOPES]
    assert not missing, f"RPCs without a scope in disambig.service.auth.METHOD_SCOPES (denied to all): {missing}"
    assert set(METHOD_SCOPES.values()) <= {READ, WRITE}
    assert required_scope(f"/{SERVICE.full_name}/NoSuchMethod") is None  # default deny
    assert required_scope("/grpc.health.v1.Health/Check") == ""


def test_scopes_on_every_rpc_over_a_real_connection(serve: Any, tmp_path: Path) -> None:
    with serve(auth_tokens=tokens_file(tmp_path)) as served, grpc.insecure_channel(served.target) as channel:
        seen: dict[str, dict[str, grpc.StatusCode]] = {}
        for method in SERVICE.methods:
            seen[method.name] = {
                "none": call(channel, method, None),
                "unknown": call(channel, method, "not-a-token"),
                "read": call(channel, method, READ_TOKEN),
                "hashed": call(channel, method, HASHED_TOKEN),
                "write": call(channel, method, WRITE_TOKEN),
            }
    for name, codes in seen.items():
        assert codes["none"] == grpc.StatusCode.UNAUTHENTICATED, (name, codes)
        assert codes["unknown"] == grpc.StatusCode.UNAUTHENTICATED, (name, codes)
        assert codes["write"] not in AUTH_CODES, (name, codes)
        for reader in ("read", "hashed"):
            if METHOD_SCOPES[name] == WRITE:
                assert codes[reader] == grpc.StatusCode.PERMISSION_DENIED, (name, codes)
            else:
                assert codes[reader] not in AUTH_CODES, (name, codes)


def test_clients_with_tokens_health_and_reflection_open(serve: Any, tmp_path: Path) -> None:
    with serve(auth_tokens=tokens_file(tmp_path)) as served:
        with Client(served.target, timeout=5) as anonymous:
            assert anonymous.health() == "SERVING"  # open: load balancers probe without tokens
            with pytest.raises(grpc.RpcError) as caught:
                anonymous.resolve([])
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "authorization" in (caught.value.details() or "")
        with Client(served.target, timeout=5, token=READ_TOKEN) as reader, pytest.raises(grpc.RpcError) as caught:
            reader.stub.Resolve(pb.ResolveRequest(mentions=[pb.Mention(mention_id="m1", name="D. Haziza")]))
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "write" in (caught.value.details() or "")
        with Client(served.target, timeout=5, token=WRITE_TOKEN) as writer:
            [resolution] = writer.stub.Resolve(
                pb.ResolveRequest(mentions=[pb.Mention(mention_id="m1", name="D. Haziza")])
            ).resolutions
            assert resolution.created
        with Client(served.target, timeout=5, token=READ_TOKEN) as reader:
            identity = reader.stub.GetIdentity(pb.GetIdentityRequest(identity_id=resolution.identity_id)).identity
            assert identity.mention_count == 1
        with open_channel(served.target) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            [reply] = list(stub.ServerReflectionInfo(iter([request]), timeout=5))
            assert SERVICE.full_name in {s.name for s in reply.list_services_response.service}


def test_token_files_are_checked_without_echoing_tokens(tmp_path: Path) -> None:
    good = tmp_path / "tokens.json"
    good.write_text(f'{{"{READ_TOKEN}": "read", "{WRITE_TOKEN}": "write"}}')
    table = TokenTable(read_tokens(good))
    assert table.scope_of(READ_TOKEN) == READ and table.scope_of(WRITE_TOKEN) == WRITE
    assert table.scope_of("nope") is None
    bad = tmp_path / "bad.toml"
    bad.write_text(f'"{READ_TOKEN}" = "admin"\n')
    with pytest.raises(SettingsError, match=r"auth_tokens.*token #1 has scope 'admin'") as caught:
        read_tokens(bad)
    assert READ_TOKEN not in str(caught.value)
