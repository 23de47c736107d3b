"""Server interceptor plumbing: wrap any RPC handler so observers see each call and its outcome.

One ObservingInterceptor times every call once, determines its status code, and hands the
finished `Call` to its observers (metrics, the RPC log); it also passes each response message
to them, which is how resolutions are counted without touching the servicer.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


@dataclass
class Call:
    """One RPC as the observers see it."""

    service: str
    method: str
    kind: str  # unary | client_stream | server_stream | bidi_stream
    request_id: str
    peer: str = ""
    code: grpc.StatusCode = grpc.StatusCode.OK
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)


class Observer(Protocol):
    def on_start(self, call: Call) -> None: ...

    def on_response(self, call: Call, response: Any) -> None: ...

    def on_finish(self, call: Call) -> None: ...


def split_method(full_method: str) -> tuple[str, str]:
    """'/pkg.Service/Method' -> ('pkg.Service', 'Method')."""
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


def metadata_value(metadata: Sequence[tuple[str, str | bytes]] | None, key: str) -> str | None:
    for k, v in metadata or ():
        if k == key:
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else v
    return None


def request_id(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The caller's x-request-id if it is a sane token, else a new one."""
    given = metadata_value(metadata, REQUEST_ID_HEADER)
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def handler_kind(handler: grpc.RpcMethodHandler) -> str:
    return {
        (False, False): "unary",
        (True, False): "client_stream",
        (False, True): "server_stream",
        (True, True): "bidi_stream",
    }[(handler.request_streaming, handler.response_streaming)]


def behavior_of(handler: grpc.RpcMethodHandler) -> Callable[..., Any]:
    return handler.unary_unary or handler.unary_stream or handler.stream_unary or handler.stream_stream


def same_kind_handler(
    handler: grpc.RpcMethodHandler,
    behavior: Callable[..., Any],
    request_deserializer: Callable[[bytes], Any] | None = None,
) -> grpc.RpcMethodHandler:
    """A handler of the same streaming kind and (de)serializers as `handler` (or this request
    deserializer), running `behavior`."""
    factory = {
        "unary": grpc.unary_unary_rpc_method_handler,
        "client_stream": grpc.stream_unary_rpc_method_handler,
        "server_stream": grpc.unary_stream_rpc_method_handler,
        "bidi_stream": grpc.stream_stream_rpc_method_handler,
    }[handler_kind(handler)]
    return factory(
        behavior,
        request_deserializer=request_deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _outcome(context: grpc.ServicerContext, failed: bool) -> grpc.StatusCode:
    code = context.code()  # set by abort() or set_code()
    if isinstance(code, grpc.StatusCode):
        return code
    if failed:
        return grpc.StatusCode.UNKNOWN if context.is_active() else grpc.StatusCode.CANCELLED
    return grpc.StatusCode.OK


class HandlerInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """An interceptor that rebuilds the handler of each known method (`wrap`). An unknown method
    is left to grpc: UNIMPLEMENTED, with no label or log field for a made-up name."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        return None if handler is None else self.wrap(handler, handler_call_details)

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        raise NotImplementedError


class ObservingInterceptor(HandlerInterceptor):
    """Outermost interceptor: every call to a known method is seen by each observer."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = tuple(observers)

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        service, method = split_method(details.method)
        metadata = details.invocation_metadata
        kind = handler_kind(handler)
        inner = behavior_of(handler)
        observers = self.observers

        def begin(context: grpc.ServicerContext) -> Call:
            call = Call(service, method, kind, request_id(metadata), peer=context.peer())
            for observer in observers:
                observer.on_start(call)
            return call

        def respond(call: Call, response: Any) -> None:
            for observer in observers:
                observer.on_response(call, response)

        def end(call: Call, context: grpc.ServicerContext, failed: bool) -> None:
            call.code = _outcome(context, failed)
            call.seconds = time.perf_counter() - call.started
            for observer in observers:
                observer.on_finish(call)

        if handler.response_streaming:

            def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                call = begin(context)
                try:
                    for response in inner(request, context):
                        respond(call, response)
                        yield response
                except BaseException:  # includes GeneratorExit when the client goes away
                    end(call, context, failed=True)
                    raise
                end(call, context, failed=False)

            return same_kind_handler(handler, streaming)

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            call = begin(context)
            try:
                response = inner(request, context)
            except BaseException:
                end(call, context, failed=True)
                raise
            respond(call, response)
            end(call, context, failed=False)
            return response

        return same_kind_handler(handler, unary)
