"""What a batch run does with malformed entries: fail before writing anything, or report and skip."""

from __future__ import annotations

from collections.abc import Callable

from disambig.batch.listing import ListingReport
from disambig.errors import InputFileError

ON_ERROR = ("fail", "skip")
SHOWN_PROBLEMS = 20


def report_problems(report: ListingReport, on_error: str, echo: Callable[[str], None]) -> None:
    """Print the problems of a listing; with on_error="fail", any problem is an InputFileError."""
    if on_error == "fail" and report.problems:
        first = report.problems[0]
        more = len(report.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; --on-error skip goes on without them)"
        raise InputFileError(first.where, first.message + (suffix if more else ""))
    for problem in [*report.problems, *report.unmatched][:SHOWN_PROBLEMS]:
        echo(f"disambig: skipped {problem.where}: {problem.message}")
    hidden = len(report.problems) + len(report.unmatched) - SHOWN_PROBLEMS
    if hidden > 0:
        echo(f"disambig: ... and {hidden} more skipped entries")
    if report.problems or report.unmatched:
        echo(
            f"disambig: {report.entries} entries read, {report.mentions} mentions kept, "
            f"{len(report.problems)} malformed entries skipped, {len(report.unmatched)} entries without the name"
        )
