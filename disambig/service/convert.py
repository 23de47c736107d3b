"""Protobuf messages to domain objects and back. Validation stays in disambig.mention."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf import json_format

from disambig.errors import FieldViolation, InvalidMentionError
from disambig.mention import Mention, mention_from_record
from disambig.registry import Change, IdentityRecord
from disambig.registry.profile import display_name, main_orcid
from disambig.resolving import Resolution
from disambig.v1 import disambig_pb2 as pb

MAX_MENTIONS_PER_REQUEST = 10_000


def mentions_from_proto(messages: Sequence[pb.Mention], field: str = "mentions") -> list[Mention]:
    """Validate every mention of a request; one error lists every bad field of every mention."""
    out: list[Mention] = []
    violations: list[FieldViolation] = []
    seen: set[str] = set()
    for k, message in enumerate(messages):
        where = f"{field}[{k}]"
        try:
            mention = mention_from_proto(message, where)
        except InvalidMentionError as exc:
            violations += exc.violations
            continue
        if mention.mention_id in seen:
            violations.append(FieldViolation(f"{where}.mention_id", f"{mention.mention_id!r} repeats in the request"))
        seen.add(mention.mention_id)
        out.append(mention)
    if violations:
        raise InvalidMentionError("request", violations)
    return out


def mention_from_proto(message: pb.Mention, where: str) -> Mention:
    """Validate one mention; violations are named by their path in the request, e.g. context.name."""
    record = json_format.MessageToDict(message, preserving_proto_field_name=True)
    try:
        mention = mention_from_record(record, where, default_id="")
    except InvalidMentionError as exc:
        violations = [FieldViolation(f"{where}.{v.field}", v.description) for v in exc.violations]
        raise InvalidMentionError("request", violations) from None
    if not mention.mention_id:
        raise InvalidMentionError("request", [FieldViolation(f"{where}.mention_id", "is required")])
    return mention


def resolution_to_proto(resolution: Resolution) -> pb.Resolution:
    return pb.Resolution(
        mention_id=resolution.mention_id,
        identity_id=resolution.identity_id,
        confidence=resolution.confidence,
        created=resolution.created,
        alternatives=[pb.Alternative(identity_id=i, probability=p) for i, p in resolution.alternatives],
        explanation=list(resolution.explanation),
    )


def mention_to_proto(record: Mapping[str, Any]) -> pb.Mention:
    message = pb.Mention()
    json_format.ParseDict({k: v for k, v in record.items() if v not in (None, "")}, message, ignore_unknown_fields=True)
    return message


def identity_to_proto(record: IdentityRecord, mentions: Sequence[Mapping[str, Any]]) -> pb.Identity:
    """An identity with the profile pooled from its mentions."""
    names = Counter(str(m.get("name", "")) for m in mentions)
    coauthors = Counter(c for m in mentions for c in m.get("coauthors", []))
    topics = Counter(t for m in mentions for t in m.get("topics", []))
    affiliations = Counter(a for m in mentions for a in m.get("affiliations", []))
    years = [int(m["year"]) for m in mentions if m.get("year")]
    orcids = Counter(str(m["orcid"]) for m in mentions if m.get("orcid"))
    return pb.Identity(
        identity_id=record.resolved_id,
        display_name=display_name(names),
        name_variants=sorted(names),
        mention_count=record.mention_count,
        top_coauthors=[c for c, _ in coauthors.most_common(10)],
        top_topics=[t for t, _ in topics.most_common(10)],
        first_year=min(years) if years else 0,
        last_year=max(years) if years else 0,
        affiliations=[a for a, _ in affiliations.most_common(10)],
        orcid=main_orcid(orcids),
        split_from=record.split_from or "",
    )


def change_to_proto(change: Change) -> pb.Change:
    return pb.Change(
        seq=change.seq,
        kind=change.kind,
        identity_id=change.identity_id,
        other_identity_id=change.other_identity_id or "",
        mention_id=change.mention_id or "",
        detail_json=json.dumps(dict(change.detail), sort_keys=True, separators=(",", ":")),
    )


def change_from_proto(message: pb.Change) -> Change:
    return Change(
        seq=message.seq,
        kind=message.kind,
        identity_id=message.identity_id,
        other_identity_id=message.other_identity_id or None,
        mention_id=message.mention_id or None,
        detail=json.loads(message.detail_json) if message.detail_json else {},
    )
