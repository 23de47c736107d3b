"""The error tree: adapters map these to exit codes (CLI) or status codes (gRPC)."""

from __future__ import annotations

from dataclasses import dataclass


class DisambigError(Exception):
    """Base of every error disambig raises on purpose."""


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One invalid field of one input record."""

    field: str
    description: str


class InvalidMentionError(DisambigError):
    """A mention record is malformed; names the record and the fields at fault."""

    def __init__(self, where: str, violations: list[FieldViolation]) -> None:
        self.where = where
        self.violations = violations
        detail = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"{where}: {detail}")


class InputFileError(DisambigError):
    """A whole input file (or one of its lines) cannot be read."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        super().__init__(f"{location}: {message}")


class ModelError(DisambigError):
    """A model artifact is missing, incompatible or refused by the safe loader."""


class OutputError(DisambigError):
    """The output could not be written (a full disk, a device that refuses): not the input's fault."""


class ServiceError(DisambigError):
    """A server or registry failed or could not be reached: not the input's fault."""


class DeadlineExceeded(DisambigError):
    """The caller stopped waiting (deadline passed or call cancelled) before the work was stored."""
