"""Re-clustering stored mentions (after a model upgrade or curation) with stable identity ids.

Each new cluster takes the old id it overlaps most (largest overlaps first, each old id once), so
an old id stays with its larger part; a cluster left without an old id gets a new one recording
the identity it was split from; curation constraints are honoured; ids left without mentions
redirect to their heir, as a merge does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from disambig.corpus import build_table
from disambig.engine import cluster_table
from disambig.mention import mention_from_record
from disambig.model import PairwiseModel
from disambig.names import parse_name
from disambig.registry import Registry
from disambig.registry.store import BlockSession, new_identity_id


@dataclass
class ReclusterReport:
    blocks: int = 0
    mentions: int = 0
    mentions_moved: int = 0
    ids_created: int = 0
    ids_kept: int = 0
    mentions_rekeyed: int = 0


def _largest_source(overlap: Counter[tuple[int, str]], label: int) -> str:
    """The old identity that gave a new cluster most of its mentions (ties: the smallest id)."""
    return min((owner for lab, owner in overlap if lab == label), key=lambda owner: (-overlap[label, owner], owner))


@dataclass(frozen=True)
class _BlockPlan:
    """A block's new clustering: each mention's identity, the ids it creates and where each came from."""

    identity_of: dict[str, str]
    created: list[str]
    origin: dict[str, str]
    moved: int
    kept: int


def _plan(model: PairwiseModel, session: BlockSession, key: str) -> _BlockPlan | None:
    """The block clustered again as the session reads it, None for an empty block."""
    stored = session.block(key)
    if not stored:
        return None
    ids = [mid for mid, _, _ in stored]
    row_of = {mid: k for k, mid in enumerate(ids)}
    mentions = [mention_from_record(dict(r), f"registry {mid}", default_id=mid, stored=True) for mid, _, r in stored]
    names = [parse_name(m.name) for m in mentions]
    table = build_table(mentions, names, model.text_prior, embed=model.needs_embeddings)
    must, cannot = session.constraints_of_block(key)
    pairs = [(row_of[a], row_of[b]) for a, b in cannot if a in row_of and b in row_of and a != b]
    links = [(row_of[a], row_of[b]) for a, b in must if a in row_of and b in row_of and a != b]
    labels, _ = cluster_table(model, table, pairs, links)
    old = [owner for _, owner, _ in stored]
    overlap = Counter((int(label), owner) for label, owner in zip(labels, old, strict=True))
    taken: set[str] = set()
    id_of_label: dict[int, str] = {}
    for (label, owner), _ in sorted(overlap.items(), key=lambda item: (-item[1], item[0])):
        if label not in id_of_label and owner not in taken:
            id_of_label[label] = owner
            taken.add(owner)
    created = []
    origin: dict[str, str] = {}
    for label in sorted(set(int(x) for x in labels)):
        if label not in id_of_label:
            id_of_label[label] = new_identity_id()
            created.append(id_of_label[label])
            # Like a curated split: the new identity records the one it came from.
            origin[id_of_label[label]] = _largest_source(overlap, label)
    identity_of = {mid: id_of_label[int(label)] for mid, label in zip(ids, labels, strict=True)}
    moved = sum(identity_of[mid] != owner for mid, owner in zip(ids, old, strict=True))
    return _BlockPlan(identity_of, created, origin, moved, len(taken))


def recluster(
    model: PairwiseModel, registry: Registry, block_keys: Iterable[str] | None = None, *, rekey: bool = False
) -> ReclusterReport:
    """Re-cluster the given blocks (default: all). With `rekey`, mentions that this version's
    name parser reads into another block than they are stored in move there first, and the blocks
    they leave and join are re-clustered too."""
    report = ReclusterReport()
    keys = list(block_keys) if block_keys is not None else None
    if rekey:
        moves = registry.misplaced()
        registry.rekey(moves)
        report.mentions_rekeyed = len(moves)
        if keys is not None:
            touched = {m.stored_key for m in moves} | {m.block_key for m in moves}
            keys = sorted(set(keys) | touched)
    for key in keys if keys is not None else registry.block_keys():
        # Clustered without holding the feed lock, which would hold every other writer back for
        # as long as a big block takes; decided again under it if the block changed meanwhile.
        with registry.reading() as session:
            since = session.last_change()
            plan = _plan(model, session, key)
        if plan is None:
            continue
        with registry.writing() as session:
            if session.changed_since(since, [key]):
                plan = _plan(model, session, key)
                if plan is None:
                    continue
            session.reassign(key, plan.identity_of, plan.created, split_from=plan.origin)
        report.blocks += 1
        report.mentions += len(plan.identity_of)
        report.mentions_moved += plan.moved
        report.ids_created += len(plan.created)
        report.ids_kept += plan.kept
    return report
