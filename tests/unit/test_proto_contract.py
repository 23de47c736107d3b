"""The gRPC contract: generated code imports, Mention matches the JSONL record, buf is happy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format

from disambig.mention import LIST_FIELDS, TEXT_FIELDS, mention_from_record
from disambig.v1 import disambig_pb2, disambig_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
# buf-bin installs `buf` beside the interpreter; CI runs .venv/bin/python without activating.
BUF = shutil.which("buf", path=str(Path(sys.executable).parent)) or shutil.which("buf")
needs_buf = pytest.mark.skipif(BUF is None, reason="buf not installed (pip install -e '.[dev]' brings buf-bin)")


def test_mention_fields_are_the_jsonl_fields() -> None:
    proto_fields = {f.name for f in disambig_pb2.Mention.DESCRIPTOR.fields}
    assert proto_fields == set(TEXT_FIELDS) | set(LIST_FIELDS) | {"year"}


def test_proto3_json_of_a_mention_is_a_valid_jsonl_line() -> None:
    message = disambig_pb2.Mention(
        mention_id="m1", name="D. Haziza", coauthors=["M. Oquab"], title="DINOv2", year=2023, orcid="0000-0001"
    )
    line = json_format.MessageToJson(message, preserving_proto_field_name=True, indent=None)
    mention = mention_from_record(json.loads(line), "line 1", default_id="unused")
    assert (mention.mention_id, mention.name, mention.coauthors, mention.year) == (
        "m1",
        "D. Haziza",
        ("M. Oquab",),
        2023,
    )


def test_service_has_every_rpc_of_the_contract() -> None:
    service = disambig_pb2.DESCRIPTOR.services_by_name["Disambiguator"]
    assert {m.name for m in service.methods} == {
        "Resolve",
        "ResolveStream",
        "Cluster",
        "GetIdentity",
        "ListIdentityMentions",
        "SearchIdentities",
        "MergeIdentities",
        "SplitIdentity",
        "ListChanges",
        "WatchChanges",
    }
    assert hasattr(disambig_pb2_grpc, "DisambiguatorServicer")


@needs_buf
def test_buf_lint_passes() -> None:
    result = subprocess.run([BUF, "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_buf
def test_no_breaking_change_against_the_committed_proto() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing committed to compare with")
    against = f"{ROOT / '.git'}#ref=HEAD,subdir=protos"
    result = subprocess.run(
        [BUF, "breaking", "--against", against], cwd=ROOT / "protos", capture_output=True, text=True
    )
    if "had no .proto files" in result.stderr or "does not exist" in result.stderr.lower():
        pytest.skip(f"the committed tree has no protos yet: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
