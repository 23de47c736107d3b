"""Online resolution: link each new mention to an identity of the registry, or create one.

A service-layer module: it joins the engine (features, model, constraints) to a registry. A new
mention is scored against every stored mention of its name block; an identity's score is the
mean link probability to its mentions (average linkage, as in batch clustering), and it is a
candidate only if no hard constraint rules it out and at least one of its mentions carries
linking evidence. The best candidate at or above the model's threshold takes the mention.

A new identity's id derives from the mention that created it (the smallest mention id of a
batch-clustered block), as `disambig cluster` derives its ids: a mention is stored once, so the
id is never issued twice, and resolving the same listing into two registries gives the same ids.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from rapidfuzz import fuzz
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from disambig.block_scoring import BlockIndex, IdentityCodes
from disambig.blocking import registry_block_key
from disambig.coauthors import written_coauthor_key
from disambig.corpus import MentionParts, MentionTable, TableWeights, build_table, stack_tables
from disambig.engine import Engine, identity_id_for
from disambig.errors import DeadlineExceeded
from disambig.features import FEATURE_NAMES, BlockNames, PairContext, featurize, linking_evidence, slab_pairs
from disambig.identifiers import PairRules, apply_identifiers, identifier_exclusions, rules_against_earlier_rows
from disambig.mention import Mention
from disambig.model import PairwiseModel
from disambig.names import GivenMatch, ParsedName, fold, given_match, parse_name, swapped
from disambig.registry import NewLink, Registry
from disambig.registry.store import BlockSession, Stored, seqs_needed
from disambig.registry.unchanged_write import Written, supported, write_if_unchanged
from disambig.stored_mentions import Checkpoint, Computed, FeedPosition, StoredBlock, StoredMentions, parts_of

log = logging.getLogger(__name__)

MAX_ALTERNATIVES = 3
MAX_EXPLAINED_MEMBERS = 200
# A request bringing at least 1/JOINT_RATIO as many new mentions as a block holds is clustered
# jointly with the block; fewer are resolved one at a time, which costs less.
JOINT_RATIO = 2
# At most this many waiting calls are taken by one group (the others wait for the next); a group
# is written in one transaction per wave of calls that share no block.
GROUP_MAX_CALLS = 32
# After a wave decided presuming that nothing was written since the feed was last read could not
# be written as decided, the next waves read the feed first: at least this many, doubling with each
# such miss in a row up to the most (another writer is busy: a replica, or a re-sending client).
PRESUME_AGAIN_AFTER = (16, 1024)
# Times a wave is decided and written without the feed lock (the one-statement write, PostgreSQL)
# before it is decided again under the lock when its blocks keep changing meanwhile.
UNLOCKED_TRIES = 2


@dataclass(frozen=True, slots=True)
class Resolution:
    mention_id: str
    identity_id: str
    confidence: float
    created: bool
    alternatives: tuple[tuple[str, float], ...] = ()
    explanation: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class _Arrival:
    """A block's table with an arriving mention as its last row, against the identities of the
    rows before it. `names`, `context` and `codes` are those of the table, its last row and
    `owners`, when the caller keeps them between calls; otherwise they are computed."""

    table: MentionTable
    owners: Sequence[str]  # the identity of each row but the last
    names: BlockNames | None = None
    context: PairContext | None = None
    codes: IdentityCodes | None = None


@dataclass
class _Candidate:
    identity_id: str
    score: float
    best_row: int


@dataclass(eq=False)
class _Job:
    """One resolve call waiting for a group commit."""

    mentions: Sequence[Mention]
    still_wanted: Callable[[], bool] | None
    result: list[Resolution] | None = None
    error: BaseException | None = None
    finished: bool = False
    keys: dict[str, str] = field(init=False)  # mention id -> name block key

    def __post_init__(self) -> None:
        self.keys = {m.mention_id: registry_block_key(m.name) for m in self.mentions}

    @property
    def blocks(self) -> set[str]:
        return set(self.keys.values())

    @property
    def footprint(self) -> set[tuple[str, str]]:
        """What another call must not share to be decided beside this one: its name blocks,
        and its mention ids (one id sent at once under two names: the later call answers with
        what the earlier stored)."""
        return {("block", key) for key in self.keys.values()} | {("mention", mid) for mid in self.keys}


@dataclass
class _Decision:
    """What one call resolves to, decided before anything is written."""

    results: list[Resolution]
    links: list[NewLink]
    computed: list[Computed]


def _waves(group: Sequence[_Job]) -> Iterator[list[_Job]]:
    """The calls in waves whose calls share no name block and no mention id: within a wave each
    call is decided alone, yet the result is that of resolving the calls one by one in order, as
    a call waits for every earlier call it shares one with."""
    remaining = list(group)
    while remaining:
        wave: list[_Job] = []
        later: list[_Job] = []
        seen: set[tuple[str, str]] = set()
        for job in remaining:
            footprint = job.footprint
            (later if footprint & seen else wave).append(job)
            seen |= footprint
        yield wave
        remaining = later


class Resolver:
    """Resolves mentions against a registry with one pairwise model.

    Calls made at once from several threads (a server's workers) are resolved in groups: one
    thread resolves the calls waiting, in their order of arrival, in one transaction per wave of
    calls that share no name block, and every call returns once its transaction is committed
    (group commit: one commit, one lock of the registry, for many small calls). A call's result
    is what resolving the calls one by one in that order would give. If a transaction fails, each
    of its calls is resolved again alone.

    Deciding is optimistic: it reads the registry without locking the name blocks, so several
    processes or replicas decide at once and only the writes queue on the lock. Under the lock,
    a decision is written only if none of its blocks changed since the decision began (no mention
    linked into them, no mention moved anywhere); else it is decided again, under the lock. On
    PostgreSQL, while no other writer seems busy, a decision does not even read the registry first:
    its one-statement write checks that nothing changed since this process last read it
    (`_resolve_presuming`)."""

    def __init__(
        self,
        model: PairwiseModel,
        registry: Registry,
        stored_mentions: StoredMentions | None = None,
        *,
        group_commit: bool = True,
    ) -> None:
        self.model = model
        self.registry = registry
        self.stored_mentions = stored_mentions or StoredMentions(embed=model.needs_embeddings)
        if self.stored_mentions.embed != model.needs_embeddings:
            raise ValueError("the stored-mention cache and the model disagree on sentence embeddings")
        self.group_commit = group_commit
        self._waiting: list[_Job] = []
        self._leading = False
        self._asking = 0  # threads waiting to use the caches alone: they go before the next group
        self._turn = threading.Condition()
        self._read_first = 0  # waves still to read the feed before deciding (see _resolve_presuming)
        self._missed = 0  # presumed waves not written as decided, in a row

    def resolve(self, mentions: Sequence[Mention], still_wanted: Callable[[], bool] | None = None) -> list[Resolution]:
        """One resolution per mention, in order; stored before returning; idempotent by id.

        `still_wanted` is asked just before storing (e.g. a gRPC call's is_active): when the
        caller has given up, nothing is stored and DeadlineExceeded is raised, so a caller never
        misses a resolution that was stored on its behalf."""
        job = _Job(mentions, still_wanted)
        if not self.group_commit:
            with self._alone():
                self._resolve_group([job])
        else:
            self._wait_for_group(job)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def _wait_for_group(self, job: _Job) -> None:
        with self._turn:
            self._waiting.append(job)
        while True:
            with self._turn:
                while (self._leading or self._asking) and not job.finished:
                    self._turn.wait()
                if job.finished:
                    return
                self._leading = True  # this thread resolves the calls waiting, its own among them
                group = self._waiting[:GROUP_MAX_CALLS]
                del self._waiting[:GROUP_MAX_CALLS]
            try:
                self._resolve_group(group)
            finally:
                with self._turn:
                    for waiting in group:
                        if waiting.result is None and waiting.error is None:  # interrupted
                            waiting.error = RuntimeError("the resolution of this call was interrupted")
                        waiting.finished = True
                    self._leading = False
                    self._turn.notify_all()

    @contextmanager
    def _alone(self) -> Iterator[None]:
        """This thread alone uses the caches (a search, or a resolution without group commit): it
        waits for the thread resolving a group, and the next group waits for it. The caches are
        made for one thread at a time: a decision's loads, its checkpoint and the index it scores
        against must not interleave with another's. It goes before the groups still waiting,
        so that a search waits for one group at most, not for a queue of them."""
        with self._turn:
            self._asking += 1
            while self._leading:
                self._turn.wait()
            self._asking -= 1
            self._leading = True
        try:
            yield
        finally:
            with self._turn:
                self._leading = False
                self._turn.notify_all()

    def warm_up(self, seconds: float) -> tuple[int, int]:
        """Load the largest name blocks into the caches, as a first call to each would, for at
        most `seconds` and up to the caches' capacity; returns (blocks, mentions) loaded. After a
        restart, a first call to a big block then costs no more than the next ones."""
        deadline = time.monotonic() + seconds
        blocks = loaded = 0
        for key, size in self.registry.block_sizes():
            if time.monotonic() >= deadline or loaded + size > self.stored_mentions.capacity:
                break
            with self.registry.reading() as session:
                block = self.stored_mentions.load(session, key, self.model.text_prior)
            block.index.prepare()
            blocks, loaded = blocks + 1, loaded + size
        return blocks, loaded

    def _resolve_group(self, group: Sequence[_Job]) -> None:
        """Each call gets its result or its error (set, not raised)."""
        for wave in _waves(group):
            try:
                self._resolve_wave(wave)
            except Exception as exc:
                if len(wave) == 1:
                    self._retry_alone(wave[0], exc)
                else:
                    # Nothing of the wave is stored: each call is resolved again alone (and fails
                    # alone, if it must).
                    for job in wave:
                        self._resolve_group([job])

    def _retry_alone(self, job: _Job, exc: Exception) -> None:
        if isinstance(exc, IntegrityError):
            # The same mention id arrived at once under another name block (or from another
            # process): the retry finds it stored and answers with its identity.
            try:
                self._resolve_wave([job])
                return
            except Exception as again:
                exc = again
        job.error = exc

    def _resolve_wave(self, wave: Sequence[_Job]) -> None:
        """Decide the calls (no two share a block), then write them in one transaction."""
        blocks = {key for job in wave for key in job.blocks}
        checkpoint = self.stored_mentions.checkpoint(blocks)
        written: list[tuple[str, Stored]] = []
        try:
            done = self._resolve_presuming(wave, checkpoint)
            tries = UNLOCKED_TRIES
            while done is None:
                tries -= 1
                with self.registry.connection() as conn:
                    with self.registry.reading(conn) as session:
                        decisions, since = self._decide(session, wave)
                    # Calls whose mentions were all stored before (re-sent calls) write nothing: they
                    # are answered from what was read, as a read call is, without the feed lock.
                    if not any(d is not None and d.links for d in decisions):
                        done = decisions, []
                    else:
                        done = self._write_wave(conn, wave, decisions, since, blocks, checkpoint, locked=tries == 0)
                if done is None:  # a block changed meanwhile: decided again, from the caches as they were
                    self.stored_mentions.restore(checkpoint)
            decisions, written = done
        except Exception:
            self.stored_mentions.forget(blocks)  # nothing of the wave is stored: read them again whole
            for job in wave:
                job.error = None
            raise
        for job, decision in zip(wave, decisions, strict=True):
            if decision is not None:
                job.result = decision.results
        self._remember([c for d in decisions if d is not None for c in d.computed], written)

    def _resolve_presuming(
        self, wave: Sequence[_Job], checkpoint: Checkpoint
    ) -> tuple[list[_Decision | None], list[tuple[str, Stored]]] | None:
        """On PostgreSQL, decide the wave presuming that nothing was written since this process
        last read the change feed, and write it in one statement that writes only if so (or if
        what came between touched none of the wave's blocks) and none of its mentions is stored:
        one round trip instead of two, a read and a write. Returns the decisions and what was
        stored (as _write_wave), or None when the wave was not resolved so: then nothing of it
        is stored and the caches are as they were.

        Only while the feed's last read found no other writer's changes (one server, or replicas
        of which one is busy): with another writer busy, a presumed decision would mostly miss
        its changes and be made twice. When a presumed wave is not written as decided, the next
        ones read the feed first for a while, so that re-sent calls cost a wasted decision only
        now and then."""
        if self._read_first > 0:
            self._read_first -= 1
            return None
        position = self.stored_mentions.position_if_alone()
        if position is None or not supported(self.registry.engine.dialect.name, sum(len(j.mentions) for j in wave)):
            return None
        with self.registry.connection() as conn:
            with self.registry.reading(conn) as session:
                decisions, _ = self._decide(session, wave, position)
            decisions = _unless_gone(wave, decisions)
            links = _links(decisions)
            if not links:  # every caller has gone (their errors are set)
                self.stored_mentions.restore(checkpoint)
                return decisions, []
            written = write_if_unchanged(self.registry, conn, links, position.seq)
        if written is None:
            self.stored_mentions.restore(checkpoint)
            self._missed += 1
            low, high = PRESUME_AGAIN_AFTER
            self._read_first = min(high, low << min(self._missed - 1, 16))
            return None
        if written.after != position.seq:  # other blocks' changes were stepped over: read them next
            self._read_first = 1
        self._missed = 0
        return decisions, self._stored_pairs(links, written)

    def _stored_pairs(self, links: Sequence[NewLink], written: Written) -> list[tuple[str, Stored]]:
        """What the one statement stored, under which block key. Written right after the feed
        position, its changes need not be read from the feed: the next presumed decision starts
        after them."""
        self.stored_mentions.skip_own_changes(written.after, written.after + seqs_needed(links))
        return _under_blocks(links, written.stored)

    def _write_wave(
        self,
        conn: Connection,
        wave: Sequence[_Job],
        decisions: list[_Decision | None],
        since: int,
        blocks: set[str],
        checkpoint: Checkpoint,
        *,
        locked: bool = True,
    ) -> tuple[list[_Decision | None], list[tuple[str, Stored]]] | None:
        """Write the wave's decisions under the feed lock, deciding again first if a block changed
        since change `since`; returns the decisions written (None for a call gone), and what
        was stored under which block key. Not `locked`: None instead of deciding again, when
        the one statement below finds a block changed (the caller decides again without the
        lock, so the other writers are not held up for a whole decision).

        The first statement takes the sequence numbers the decisions need, which also tells
        the last change before them (the feed is gap-free): usually `since`, nothing changed, and
        the decisions are written as they are, with no read of the last change (and on SQLite no
        statement to take the write lock). Otherwise the blocks' changes are looked for: a mention
        of theirs stored meanwhile under their block shows as a change of it; under another block
        (another name), its insert fails and the call is resolved again.

        On PostgreSQL the usual case, nothing changed the links' blocks since `since` (another
        writer's links into other blocks are stepped over), is first tried as one statement
        outside a transaction (disambig.registry.unchanged_write): one round trip, or three after
        such a write, instead of six."""
        decisions = _unless_gone(wave, decisions)
        links = _links(decisions)
        written = write_if_unchanged(self.registry, conn, links, since)
        if written is not None:
            return decisions, self._stored_pairs(links, written)
        if not locked and supported(conn.dialect.name, len(links)):
            return None
        with self.registry.writing(conn, seqs_first=True) as session:
            decisions = _unless_gone(wave, decisions)
            taken = seqs_needed(_links(decisions))
            last = session.take_seqs(taken)
            if last - taken != since and session.changed_since(since, blocks):
                # Decided again from the caches as they were: the same loads, so the same
                # decision, as if the first had never been made.
                self.stored_mentions.restore(checkpoint)
                decisions, _ = self._decide(session, wave)
                decisions = _unless_gone(wave, decisions)
                needed = seqs_needed(_links(decisions))
                if needed != taken:  # the feed stays gap-free: numbers not needed are given back
                    last = session.take_seqs(needed - taken)
            links = _links(decisions)
            stored = session.record_links(links, unstored=True, last_seq=last)
        return decisions, _under_blocks(links, stored)

    def _decide(
        self, session: BlockSession, wave: Sequence[_Job], presumed: FeedPosition | None = None
    ) -> tuple[list[_Decision | None], int]:
        """Each call's decision, or None (its error set) for a call whose caller has gone; and the
        last change as of the decisions' first read (they saw at least the registry as of it).

        The wave's calls share no mention id and no block: one read finds their stored mentions,
        and one read of the change feed serves the loads of all their blocks. With `presumed`,
        neither is read: the registry is taken to be as this process last read the feed
        (`presumed`), with its own writes since, and none of the mentions stored."""
        if presumed is None:
            feed, stored = self.stored_mentions.follow_feed_and_find(session, [mid for job in wave for mid in job.keys])
        else:
            feed, stored = presumed, {}
        out: list[_Decision | None] = []
        for job in wave:
            if job.still_wanted is not None and not job.still_wanted():
                job.error = _gone()
                out.append(None)
            else:
                job.error = None
                out.append(self._decide_call(session, job, stored, feed))
        return out, feed.seq

    def _remember(self, computed: list[Computed], written: list[tuple[str, Stored]]) -> None:
        """Committed: the blocks' next loads need not read these mentions back, nor weight them
        again, nor read what was linked into them if nobody else wrote. A failure here costs the
        cache only, never a committed result."""
        try:
            self.stored_mentions.remember(computed)
            self.stored_mentions.note_own_links(written)
        except Exception:
            log.exception("resolved mentions not kept in the cache; their blocks will be read again")
            self.stored_mentions.forget({c.block_key for c in computed})

    def _decide_call(
        self, session: BlockSession, job: _Job, stored: Mapping[str, tuple[str, float]], feed: FeedPosition
    ) -> _Decision:
        """Resolve a call's mentions on the registry as the session reads it (`stored`: those of
        its mentions already stored; `feed`: as far as the session read the feed); nothing is
        written."""
        keys = job.keys
        results: dict[str, Resolution] = {}
        by_block: dict[str, list[Mention]] = defaultdict(list)
        pending: set[str] = set()
        for mention in job.mentions:
            if mention.mention_id in stored:
                identity, confidence = stored[mention.mention_id]
                results[mention.mention_id] = Resolution(mention.mention_id, identity, confidence, created=False)
            elif mention.mention_id not in pending:  # a repeated id is resolved once
                pending.add(mention.mention_id)
                by_block[keys[mention.mention_id]].append(mention)
        links: list[NewLink] = []
        made: list[Computed] = []
        for block_key, new in by_block.items():
            resolved = self._resolve_block(session, block_key, new, made, feed)
            for mention, resolution in zip(new, resolved, strict=True):
                results[mention.mention_id] = resolution
                links.append(
                    NewLink(
                        mention.mention_id,
                        block_key,
                        mention.to_dict(),
                        resolution.identity_id,
                        resolution.confidence,
                        create=resolution.created,
                    )
                )
        return _Decision([results[m.mention_id] for m in job.mentions], links, made)

    def _resolve_block(
        self,
        session: BlockSession,
        block_key: str,
        new: Sequence[Mention],
        computed: list[Computed],
        feed: FeedPosition,
    ) -> list[Resolution]:
        """Resolve the block's new mentions in order; what each was made into goes to `computed`."""
        stored = self.stored_mentions.load(session, block_key, self.model.text_prior, feed)
        known, owners = stored.mentions, stored.owners
        if len(new) > 1 and JOINT_RATIO * len(new) >= len(known):
            return self._cluster_jointly(known, owners, new)
        table, weights, index = stored.table, stored.weights, stored.index
        codes: IdentityCodes | None = stored.codes
        out: list[Resolution] = []
        # Mentions of one request are resolved in order: a later one may join an identity an
        # earlier one created.
        for mention in new:
            parts, row, arrival = self._arrival(mention, table, weights, index, owners, codes)
            resolution = self._resolve_one(mention, arrival)
            out.append(resolution)
            full = arrival.table
            following = index.extended(full)
            computed.append(Computed(block_key, mention, parts, row, weights, table, full, following))
            owners = [*owners, resolution.identity_id]
            codes = codes.extended([resolution.identity_id]) if codes is not None else None
            table, index = full, following
        return out

    def _arrival(
        self,
        mention: Mention,
        table: MentionTable,
        weights: TableWeights,
        index: BlockIndex,
        owners: Sequence[str],
        codes: IdentityCodes | None,
    ) -> tuple[MentionParts, MentionTable, _Arrival]:
        """A mention arriving at a block table (rows owned by `owners`): its parts, its row under
        the block's weights, and the table with that row stacked on, against the block."""
        parts = parts_of([mention], embed=self.model.needs_embeddings)
        row = weights.rows(parts)
        full = stack_tables(table, row)
        names, context = index.context(full, row) if owners else (None, None)
        return parts[0], row, _Arrival(full, owners, names, context, codes)

    def _cluster_jointly(self, known: list[Mention], owners: list[str], new: Sequence[Mention]) -> list[Resolution]:
        """Many new mentions for a block are clustered together with its stored ones, as a batch
        would be (better than one at a time, and independent of their order). Each stored
        identity stays whole and apart from the others; a new mention takes the identity of the
        cluster it lands in, and a cluster of new mentions only becomes a new identity."""
        codes = {owner: k for k, owner in enumerate(dict.fromkeys(owners))}
        fixed = np.array([codes[o] for o in owners] + [-1] * len(new), dtype=np.int64)
        everything = [*known, *new]
        labels, confidence = Engine(self.model).cluster_around(everything, fixed)
        owner_of_label = {int(labels[k]): owner for k, owner in enumerate(owners)}
        new_rows = range(len(known), len(everything))
        members: dict[int, list[int]] = defaultdict(list)
        for row in new_rows:
            members[int(labels[row])].append(row)
        explanations = self._explain_joint(everything, labels, new_rows)
        out: list[Resolution] = []
        for row in new_rows:
            label = int(labels[row])
            owner = owner_of_label.get(label)
            created = owner is None and members[label][0] == row
            identity = owner or identity_id_for([everything[k].mention_id for k in members[label]])
            resolution = Resolution(
                everything[row].mention_id, identity, round(float(confidence[row]), 4), created, (), explanations[row]
            )
            out.append(resolution)
        return out

    def _explain_joint(
        self, mentions: Sequence[Mention], labels: np.ndarray, rows: Iterable[int]
    ) -> dict[int, tuple[str, ...]]:
        """Each of `rows` explained by its most probable link within its cluster."""
        out: dict[int, tuple[str, ...]] = {}
        table = build_table(
            mentions, [parse_name(m.name) for m in mentions], self.model.text_prior, embed=self.model.needs_embeddings
        )
        wanted: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            wanted[int(labels[row])].append(row)
        for label, explained in wanted.items():
            # Explaining within a huge cluster would cost its square: its first members stand
            # for it, and mentions past them get a summary line.
            taken = set(explained)
            others = [k for k in np.flatnonzero(labels == label).tolist() if k not in taken]
            members = explained + others
            shown = members[:MAX_EXPLAINED_MEMBERS]
            for row in explained[MAX_EXPLAINED_MEMBERS:]:
                out[row] = (f"clustered in one batch with {len(members) - 1} other mentions of its name block",)
            if len(shown) < 2:
                out[explained[0]] = ("no other mention of this name block matches",)
                continue
            m = len(shown)
            sub = table.take(np.asarray(shown))
            pairs = slab_pairs(m, 0, m)
            features = featurize(PairContext(sub, BlockNames(sub), 0, m), pairs, self.model.features)
            probability = np.full((m, m), -1.0)
            probability[pairs] = probability[pairs[::-1]] = self.model.predict(features)
            pair_of = np.zeros((m, m), dtype=np.int64)
            pair_of[pairs] = pair_of[pairs[::-1]] = np.arange(len(pairs[0]))
            partner = np.argmax(probability, axis=1)
            for local, row in enumerate(explained[:MAX_EXPLAINED_MEMBERS]):
                other = int(partner[local])
                out[row] = explain(features[pair_of[local, other]], sub, local, other, self.model.feature_names)
        return out

    def _score_identities(
        self, arrival: _Arrival, limit: int | None = None
    ) -> tuple[list[_Candidate], np.ndarray, PairRules]:
        """Identities the arriving mention may join, best first (the first `limit` of them), with
        the pair features behind them and the identifier rules of its pairs."""
        table, owners, context, codes = arrival.table, arrival.owners, arrival.context, arrival.codes
        block_names = arrival.names if arrival.names is not None else BlockNames(table)
        row = len(owners)
        rules = rules_against_earlier_rows(table, block_names, row)
        ruled_out = rules.ruled_out
        if codes is None or len(codes.code) != row:
            codes = IdentityCodes.of_owners(owners)
        identities, code = codes.identities, codes.code
        # An identity with one mention ruled out cannot take this one: only the others are scored.
        eligible = np.bincount(code, weights=ruled_out, minlength=len(identities)) == 0
        scored = np.flatnonzero(eligible[code])
        features = np.full((row, len(self.model.feature_names)), np.nan, dtype=np.float32)
        probabilities = np.zeros(row, dtype=np.float32)
        evidence = rules.same_orcid | rules.same_email
        if len(scored):
            scored_pairs = (np.full(len(scored), row), scored)
            if context is None:
                context = PairContext(table, block_names, row, row + 1)
            features[scored] = featurize(context, scored_pairs, self.model.features)
            evidence[scored] |= linking_evidence(features[scored], block_names, scored_pairs)
        supported = np.bincount(code, weights=evidence, minlength=len(identities)) > 0
        # Only an identity with linking evidence can take the mention, so only its mentions need a
        # probability: the others' would never be read.
        wanted = scored[supported[code[scored]]]
        if len(wanted):
            probabilities[wanted] = self.model.predict(features[wanted])
        apply_identifiers(probabilities, rules)
        sizes = np.bincount(code, minlength=len(identities))
        mean = np.bincount(code, weights=probabilities, minlength=len(identities)) / np.maximum(sizes, 1)
        # The most probable mention of each candidate: the last of its rows in probability order
        # (all its rows are scored; ties go to the later row).
        by_probability = wanted[np.lexsort((probabilities[wanted], code[wanted]))]
        best_row = np.zeros(len(identities), dtype=np.int64)
        best_row[code[by_probability]] = by_probability
        possible = np.flatnonzero(eligible & supported)
        # Best first, ties in identity order; a big block has hundreds of candidates and a
        # resolution reads only the first few.
        ranked = possible[np.argsort(-mean[possible], kind="stable")][:limit]
        candidates = [_Candidate(str(identities[k]), float(mean[k]), int(best_row[k])) for k in ranked]
        return candidates, features, rules

    def _resolve_one(self, mention: Mention, arrival: _Arrival) -> Resolution:
        if not arrival.owners:
            return Resolution(mention.mention_id, identity_id_for([mention.mention_id]), 1.0, created=True)
        candidates, features, rules = self._score_identities(arrival, limit=MAX_ALTERNATIVES + 1)
        alternatives = tuple((c.identity_id, round(c.score, 4)) for c in candidates)
        if candidates and candidates[0].score >= self.model.threshold:
            top = candidates[0]
            explanation = explain(
                features[top.best_row], arrival.table, len(arrival.owners), top.best_row, self.model.feature_names
            )
            return Resolution(
                mention.mention_id, top.identity_id, round(top.score, 4), False, alternatives[1:], explanation
            )
        best_score = candidates[0].score if candidates else 0.0
        return Resolution(
            mention.mention_id,
            identity_id_for([mention.mention_id]),
            round(1.0 - best_score, 4),
            True,
            alternatives[:MAX_ALTERNATIVES],
            (
                "no identity above the link threshold",
                *identifier_exclusions(rules, arrival.owners, arrival.table.works),
            ),
        )

    def search(self, query: str, context: Mention | None = None, limit: int = 10) -> list[tuple[str, float]]:
        """Identities ranked for a name query: fuzzy name similarity (to the query in either word
        order, when it can be read both ways), averaged with the link probability to the context
        mention when one is given. The context is scored as Resolve would score it: against the
        identities of its own name block (an identity of another block has given names it
        cannot link to).

        The name blocks searched are read through the resolver's caches, so a search waits for
        the resolutions being decided, and they for it; a block not yet cached is read whole
        first, as by a resolution's first call to it."""
        readings = _query_readings(query)
        keys = dict.fromkeys(k for r in readings for k in self.registry.name_blocks(r.surname_key, r.first_initial))
        if not keys:
            return []
        with self._alone(), self.registry.reading() as session:
            feed = self.stored_mentions.follow_feed(session)  # one read for all the blocks
            blocks = {key: self.stored_mentions.load(session, key, self.model.text_prior, feed) for key in keys}
            own = blocks.get(registry_block_key(context.name)) if context is not None else None
            linked = self._links_of(context, own) if context is not None and own is not None else {}
        name_scores: dict[str, float] = {}
        mention_counts: dict[str, int] = defaultdict(int)
        similarity_of: dict[str, float] = {}  # by name as written: a block repeats its names
        for block in blocks.values():
            for mention, part, identity in zip(block.mentions, block.parts, block.owners, strict=True):
                similarity = similarity_of.get(mention.name)
                if similarity is None:
                    similarity = max(_name_similarity(wanted, part.name) for wanted in readings)
                    similarity_of[mention.name] = similarity
                name_scores[identity] = max(name_scores.get(identity, 0.0), similarity)
                mention_counts[identity] += 1
        scores = name_scores
        if context is not None:
            scores = {i: (s + linked.get(i, 0.0)) / 2.0 for i, s in name_scores.items()}
        # Equal scores as shown (a surname alone matches every identity of it alike): the identity
        # with more mentions is the likelier one meant.
        shown = {identity: round(score, 4) for identity, score in scores.items()}
        return sorted(shown.items(), key=lambda item: (-item[1], -mention_counts[item[0]], item[0]))[:limit]

    def _links_of(self, mention: Mention, block: StoredBlock) -> dict[str, float]:
        """The mean link probability of `mention` to each identity of `block` that may take it,
        without changing the block: its weights take new coauthor columns for the mention, so
        the search weighs it with a copy of them."""
        weights = replace(
            block.weights,
            coauthor_columns=dict(block.weights.coauthor_columns),
            full_columns=dict(block.weights.full_columns),
        )
        _, _, arrival = self._arrival(mention, block.table, weights, block.index, block.owners, block.codes)
        candidates, _, _ = self._score_identities(arrival)
        return {c.identity_id: c.score for c in candidates}


def _query_readings(query: str) -> list[ParsedName]:
    """The names a search query may mean: as parsed, its other reading where the parser sees one
    ("Wang Wei", "José García Márquez", "Wei LI"), and for two spelled-out words the other order
    even when the query writes one ("Zhang, Lei" finds a stored "Zhang Lei" read as Lei Zhang). A
    batch run settles such readings by a vote of the corpus, which a query has none of."""
    first = parse_name(query)
    candidates = [first]
    if first.order_ambiguous or first.second_reading:
        candidates.append(swapped(first))
    words = [word for word in re.split(r"[\s,]+", query) if word]
    if len(words) == 2 and first.has_full_first:
        orders = (parse_name(f"{surname}, {given}") for surname, given in (words, words[::-1]))
        candidates += [reading for reading in orders if reading.has_full_first]
    readings: dict[str, ParsedName] = {}
    for reading in candidates:
        if reading.surname_key:
            readings.setdefault(reading.block_key, reading)
    return list(readings.values())


def _name_similarity(wanted: ParsedName, candidate: ParsedName) -> float:
    """Fuzzy similarity of two names in [0, 1], halved when their given names are incompatible."""
    similarity = fuzz.WRatio(fold(wanted.display), fold(candidate.display)) / 100.0
    if wanted.given and given_match(wanted.given, candidate.given) == GivenMatch.INCOMPATIBLE:
        similarity *= 0.5
    return similarity


def _unless_gone(wave: Sequence[_Job], decisions: list[_Decision | None]) -> list[_Decision | None]:
    """The decisions, None (the call's error set) for a call whose caller has gone since: its
    call shares no block with the others, so leaving it out changes nothing of theirs."""
    out = list(decisions)
    for k, job in enumerate(wave):
        if out[k] is not None and job.still_wanted is not None and not job.still_wanted():
            job.error, out[k] = _gone(), None
    return out


def _under_blocks(links: Sequence[NewLink], stored: Sequence[Stored]) -> list[tuple[str, Stored]]:
    """What was stored for each link, under the link's block key."""
    return [(link.block_key, done) for link, done in zip(links, stored, strict=True)]


def _links(decisions: Sequence[_Decision | None]) -> list[NewLink]:
    return [link for d in decisions if d is not None for link in d.links]


def _gone() -> DeadlineExceeded:
    return DeadlineExceeded("the call ended before its resolutions were stored; nothing was stored")


def explain(
    features: np.ndarray, table: MentionTable, row: int, other: int, feature_names: Sequence[str] = FEATURE_NAMES
) -> tuple[str, ...]:
    """The evidence behind one link, in words and numbers."""
    value = dict(zip(feature_names, features.tolist(), strict=True))
    lines: list[str] = []
    theirs = {written_coauthor_key(c)[0] for c in table.coauthor_labels[other]}
    shared = int(value["shared_coauthors"])
    if shared:
        # Named as this mention writes them, matched as the feature matches them.
        names = [c for c in table.coauthor_labels[row] if written_coauthor_key(c)[0] in theirs][:3]
        lines.append(f"{shared} shared coauthor{'s' if shared > 1 else ''}: {', '.join(names)}")
    a, b = table.names[row], table.names[other]
    relation = GivenMatch(int(value["given_match"])).name.lower().replace("_", " ")
    lines.append(f"given names compatible ({relation}): {a.display} ~ {b.display}")
    for feature, label in (
        ("title_cosine", "title"),
        ("topics_cosine", "topic"),
        ("venue_cosine", "venue"),
        ("affiliation_cosine", "affiliation"),
        ("text_embedding_cosine", "text embedding"),
    ):
        if feature in value and not np.isnan(value[feature]) and value[feature] > 0:
            lines.append(f"{label} similarity {value[feature]:.2f}")
    if not np.isnan(value["year_gap"]):
        lines.append(f"year gap {int(value['year_gap'])}")
    if table.orcids[row] and table.orcids[row] == table.orcids[other]:
        lines.append("ORCID equal")
    if table.emails[row] and table.emails[row] == table.emails[other]:
        lines.append("e-mail equal")
    return tuple(lines)
