"""Several server processes on one port: `disambig serve --processes N`.

Resolving a mention is Python and numpy calls, so one Python process serves on about one core
(the GIL). N processes listen on one port (SO_REUSEPORT: the kernel spreads connections over
them); each has its own workers, model and caches, and they share the registry as replicas do:
deciding is optimistic (see disambig.resolving), so they decide at once and only their writes
queue. The parent holds the port, forwards SIGTERM and SIGINT (each server finishes its in-flight
calls), and ends when they have. If one server dies, the parent stops the others and exits with
an error, so that the orchestrator restarts the whole.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from disambig.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def reserved_port(host: str, port: int) -> Iterator[int]:
    """The port bound (never listening) with SO_REUSEPORT while the servers bind it too: port 0
    becomes one free port that every server shares, and no other program takes it meanwhile."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address, port))
        yield int(sock.getsockname()[1])


def _server_process(settings: Settings, ready: Connection, lifeline: Connection) -> None:
    """One server (in a spawned process): tells the parent its model version once it takes calls,
    and stops as on SIGTERM when the parent is gone (its end of `lifeline` closes)."""
    from disambig.model import load_model
    from disambig.registry import Registry
    from disambig.service.app import RunningService, serve
    from disambig.service.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    threading.Thread(target=_stop_when_orphaned, args=(lifeline,), name="lifeline", daemon=True).start()
    model = load_model(settings.model)
    registry = Registry(settings.db)

    def say_ready(_running: RunningService) -> None:
        ready.send(model.version)
        ready.close()

    try:
        serve(settings, model, registry, on_ready=say_ready)
    finally:
        registry.close()


def _stop_when_orphaned(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError):
        lifeline.recv()  # the parent never sends: this returns when its end closes
    log.error("the parent process is gone: stopping")
    os.kill(os.getpid(), signal.SIGTERM)


def serve_processes(settings: Settings) -> int:
    """Run settings.processes servers until SIGTERM or SIGINT; the exit code (0: stopped as asked).
    The registry is assumed migrated. Server k serves metrics on settings.metrics_port + k."""
    from disambig.service.app import describe

    # Spawned, not forked: gRPC's core does not survive a fork, and a spawned server starts clean.
    context = multiprocessing.get_context("spawn")
    servers: list[BaseProcess] = []
    stopping = False

    def stop_servers() -> None:
        for server in servers:
            if server.pid is not None and server.exitcode is None:
                os.kill(server.pid, signal.SIGTERM)  # each finishes its in-flight calls

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            log.warning("signal %d: stopping %d server processes", signum, len(servers))
        stopping = True
        stop_servers()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    lifelines: list[Connection] = []
    failed = False
    try:
        with reserved_port(settings.host, settings.port) as port:
            waiting: dict[Connection, int] = {}
            for k in range(settings.processes):
                receive, send = context.Pipe(duplex=False)
                orphaned, lifeline = context.Pipe(duplex=False)
                metrics_port = settings.metrics_port + k if settings.metrics_port else 0
                own = replace(settings, port=port, processes=1, metrics_port=metrics_port)
                started = context.Process(
                    target=_server_process, args=(own, send, orphaned), name=f"disambig-serve-{k}"
                )
                started.start()
                send.close()  # the server holds the other end: a server that dies closes it
                orphaned.close()
                servers.append(started)
                lifelines.append(lifeline)
                waiting[receive] = k
            version = _wait_until_ready(waiting, servers, lambda: stopping)
            if version is None:
                failed = not stopping
            else:
                metrics_ports = [settings.metrics_port + k for k in range(settings.processes) if settings.metrics_port]
                log.warning("%s", describe(replace(settings, port=port), port, metrics_ports, version))
                ended = wait([server.sentinel for server in servers])
                if not stopping:
                    k = next(k for k, server in enumerate(servers) if server.sentinel in ended)
                    servers[k].join()
                    log.error("server process %d ended (exit code %s): stopping the others", k, servers[k].exitcode)
                    failed = True
    finally:
        if not stopping:  # a server ended, or this process failed: the others stop too
            stopping = True
            stop_servers()
        for k, server in enumerate(servers):
            server.join()
            if server.exitcode != 0:
                log.error("server process %d exited with code %s", k, server.exitcode)
        for lifeline in lifelines:
            lifeline.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 1 if failed or any(server.exitcode != 0 for server in servers) else 0


def _wait_until_ready(
    waiting: dict[Connection, int], servers: list[BaseProcess], stopping: Callable[[], bool]
) -> str | None:
    """The model version once every server takes calls; None if one ended first or a stop came."""
    version = ""
    while waiting:
        if stopping():
            return None
        for ready in wait(list(waiting), timeout=1.0):
            assert isinstance(ready, Connection)
            k = waiting.pop(ready)
            try:
                version = str(ready.recv())
            except EOFError:  # the server ended before taking calls
                servers[k].join()
                log.error("server process %d ended while starting (exit code %s)", k, servers[k].exitcode)
                return None
    return version
