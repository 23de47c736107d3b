"""Prometheus metrics: calls by method and status, resolutions, registry size, model version.

RPC metrics follow the names of go-grpc-prometheus (grpc_server_started_total,
grpc_server_handled_total, grpc_server_handling_seconds with grpc_service, grpc_method,
grpc_type, grpc_code labels) so existing gRPC dashboards work; the latency histogram also
carries grpc_code. Registry figures are counted on scrape with a few aggregate queries, at most
once every `stats_ttl` seconds. Each server gets its own CollectorRegistry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, Info, disable_created_metrics, start_http_server
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from disambig.model import PairwiseModel
from disambig.registry import Registry
from disambig.registry.schema import identities, mentions
from disambig.service.intercept import Call

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BLOCK_SIZE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 3000, 10000, 30000)
# Responses whose resolutions are stored: Cluster's are not (stateless).
RESOLVING_METHODS = frozenset({"Resolve", "ResolveStream"})


def package_version() -> str:
    try:
        return version("disambig")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class RegistryStats:
    mentions: int
    identities: int
    block_sizes: list[tuple[int, int]]  # (mentions in a block, how many blocks have that many)


def registry_stats(registry: Registry) -> RegistryStats:
    """Counts straight from the registry tables: three aggregate queries, no rows per mention."""
    per_block = select(func.count().label("n")).select_from(mentions).group_by(mentions.c.block_key).subquery()
    with registry.engine.connect() as conn:
        mention_count = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
        identity_count = conn.execute(
            select(func.count()).select_from(identities).where(identities.c.status == "active")
        ).scalar_one()
        sizes = conn.execute(select(per_block.c.n, func.count()).group_by(per_block.c.n)).all()
    return RegistryStats(int(mention_count), int(identity_count), [(int(n), int(k)) for n, k in sizes])


class RegistryCollector(Collector):
    """Registry size and block sizes, counted on scrape (cached for ttl seconds)."""

    def __init__(self, registry: Registry, ttl: float = 30.0) -> None:
        self.registry = registry
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, RegistryStats | None] = (float("-inf"), None)

    def _stats(self) -> RegistryStats | None:
        with self._lock:
            taken, stats = self._cached
            if time.monotonic() - taken >= self.ttl:
                try:
                    stats = registry_stats(self.registry)
                except Exception as exc:  # an unreachable database must not break the scrape
                    log.warning("registry statistics unavailable: %s", type(exc).__name__)
                    stats = None
                self._cached = (time.monotonic(), stats)
            return stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        up = GaugeMetricFamily("disambig_registry_up", "1 if the registry answered the last statistics query.")
        up.add_metric([], 0 if stats is None else 1)
        yield up
        if stats is None:
            return
        yield GaugeMetricFamily("disambig_registry_mentions", "Mentions stored in the registry.", value=stats.mentions)
        yield GaugeMetricFamily(
            "disambig_registry_identities", "Active identities (not merged away).", value=stats.identities
        )
        buckets: list[tuple[str, float]] = []
        for bound in BLOCK_SIZE_BUCKETS:
            buckets.append((str(float(bound)), sum(k for n, k in stats.block_sizes if n <= bound)))
        buckets.append(("+Inf", sum(k for _, k in stats.block_sizes)))
        yield HistogramMetricFamily(
            "disambig_registry_block_size",
            "Stored mentions per name block (the candidates a new mention is scored against).",
            buckets=buckets,
            sum_value=sum(n * k for n, k in stats.block_sizes),
        )


class Metrics:
    """The metrics of one server, and an observer that feeds them from every call."""

    def __init__(self, model: PairwiseModel, registry: Registry | None, stats_ttl: float = 30.0) -> None:
        # No `_created` timestamp series: `disambig_resolutions_created{outcome="linked"}` would mislead.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry()
        labels = ("grpc_service", "grpc_method", "grpc_type")
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", labels, registry=self.registry
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, by status code.",
            (*labels, "grpc_code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its status, by status code.",
            (*labels, "grpc_code"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.resolutions = Counter(
            "disambig_resolutions_total",
            "Mentions resolved: linked to an existing identity, or creating a new one.",
            ("outcome",),
            registry=self.registry,
        )
        for outcome in ("linked", "created"):
            self.resolutions.labels(outcome)
        Info("disambig_model", "The pairwise model being served.", registry=self.registry).info(
            {"version": model.version, "threshold": f"{model.threshold:.3f}"}
        )
        Info("disambig_build", "The disambig package.", registry=self.registry).info({"version": package_version()})
        if registry is not None:
            self.registry.register(RegistryCollector(registry, stats_ttl))

    # -- Observer ------------------------------------------------------------------------
    def on_start(self, call: Call) -> None:
        self.started.labels(call.service, call.method, call.kind).inc()

    def on_response(self, call: Call, response: Any) -> None:
        if call.method not in RESOLVING_METHODS:
            return
        created = sum(1 for r in response.resolutions if r.created)
        if created:
            self.resolutions.labels("created").inc(created)
        if linked := len(response.resolutions) - created:
            self.resolutions.labels("linked").inc(linked)

    def on_finish(self, call: Call) -> None:
        labels = (call.service, call.method, call.kind, call.code.name)
        self.handled.labels(*labels).inc()
        self.latency.labels(*labels).observe(call.seconds)

    # -- endpoint ------------------------------------------------------------------------
    def serve(self, host: str, port: int) -> tuple[WSGIServer, int]:
        """Start the /metrics HTTP endpoint on a daemon thread; returns it and its port."""
        httpd, _thread = start_http_server(port, addr=host, registry=self.registry)
        return httpd, int(httpd.server_address[1])
