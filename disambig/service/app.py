"""The composition root of `disambig serve`: settings in, a running server with its interceptors out.

Interceptors, outermost first: observing (the RPC log, metrics) then authentication, so refused
calls are counted and logged with their UNAUTHENTICATED or PERMISSION_DENIED code.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

import grpc

from disambig.model import PairwiseModel
from disambig.registry import Registry
from disambig.service.auth import AuthInterceptor, TokenTable
from disambig.service.intercept import Observer, ObservingInterceptor
from disambig.service.logs import RpcLog
from disambig.service.server import create_server
from disambig.settings import Settings

log = logging.getLogger(__name__)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the settings; mutual TLS (client certificate required) with a client CA."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


@dataclass
class RunningService:
    """A started server, its bound port, and its metrics endpoint if any."""

    server: grpc.Server
    port: int
    metrics_port: int | None = None
    metrics_httpd: WSGIServer | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self, grace: float | None = None) -> None:
        """Stop taking calls, end change-feed watches, let other in-flight calls finish within
        grace seconds, then stop metrics."""
        self.stopping.set()
        self.server.stop(grace).wait()
        if self.metrics_httpd is not None:
            self.metrics_httpd.shutdown()
            self.metrics_httpd.server_close()


def start_service(settings: Settings, model: PairwiseModel, registry: Registry) -> RunningService:
    """Build and start the server the settings describe (they are assumed checked)."""
    from disambig.service.metrics import Metrics

    observers: list[Observer] = [RpcLog()]
    metrics = Metrics(model, registry) if settings.metrics_port else None
    if metrics is not None:
        observers.append(metrics)
    interceptors: list[grpc.ServerInterceptor] = [ObservingInterceptor(observers)]
    stopping = threading.Event()
    if settings.auth_tokens is not None:
        interceptors.append(AuthInterceptor(TokenTable.read(settings.auth_tokens)))
        if not settings.tls:
            log.warning("token authentication without TLS: tokens cross the network in clear text")
    server, port = create_server(
        settings.address,
        model,
        registry,
        settings.workers,
        interceptors=interceptors,
        credentials=server_credentials(settings),
        max_message_bytes=settings.max_message_bytes,
        stopping=stopping,
        warm_up_seconds=settings.warm_up_seconds,
        cache_mentions=settings.cache_mentions,
    )
    server.start()
    running = RunningService(server, port, stopping=stopping)
    if metrics is not None:
        try:
            running.metrics_httpd, running.metrics_port = metrics.serve(
                settings.metrics_host or settings.host, settings.metrics_port
            )
        except OSError as exc:
            server.stop(None)
            from disambig.errors import ServiceError

            raise ServiceError(f"cannot serve metrics on port {settings.metrics_port} ({exc})") from exc
    return running


def describe(settings: Settings, port: int, metrics_ports: Sequence[int], model_version: str) -> str:
    """The line that says a server is up, and how."""
    metrics = ""
    if metrics_ports:
        shown = ", ".join(str(p) for p in metrics_ports)
        metrics = f", metrics on port{'s' if len(metrics_ports) > 1 else ''} {shown}"
    processes = f", {settings.processes} processes" if settings.processes > 1 else ""
    return (
        f"disambig serving on {settings.host}:{port} ({'TLS' if settings.tls else 'plaintext'}"
        f"{', client certificates required' if settings.tls_client_ca else ''}{processes}){metrics}, "
        f"model {model_version}"
    )


def serve(
    settings: Settings,
    model: PairwiseModel,
    registry: Registry,
    on_ready: Callable[[RunningService], None] | None = None,
) -> None:
    """Run until SIGTERM or SIGINT; in-flight calls get settings.grace_seconds to finish.
    `on_ready` is told once calls are taken; by default the server says so in its log."""
    running = start_service(settings, model, registry)
    # What is in memory now (the model, the warmed caches) stays for the life of the process: out
    # of the garbage collector's full passes, which walked all of it and paused calls for up to
    # hundreds of milliseconds.
    gc.collect()
    gc.freeze()
    stopped = threading.Event()
    stopping = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        if stopping.is_set():  # a second signal while stopping: the first one's grace still holds
            return
        stopping.set()
        log.warning("signal %d: finishing in-flight calls (up to %gs)", signum, settings.grace_seconds)
        running.stop(settings.grace_seconds)
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if on_ready is None:
        metrics_ports = [running.metrics_port] if running.metrics_port else []
        log.warning("%s", describe(settings, running.port, metrics_ports, model.version))
    else:
        on_ready(running)
    stopped.wait()
