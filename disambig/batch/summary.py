"""A summary of a batch run a person can read at a glance: each identity with its name
variants, works, years, top coauthors and topics, largest identities first. Names are listed
with "; " between them, as catalogue names ("Haziza, Daniel") hold commas."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from disambig.mention import Mention

SHOWN_IDENTITIES = 20


@dataclass
class _Profile:
    names: Counter[str] = field(default_factory=Counter)
    works: set[str] = field(default_factory=set)
    mentions: int = 0
    years: list[int] = field(default_factory=list)
    coauthors: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)


class Summary:
    """Accumulates identities as results stream by; memory grows with identities, not text."""

    def __init__(self) -> None:
        self._profiles: dict[str, _Profile] = defaultdict(_Profile)

    def add(self, mention: Mention, identity_id: str) -> None:
        profile = self._profiles[identity_id]
        profile.names[mention.name] += 1
        profile.works.add(mention.work_id or mention.mention_id)
        profile.mentions += 1
        if mention.year:
            profile.years.append(mention.year)
        profile.coauthors.update(mention.coauthors[:50])
        profile.topics.update(mention.topics[:20])

    def render(self, limit: int = SHOWN_IDENTITIES) -> str:
        ranked = sorted(self._profiles.items(), key=lambda item: (-item[1].mentions, item[0]))
        mentions = sum(p.mentions for p in self._profiles.values())
        lines = [f"{len(ranked)} identities from {mentions} mentions"]
        for identity_id, p in ranked[:limit]:
            years = _span(p.years)
            variants = "; ".join(name for name, _ in p.names.most_common(4))
            lines.append(f"  {identity_id}  {variants}  ({len(p.works)} works, {years})")
            if p.coauthors:
                lines.append(f"      coauthors: {'; '.join(c for c, _ in p.coauthors.most_common(5))}")
            if p.topics:
                lines.append(f"      topics: {'; '.join(t for t, _ in p.topics.most_common(5))}")
        if len(ranked) > limit:
            lines.append(f"  ... and {len(ranked) - limit} more identities")
        return "\n".join(lines)


def _span(years: list[int]) -> str:
    if not years:
        return "years unknown"
    first, last = min(years), max(years)
    return str(first) if first == last else f"{first}-{last}"
