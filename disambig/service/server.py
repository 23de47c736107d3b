"""Building and running the gRPC server: health, reflection, graceful shutdown on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from disambig.engine import Engine
from disambig.model import PairwiseModel
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.service.servicer import DisambiguatorServicer
from disambig.v1 import disambig_pb2, disambig_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = disambig_pb2.DESCRIPTOR.services_by_name["Disambiguator"].full_name
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
GRACE_SECONDS = 30.0


def create_server(address: str, model: PairwiseModel, registry: Registry, workers: int = 8) -> tuple[grpc.Server, int]:
    """A started-ready server bound to address ('host:0' picks a free port); returns it and its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    servicer = DisambiguatorServicer(Resolver(model, registry), Engine(model, jobs=1), registry)
    disambig_pb2_grpc.add_DisambiguatorServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((SERVICE_NAME, reflection.SERVICE_NAME, health.SERVICE_NAME), server)
    port = server.add_insecure_port(address)
    return server, port


def serve(address: str, model: PairwiseModel, registry: Registry) -> None:
    """Run until SIGTERM or SIGINT; in-flight calls get GRACE_SECONDS to finish."""
    server, port = create_server(address, model, registry)
    server.start()
    log.warning("disambig serving on port %d", port)
    stopped = threading.Event()

    def stop(signum: int, _frame: object) -> None:
        log.warning("signal %d: finishing in-flight calls", signum)
        server.stop(GRACE_SECONDS).wait()
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopped.wait()
