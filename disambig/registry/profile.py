"""What an identity looks like from its mentions: one rule for the service and the export."""

from __future__ import annotations

from collections import Counter

from disambig.corpus import normalise_orcid


def display_name(names: Counter[str]) -> str:
    """The name written most often (ties: the longest, which carries most of the given names)."""
    return max(names, key=lambda n: (names[n], len(n))) if names else ""


def main_orcid(orcids: Counter[str]) -> str:
    """The ORCID iD seen most often, however written, as 0000-0002-1825-0097; "" when none
    was, or none had a right check character (a placeholder is no one's iD)."""
    valid: Counter[str] = Counter()
    for written, count in orcids.items():
        if digits := normalise_orcid(written):
            valid[digits] += count
    if not valid:
        return ""
    digits = valid.most_common(1)[0][0]
    return "-".join(digits[k : k + 4] for k in range(0, 16, 4))
