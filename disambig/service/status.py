"""One place that maps domain errors to gRPC status codes, with google.rpc details.

Registry (database) failures are mapped too, never left to surface as UNKNOWN: full storage is
RESOURCE_EXHAUSTED, a registry that is down, unreachable or busy is UNAVAILABLE (the call may be
retried), a value the database refuses is INVALID_ARGUMENT. Their message is the database's own
first line, never the SQL statement or its parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from sqlalchemy import exc as sa_exc

from disambig.errors import DeadlineExceeded, DisambigError, FieldViolation, InvalidMentionError
from disambig.registry import UnknownIdentityError
from disambig.registry.store import CurationError

F = TypeVar("F", bound=Callable[..., Any])
SQLITE_FULL = 13  # sqlite3.SQLITE_FULL: "database or disk is full"
PG_DISK_FULL = "53100"  # SQLSTATE disk_full


class RequestTooLarge(DisambigError):
    """A request over the server's limits."""


class InvalidRequest(DisambigError):
    """A request field other than a mention is missing or malformed; names every field at fault."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


def abort_for(context: grpc.ServicerContext, exc: DisambigError) -> None:
    """End the call with the status code (and details) this domain error stands for."""
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
        (DeadlineExceeded, grpc.StatusCode.DEADLINE_EXCEEDED),
    )
    for kind, code in codes:
        if isinstance(exc, kind):
            context.abort(code, str(exc))
    context.abort(grpc.StatusCode.INTERNAL, str(exc))


def registry_status(exc: sa_exc.SQLAlchemyError) -> tuple[grpc.StatusCode, str]:
    """The status code and message a registry failure is answered with."""
    orig = getattr(exc, "orig", None)
    reason = next(iter(str(orig or exc).strip().splitlines()), "") or type(orig or exc).__name__
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if (isinstance(sqlite_code, int) and sqlite_code & 0xFF == SQLITE_FULL) or getattr(orig, "sqlstate", None) == (
        PG_DISK_FULL
    ):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, f"registry storage is full: {reason}"
    unreachable = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)
    if isinstance(exc, unreachable) or getattr(exc, "connection_invalidated", False):
        return grpc.StatusCode.UNAVAILABLE, f"registry unavailable, try again later: {reason}"
    if isinstance(exc, sa_exc.DataError):
        return grpc.StatusCode.INVALID_ARGUMENT, f"a value the registry cannot store: {reason}"
    return grpc.StatusCode.INTERNAL, f"registry error: {reason}"


def mapped(method: F) -> F:
    """Unary RPC: domain errors become status codes."""

    @wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except DisambigError as exc:
            abort_for(context, exc)
        except sa_exc.SQLAlchemyError as exc:
            context.abort(*registry_status(exc))

    return wrapper  # type: ignore[return-value]


def mapped_stream(method: F) -> F:
    """Streaming RPC: the same mapping for errors raised while streaming."""

    @wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from method(self, request, context)
        except DisambigError as exc:
            abort_for(context, exc)
        except sa_exc.SQLAlchemyError as exc:
            context.abort(*registry_status(exc))

    return wrapper  # type: ignore[return-value]
