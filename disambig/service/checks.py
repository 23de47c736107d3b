"""Checks of request fields other than mentions (disambig.mention checks those): each names the
field at fault, and a failed check is an InvalidRequest (INVALID_ARGUMENT with field violations)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

from disambig.blocking import registry_block_key
from disambig.errors import FieldViolation
from disambig.mention import MAX_SHORT_TEXT_CHARS, Mention
from disambig.registry.store import MAX_BLOCK_KEY_CHARS, MAX_MENTION_ID_CHARS
from disambig.service.status import InvalidRequest


def text(value: str, field: str, *, required: bool = False, limit: int = MAX_SHORT_TEXT_CHARS) -> list[FieldViolation]:
    if required and not value.strip():
        return [FieldViolation(field, "is required")]
    if len(value) > limit:
        return [FieldViolation(field, f"longer than {limit} characters ({len(value)})")]
    if "\x00" in value:  # never meaningful in an id or a query, and PostgreSQL text cannot hold it
        return [FieldViolation(field, "contains a NUL character")]
    return []


def storable(mentions: Sequence[Mention], field: str = "mentions") -> list[FieldViolation]:
    """Mentions the registry can store: ids and name blocks within its column widths."""
    found: list[FieldViolation] = []
    for k, mention in enumerate(mentions):
        if len(mention.mention_id) > MAX_MENTION_ID_CHARS:
            found.append(
                FieldViolation(
                    f"{field}[{k}].mention_id", f"longer than {MAX_MENTION_ID_CHARS} characters, the registry's limit"
                )
            )
        if len(registry_block_key(mention.name)) > MAX_BLOCK_KEY_CHARS:
            found.append(FieldViolation(f"{field}[{k}].name", f"surname longer than {MAX_BLOCK_KEY_CHARS} characters"))
    return found


def ids(values: Sequence[str], field: str, *, at_least: int = 1) -> list[FieldViolation]:
    if len(values) < at_least:
        needs = "is required" if at_least == 1 else f"needs at least {at_least} ids, got {len(values)}"
        return [FieldViolation(field, needs)]
    return [v for k, value in enumerate(values) for v in text(value, f"{field}[{k}]", required=True)]


def not_negative(value: int, field: str) -> list[FieldViolation]:
    return [FieldViolation(field, f"must not be negative ({value})")] if value < 0 else []


def checked(*found: list[FieldViolation]) -> None:
    """Raise one InvalidRequest naming every violation found, if any."""
    violations = [v for group in found for v in group]
    if violations:
        raise InvalidRequest(violations)


# A page token is opaque to clients: it names the listing it belongs to and where the next page
# starts, so a token from another listing, or no token at all, is refused rather than misread.
def page_token(identity_id: str, after: str | None) -> str:
    if after is None:
        return ""
    return base64.urlsafe_b64encode(json.dumps([identity_id, after]).encode()).decode("ascii")


def page_after(token: str, identity_id: str) -> str | None:
    """Where the page asked for starts (None: the first page), from a token of page_token."""
    if not token:
        return None
    try:
        decoded = json.loads(base64.b64decode(token, altchars=b"-_", validate=True))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: brackets nested past the parser's depth
        decoded = None
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(_storable_text(x) for x in decoded)):
        raise InvalidRequest([FieldViolation("page_token", "is not a page token of this service")])
    if decoded[0] != identity_id:
        raise InvalidRequest([FieldViolation("page_token", f"belongs to a listing of {decoded[0]!r}")])
    return str(decoded[1])


def _storable_text(value: object) -> bool:
    """A string the registry can take as a key: no NUL, and UTF-8 encodable (JSON can spell a lone
    surrogate, "\\ud800", which no database text holds)."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
