"""What an identity looks like from its mentions: one rule for the service and the export."""

from __future__ import annotations

from collections import Counter


def display_name(names: Counter[str]) -> str:
    """The name written most often (ties: the longest, which carries most of the given names)."""
    return max(names, key=lambda n: (names[n], len(n))) if names else ""


def main_orcid(orcids: Counter[str]) -> str:
    """The ORCID seen most often, or "" when none was."""
    return orcids.most_common(1)[0][0] if orcids else ""
