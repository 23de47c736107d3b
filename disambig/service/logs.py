"""Server logs: text or JSON lines, one line per RPC with method, code, duration and request id
(successful health probes at debug level only).

Call metadata is never logged, so tokens never reach a log; as a second guard, a filter blanks
anything that looks like a bearer token in any message.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import grpc
import orjson

from disambig.service.intercept import Call

RPC_LOGGER = "disambig.rpc"
HEALTH_SERVICE = "grpc.health.v1.Health"
# Fields an RPC log line carries, as `extra` attributes of its record.
RPC_FIELDS = ("method", "code", "duration_ms", "request_id", "peer")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
# Codes that say the server, not the caller, has a problem.
SERVER_FAULTS = frozenset(
    {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS, grpc.StatusCode.UNAVAILABLE}
)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BEARER.search(message):
            record.msg, record.args = _BEARER.sub(r"\1[redacted]", message), None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, and the RPC fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in RPC_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(log_format: str = "text", level: str = "info", stream: IO[str] | None = None) -> logging.Handler:
    """Route all logs to one handler on stderr (or stream) in the given format; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Alembic lists its plugins at INFO on every start; its migration lines stay.
    logging.getLogger("alembic.runtime.plugins").setLevel(max(root.level, logging.WARNING))
    return handler


class RpcLog:
    """Observer: one log line per finished call."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or logging.getLogger(RPC_LOGGER)

    def on_start(self, call: Call) -> None:
        pass

    def on_response(self, call: Call, response: Any) -> None:
        pass

    def on_finish(self, call: Call) -> None:
        level = logging.ERROR if call.code in SERVER_FAULTS else logging.INFO
        if call.service == HEALTH_SERVICE and call.code == grpc.StatusCode.OK:
            level = logging.DEBUG  # a probe every few seconds would drown the calls that matter
        if not self.log.isEnabledFor(level):
            return
        method = f"{call.service}/{call.method}"
        duration_ms = round(call.seconds * 1000, 3)
        self.log.log(
            level,
            "%s %s %.1fms request_id=%s",
            method,
            call.code.name,
            duration_ms,
            call.request_id,
            extra={
                "method": method,
                "code": call.code.name,
                "duration_ms": duration_ms,
                "request_id": call.request_id,
                "peer": call.peer,
            },
        )
