"""One place that maps domain errors to gRPC status codes, with google.rpc details."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from disambig.errors import DisambigError, FieldViolation, InvalidMentionError
from disambig.registry import UnknownIdentityError
from disambig.registry.store import CurationError

F = TypeVar("F", bound=Callable[..., Any])


class RequestTooLarge(DisambigError):
    """A request over the server's limits."""


class InvalidRequest(DisambigError):
    """A request field other than a mention is missing or malformed; names every field at fault."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


def _abort(context: grpc.ServicerContext, exc: DisambigError) -> None:
    if isinstance(exc, InvalidMentionError | InvalidRequest):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in exc.violations
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(exc), details=[detail])
        context.abort_with_status(rpc_status.to_status(status))
    codes = (
        (UnknownIdentityError, grpc.StatusCode.NOT_FOUND),
        (CurationError, grpc.StatusCode.FAILED_PRECONDITION),
        (RequestTooLarge, grpc.StatusCode.RESOURCE_EXHAUSTED),
    )
    for kind, code in codes:
        if isinstance(exc, kind):
            context.abort(code, str(exc))
    context.abort(grpc.StatusCode.INTERNAL, str(exc))


def mapped(method: F) -> F:
    """Unary RPC: domain errors become status codes."""

    @wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except DisambigError as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]


def mapped_stream(method: F) -> F:
    """Streaming RPC: the same mapping for errors raised while streaming."""

    @wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from method(self, request, context)
        except DisambigError as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]
