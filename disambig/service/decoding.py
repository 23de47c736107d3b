"""Requests that do not decode are the caller's error: INVALID_ARGUMENT, not grpc's INTERNAL.

grpc answers a request message its deserializer cannot parse (bytes that are no protobuf
message, a string field that is not UTF-8) with INTERNAL, "Exception deserializing request!",
before any handler or interceptor sees the call. This interceptor, the innermost, gives each
handler a deserializer that hands such a message on as `Undecodable`, and answers it with
INVALID_ARGUMENT naming the request: a unary call at once, a stream at the message that failed,
after the messages before it were answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from disambig.errors import FieldViolation
from disambig.service.intercept import HandlerInterceptor, behavior_of, same_kind_handler
from disambig.service.status import InvalidRequest, abort_for


@dataclass(frozen=True)
class Undecodable:
    """A request message that did not parse, and why."""

    reason: str


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except DecodeError as exc:
            return Undecodable(str(exc) or type(exc).__name__)

    return parse


def _refusal(message: Undecodable, at: int | None = None) -> InvalidRequest:
    where = "request" if at is None else f"request[{at}]"
    return InvalidRequest([FieldViolation(where, f"is not a valid message of this method: {message.reason}")])


def _checked_stream(requests: Iterator[Any]) -> Iterator[Any]:
    for k, request in enumerate(requests):
        if isinstance(request, Undecodable):
            raise _refusal(request, at=k)
        yield request


class RequestDecoding(HandlerInterceptor):
    """See the module's docstring."""

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        inner = behavior_of(handler)
        deserializer = _lenient(handler.request_deserializer)
        if handler.request_streaming and handler.response_streaming:

            def stream_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
                # A servicer reading the messages maps the refusal raised among them itself, after
                # answering the messages before; this is for one that lets it through.
                try:
                    yield from inner(_checked_stream(requests), context)
                except InvalidRequest as exc:
                    abort_for(context, exc)

            return same_kind_handler(handler, stream_stream, request_deserializer=deserializer)
        if handler.request_streaming:

            def stream_unary(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
                try:
                    return inner(_checked_stream(requests), context)
                except InvalidRequest as exc:
                    abort_for(context, exc)

            return same_kind_handler(handler, stream_unary, request_deserializer=deserializer)

        def single(request: Any, context: grpc.ServicerContext) -> Any:
            if isinstance(request, Undecodable):
                abort_for(context, _refusal(request))
            return inner(request, context)

        return same_kind_handler(handler, single, request_deserializer=deserializer)
