"""Building and running the gRPC server: health, reflection, graceful shutdown on SIGTERM."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from disambig.engine import Engine
from disambig.errors import ServiceError
from disambig.model import PairwiseModel
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.service.decoding import RequestDecoding
from disambig.service.servicer import MAX_WATCHERS, DisambiguatorServicer
from disambig.stored_mentions import DEFAULT_CAPACITY, StoredMentions
from disambig.v1 import disambig_pb2, disambig_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = disambig_pb2.DESCRIPTOR.services_by_name["Disambiguator"].full_name
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
GRACE_SECONDS = 30.0


def _one_native_thread() -> None:
    """Each worker scores with one OpenMP/BLAS thread: a call scores a small batch, calls run in
    parallel on the workers, and OpenMP threads contending for busy cores made calls several times
    slower (ten Resolve calls of 8 mentions on 2 loaded cores: 6.3 s with the default threads, 1.5 s
    with one)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


REGISTRY_CHECK_SECONDS = 2.0


def set_health(health_servicer: health.HealthServicer, *, serving: bool) -> None:
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    health_servicer.set(SERVICE_NAME, status)
    health_servicer.set("", status)


def _watch_registry(registry: Registry, health_servicer: health.HealthServicer, stopping: threading.Event) -> None:
    """Health follows the registry: NOT_SERVING while it cannot be reached (a load balancer then
    sends calls elsewhere), SERVING again when it returns. Ends when the server stops."""
    while not stopping.wait(REGISTRY_CHECK_SECONDS):
        set_health(health_servicer, serving=registry.reachable())


def _warm_up(resolver: Resolver, seconds: float) -> None:
    started = time.monotonic()
    blocks, mentions = resolver.warm_up(seconds)
    log.info("warmed %d name blocks (%d mentions) in %.1f s", blocks, mentions, time.monotonic() - started)


def create_server(
    address: str,
    model: PairwiseModel,
    registry: Registry,
    workers: int = 8,
    *,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    stopping: threading.Event | None = None,
    warm_up_seconds: float = 0.0,
    cache_mentions: int = DEFAULT_CAPACITY,
) -> tuple[grpc.Server, int]:
    """A started-ready server bound to address ('host:0' picks a free port); returns it and its port.

    interceptors run in order, the first outermost (then `RequestDecoding`); with credentials the port speaks TLS only.
    Setting `stopping` ends the open WatchChanges streams: set it before a graceful stop, or they
    hold the shutdown for the whole grace period. Each open watch holds a worker thread, so at
    most half the workers may watch. With `warm_up_seconds`, the largest name blocks are loaded
    for up to that long before the server is returned (see Resolver.warm_up). `cache_mentions`
    bounds the stored mentions the resolver keeps in memory.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, initializer=_one_native_thread),
        # Innermost, so every outer interceptor sees an undecodable request answered INVALID_ARGUMENT.
        interceptors=[*interceptors, RequestDecoding()],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
        ],
    )
    resolver = Resolver(model, registry, StoredMentions(cache_mentions, embed=model.needs_embeddings))
    if warm_up_seconds > 0:
        _warm_up(resolver, warm_up_seconds)
    servicer = DisambiguatorServicer(
        resolver,
        Engine(model, jobs=1),
        registry,
        max_watchers=max(1, min(MAX_WATCHERS, workers // 2)),
        stopping=stopping,
    )
    disambig_pb2_grpc.add_DisambiguatorServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    set_health(health_servicer, serving=True)
    if stopping is not None:
        threading.Thread(
            target=_watch_registry, args=(registry, health_servicer, stopping), name="registry-health", daemon=True
        ).start()
    reflection.enable_server_reflection((SERVICE_NAME, reflection.SERVICE_NAME, health.SERVICE_NAME), server)
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc raises RuntimeError when the address cannot be bound
        raise ServiceError(f"cannot listen on {address} ({exc})") from exc
    return server, port


def serve(address: str, model: PairwiseModel, registry: Registry) -> None:
    """Run until SIGTERM or SIGINT with default settings on address; see disambig.service.app.serve."""
    from disambig.service.app import serve as serve_settings
    from disambig.settings import Settings

    host, _, port = address.rpartition(":")
    serve_settings(Settings(host=host, port=int(port), grace_seconds=GRACE_SECONDS), model, registry)
