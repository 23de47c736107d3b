"""Token authentication and scopes, as a server interceptor.

A caller sends `authorization: Bearer TOKEN`; the tokens file maps each token to a scope.
`read` may call the lookups (identities, search, stateless clustering, the change feed);
`write` may also resolve (which stores) and curate. Health and reflection stay open. A method
of the Disambiguator service missing from METHOD_SCOPES is denied to everyone (default deny),
and a test fails for every RPC of the descriptor without an entry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import grpc

from disambig.service.intercept import metadata_value, same_kind_handler, split_method
from disambig.settings import read_tokens
from disambig.v1 import disambig_pb2

READ, WRITE = "read", "write"
# What each scope grants.
GRANTS: Final[Mapping[str, frozenset[str]]] = {READ: frozenset({READ}), WRITE: frozenset({READ, WRITE})}
SERVICE_NAME: Final = disambig_pb2.DESCRIPTOR.services_by_name["Disambiguator"].full_name

# Every RPC of disambig.v1.Disambiguator and the scope it needs.
METHOD_SCOPES: Final[Mapping[str, str]] = {
    "Resolve": WRITE,
    "ResolveStream": WRITE,
    "MergeIdentities": WRITE,
    "SplitIdentity": WRITE,
    "Cluster": READ,  # stateless: stores nothing
    "GetIdentity": READ,
    "ListIdentityMentions": READ,
    "SearchIdentities": READ,
    # The change feed (issue 7): reads.
    "ListChanges": READ,
    "WatchChanges": READ,
}

# Services anyone may call: a load balancer's health probe, and tools' schema discovery.
OPEN_SERVICES: Final = frozenset(
    {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"}
)
SHA256_PREFIX = "sha256:"


def required_scope(full_method: str) -> str | None:
    """The scope a method needs; '' for an open one; None for one no scope allows."""
    service, method = split_method(full_method)
    if service in OPEN_SERVICES:
        return ""
    if service == SERVICE_NAME:
        return METHOD_SCOPES.get(method)
    return None


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class TokenTable:
    """Tokens by SHA-256 digest (never the tokens themselves), each with its scope."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._scopes: dict[bytes, str] = {}
        for token, scope in tokens.items():
            if token.startswith(SHA256_PREFIX):
                digest = bytes.fromhex(token.removeprefix(SHA256_PREFIX))
            else:
                digest = _digest(token)
            self._scopes[digest] = scope

    @classmethod
    def read(cls, path: Path) -> TokenTable:
        return cls(read_tokens(path))

    def scope_of(self, token: str) -> str | None:
        wanted = _digest(token)
        for digest, scope in self._scopes.items():
            if hmac.compare_digest(digest, wanted):
                return scope
        return None


def bearer_token(metadata: Any) -> str | None:
    value = metadata_value(metadata, "authorization")
    if value is None:
        return None
    kind, _, token = value.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _refusal(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def refuse(_request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return same_kind_handler(handler, refuse)


class AuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """UNAUTHENTICATED without a known token; PERMISSION_DENIED when its scope is short."""

    def __init__(self, tokens: TokenTable) -> None:
        self.tokens = tokens

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method
        needed = required_scope(method)
        handler = continuation(handler_call_details)
        if handler is None or needed == "":
            return handler
        token = bearer_token(handler_call_details.invocation_metadata)
        if token is None:
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, "no 'authorization: Bearer TOKEN' metadata")
        scope = self.tokens.scope_of(token)
        if scope is None:
            return _refusal(handler, grpc.StatusCode.UNAUTHENTICATED, "unknown token")
        if needed is None:
            return _refusal(handler, grpc.StatusCode.PERMISSION_DENIED, f"{method} is allowed to no scope")
        if needed not in GRANTS[scope]:
            return _refusal(
                handler, grpc.StatusCode.PERMISSION_DENIED, f"{method} needs scope {needed!r}, token has {scope!r}"
            )
        return handler
