"""Build hook: generate the protobuf and gRPC Python code from protos/ at build and install time.

The generated modules (disambig/v1/disambig_pb2*.py[i]) are never committed; every wheel and
editable install makes them from the committed .proto with grpcio-tools.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ProtoBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "protos"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        from grpc_tools import protoc

        root = Path(self.root)
        protos = sorted((root / "protos").rglob("*.proto"))
        include = str(Path(protoc.__file__).parent / "_proto")
        for proto in protos:
            args = [
                "protoc",
                f"-I{root / 'protos'}",
                f"-I{include}",
                f"--python_out={root}",
                f"--pyi_out={root}",
                f"--grpc_python_out={root}",
                str(proto),
            ]
            if protoc.main(args) != 0:
                raise RuntimeError(f"protoc failed on {proto}")
        # Generated files are git-ignored; artifacts put them in the wheel all the same.
        build_data.setdefault("artifacts", []).extend(["disambig/v1/*_pb2*.py", "disambig/v1/*_pb2*.pyi"])
