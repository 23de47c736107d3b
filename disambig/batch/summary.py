"""A summary of a batch run a person can read at a glance: each identity with its name
variants, works, years, top coauthors and topics, largest identities first. Names are listed
with "; " between them, as catalogue names ("Haziza, Daniel") hold commas."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
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
    """Accumulates identities as results stream by; memory grows with identities, not text.

    A corpus too large for that is summarised in parts that each hold whole identities (the
    shards of disambig.streaming): each part keeps its largest identities (top), and combine
    joins the parts into the summary of the whole, rendered exactly as if built in one piece.
    """

    def __init__(self) -> None:
        self._profiles: dict[str, _Profile] = defaultdict(_Profile)
        self._hidden_identities = 0  # dropped by top(): counted, not shown
        self._hidden_mentions = 0

    def add(self, mention: Mention, identity_id: str) -> None:
        profile = self._profiles[identity_id]
        profile.names[mention.name] += 1
        profile.works.add(mention.work_id or mention.mention_id)
        profile.mentions += 1
        if mention.year:
            profile.years.append(mention.year)
        profile.coauthors.update(mention.coauthors[:50])
        profile.topics.update(mention.topics[:20])

    def _ranked(self) -> list[tuple[str, _Profile]]:
        return sorted(self._profiles.items(), key=lambda item: (-item[1].mentions, item[0]))

    def top(self, limit: int = SHOWN_IDENTITIES) -> Summary:
        """This summary keeping only the `limit` identities render would show first."""
        ranked = self._ranked()
        kept = Summary()
        kept._profiles.update(ranked[:limit])
        kept._hidden_identities = self._hidden_identities + len(ranked[limit:])
        kept._hidden_mentions = self._hidden_mentions + sum(p.mentions for _, p in ranked[limit:])
        return kept

    @classmethod
    def combine(cls, parts: Iterable[Summary]) -> Summary:
        """The summary of parts that share no identity."""
        whole = cls()
        for part in parts:
            if whole._profiles.keys() & part._profiles.keys():
                raise ValueError("summaries to combine share an identity")
            whole._profiles.update(part._profiles)
            whole._hidden_identities += part._hidden_identities
            whole._hidden_mentions += part._hidden_mentions
        return whole

    def render(self, limit: int = SHOWN_IDENTITIES) -> str:
        ranked = self._ranked()
        identities = len(ranked) + self._hidden_identities
        mentions = sum(p.mentions for p in self._profiles.values()) + self._hidden_mentions
        lines = [f"{_counted(identities, 'identity', 'identities')} from {_counted(mentions, 'mention')}"]
        for identity_id, p in ranked[:limit]:
            years = _span(p.years)
            variants = "; ".join(name for name, _ in p.names.most_common(4))
            lines.append(f"  {identity_id}  {variants}  ({_counted(len(p.works), 'work')}, {years})")
            if p.coauthors:
                lines.append(f"      coauthors: {'; '.join(c for c, _ in p.coauthors.most_common(5))}")
            if p.topics:
                lines.append(f"      topics: {'; '.join(t for t, _ in p.topics.most_common(5))}")
        if identities > limit:
            lines.append(f"  ... and {_counted(identities - limit, 'more identity', 'more identities')}")
        return "\n".join(lines)


def _counted(n: int, one: str, many: str = "") -> str:
    """'1 work', '2 works'."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def summarise(results: Iterable[tuple[Mention, str]]) -> Summary:
    """The top() of the summary of some (mention, identity id) results, in input order."""
    summary = Summary()
    for mention, identity_id in results:
        summary.add(mention, identity_id)
    return summary.top()


def _span(years: list[int]) -> str:
    if not years:
        return "years unknown"
    first, last = min(years), max(years)
    return str(first) if first == last else f"{first}-{last}"
