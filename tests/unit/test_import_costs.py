"""`disambig cluster` and the other batch commands start without the service's libraries: each
costs start-up time and memory on every run (SQLAlchemy alone cost `disambig cluster` on
aminer110 8% of its wall time and 13 MB)."""

from __future__ import annotations

import json
import subprocess
import sys

SERVICE_LIBRARIES = ("sqlalchemy", "alembic", "psycopg", "grpc", "google.protobuf")


def test_the_cli_imports_no_service_library() -> None:
    code = (
        "import json, sys; from disambig.cli import main; "
        f"print(json.dumps([m for m in {SERVICE_LIBRARIES!r} if m in sys.modules]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
