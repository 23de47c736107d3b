# syntax=docker/dockerfile:1
# disambig server image: python:3.11-slim, non-root, the default model inside the wheel.
#   docker build -t disambig .        docker compose up -d      (see README, "Deploy")
ARG PYTHON_IMAGE=python:3.11-slim

# -- build: the wheel (its build hook generates the protobuf code from protos/ and puts
#    models/default in as disambig/_default_model), plus wheels of every dependency.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml hatch_build.py README.md ./
COPY protos ./protos
COPY models/default ./models/default
COPY disambig ./disambig
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# -- runtime: no compilers, no sources; installs only from the wheels built above.
FROM ${PYTHON_IMAGE}
# MALLOC_ARENA_MAX: glibc gives each of the server's worker threads its own heap arena, and the
# server's memory then grows with the registry long after its caches are full (measured: 19 KB a
# stored mention under tests/reliability/test_load.py, 11 KB with 2 arenas, for 1-3% fewer calls
# a second).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DISAMBIG_HOST=0.0.0.0 \
    DISAMBIG_PORT=50051 \
    DISAMBIG_DB=sqlite:////var/lib/disambig/disambig.db \
    DISAMBIG_LOG_FORMAT=json \
    MALLOC_ARENA_MAX=2
# Pinned already: --no-index installs exactly the wheels built above.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "disambig[postgres]" \
    && groupadd --system --gid 10001 disambig \
    && useradd --system --uid 10001 --gid disambig --home-dir /var/lib/disambig --create-home \
       --shell /usr/sbin/nologin disambig
WORKDIR /var/lib/disambig
USER 10001:10001
# gRPC, and the Prometheus endpoint when DISAMBIG_METRICS_PORT=9464.
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["disambig", "health"]
ENTRYPOINT ["disambig"]
CMD ["serve"]
