"""Optimistic resolution: a decision is made without locking its name blocks and written only if
none of them changed meanwhile; otherwise it is made again under the lock, as if the first had
never been made."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from sqlalchemy import event

from disambig.errors import DeadlineExceeded
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.names import parse_name
from disambig.registry import Registry
from disambig.registry.integrity import check_registry
from disambig.registry.store import BlockSession
from disambig.resolving import Resolution, Resolver, _Decision, _Job
from disambig.stored_mentions import FeedPosition, StoredMentions

COAUTHORS = ("Charles Babbage", "Mary Somerville", "Augustus De Morgan")


def ada(mention_id: str) -> Mention:
    return Mention(
        mention_id=mention_id,
        name="Ada Lovelace",
        coauthors=COAUTHORS,
        title="Notes on the analytical engine and its operation",
        venue="Scientific Memoirs",
        year=1843,
        email="ada@example.org",
    )


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


def overtaken(resolver: Resolver, replica: Resolver, first: Mention) -> list[list[_Decision | None]]:
    """Make `replica` resolve `first` right after `resolver`'s next optimistic decision; returns
    every decision the resolver makes, in order."""
    decide = resolver._decide
    made: list[list[_Decision | None]] = []

    def then_overtaken(
        session: BlockSession, wave: Sequence[_Job], presumed: FeedPosition | None = None
    ) -> tuple[list[_Decision | None], int]:
        decisions, since = decide(session, wave, presumed)
        made.append(decisions)
        if len(made) == 1:
            replica.resolve([first])
        return decisions, since

    resolver._decide = then_overtaken  # type: ignore[method-assign]
    return made


def test_a_decision_overtaken_by_another_writer_is_made_again(registry: Registry, model: PairwiseModel) -> None:
    """Two replicas resolving one new person at once end with one identity: the decision made
    before the other's write (a new identity) is not written, the one made after it links."""
    replica_registry = Registry(registry.url)
    replica = Resolver(model, replica_registry)
    resolver = Resolver(model, registry)
    made = overtaken(resolver, replica, ada("first"))
    sent: list[str] = []
    event.listen(registry.engine, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    (resolution,) = resolver.resolve([ada("second")])
    assert len(made) == 2, "decided again"
    # On PostgreSQL it is decided again without the feed lock (the counter row, which the one
    # statement only updates in passing), so other writers are not held up meanwhile.
    locking = [statement for statement in sent if statement.startswith("UPDATE counters")]
    assert (locking == []) == (registry.engine.dialect.name == "postgresql")
    first_try = made[0][0]
    assert first_try is not None and first_try.results[0].created  # alone, it would have made a new identity
    (stored_first,) = replica.resolve([ada("first")])  # idempotent: what the replica stored
    assert not resolution.created and resolution.identity_id == stored_first.identity_id
    assert {identity for identity, _ in registry.stored(["first", "second"]).values()} == {stored_first.identity_id}
    # The numbers taken for the first decision (a new identity: two) were one too many for the
    # second (a link): the one left over was given back, and the feed has no gap.
    report = check_registry(registry)
    assert report.ok, report.problems
    assert [c.kind for c in registry.changes(limit=100)] == ["created", "linked", "linked"]
    assert report.counts["counter"] == 3
    # The caches hold the block as a fresh load reads it: the dropped decision left nothing.
    key = parse_name("Ada Lovelace").block_key
    with registry.reading() as session:
        cached = resolver.stored_mentions.load(session, key, model.text_prior)
        fresh = StoredMentions().load(session, key, model.text_prior)
    assert [m.mention_id for m in cached.mentions] == [m.mention_id for m in fresh.mentions]
    assert cached.owners == fresh.owners
    replica_registry.close()


def test_an_unchanged_block_is_written_as_decided(registry: Registry, model: PairwiseModel) -> None:
    resolver = Resolver(model, registry)
    resolver.resolve([ada("first")])
    other = Resolver(model, Registry(registry.url))
    # The other writer resolves into another block: this decision still holds.
    made = overtaken(resolver, other, Mention(mention_id="elsewhere", name="Grace Hopper"))
    (resolution,) = resolver.resolve([ada("second")])
    assert len(made) == 1, "written without deciding again"
    assert not resolution.created
    other.registry.close()


def test_a_decision_presuming_nothing_changed_is_made_again_when_its_block_did(
    registry: Registry, model: PairwiseModel
) -> None:
    """Once a resolver's read of the feed found no other writer's change, on PostgreSQL it
    decides without reading it again (its write checks that nothing was written since). A
    replica linking into the block after that decision: it is not written, and the call is
    decided again after reading the registry."""
    replica_registry = Registry(registry.url)
    replica = Resolver(model, replica_registry)
    resolver = Resolver(model, registry)
    for k in range(2):  # the second reads the feed, which shows no other writer
        resolver.resolve([Mention(mention_id=f"elsewhere{k}", name="Grace Hopper")])
    presumed: list[bool] = []
    decide = resolver._decide

    def noting(
        session: BlockSession, wave: Sequence[_Job], position: FeedPosition | None = None
    ) -> tuple[list[_Decision | None], int]:
        presumed.append(position is not None)
        return decide(session, wave, position)

    resolver._decide = noting  # type: ignore[method-assign]
    made = overtaken(resolver, replica, ada("first"))
    (resolution,) = resolver.resolve([ada("second")])
    assert len(made) == 2, "decided again"
    first_try = made[0][0]
    assert first_try is not None and first_try.results[0].created
    on_postgres = registry.engine.dialect.name == "postgresql"
    assert presumed == ([True, False] if on_postgres else [False, False])
    (stored_first,) = replica.resolve([ada("first")])
    assert not resolution.created and resolution.identity_id == stored_first.identity_id
    report = check_registry(registry)
    assert report.ok, report.problems
    replica_registry.close()


def test_a_caller_gone_before_the_write_stores_nothing(registry: Registry, model: PairwiseModel) -> None:
    """Wanted when decided, gone by the time of the write: that call alone is left out."""
    resolver = Resolver(model, registry)
    answers = iter([True, False])
    leaving = _Job([ada("leaving")], lambda: next(answers))
    staying = _Job([Mention(mention_id="staying", name="Grace Hopper")], None)
    resolver._resolve_group([leaving, staying])
    assert leaving.result is None and leaving.error is not None
    assert staying.error is None and staying.result is not None
    assert set(registry.stored(["leaving", "staying"])) == {"staying"}


def test_callers_gone_before_a_presumed_write_store_nothing(registry: Registry, model: PairwiseModel) -> None:
    """The same, for waves decided without reading first (PostgreSQL, once a read showed no other
    writer): a call gone by the write is left out of it, and a wave whose every call has gone
    writes nothing."""
    resolver = Resolver(model, registry)
    for k in range(2):  # the second reads the feed, which shows no other writer
        resolver.resolve([Mention(mention_id=f"warm{k}", name="Grace Hopper")])
    answers = iter([True, False])
    leaving = _Job([ada("leaving")], lambda: next(answers))
    staying = _Job([Mention(mention_id="staying", name="Grace Hopper")], None)
    resolver._resolve_group([leaving, staying])
    assert leaving.result is None and isinstance(leaving.error, DeadlineExceeded)
    assert staying.error is None and staying.result is not None
    alone = iter([True, False])
    gone = _Job([ada("gone")], lambda: next(alone))
    resolver._resolve_group([gone])
    assert gone.result is None and isinstance(gone.error, DeadlineExceeded)
    assert set(registry.stored(["leaving", "staying", "gone"])) == {"staying"}
    (later,) = resolver.resolve([ada("later")])
    assert set(registry.stored(["later"])) == {"later"} and later.created
    report = check_registry(registry)
    assert report.ok, report.problems


def test_one_mention_id_under_two_names_in_one_group(registry: Registry, model: PairwiseModel) -> None:
    """The same id sent at once under two names (two blocks): stored once, and both calls answer
    with the identity it was stored under."""
    resolver = Resolver(model, registry)
    (earlier,) = resolver.resolve([ada("earlier")])
    first = _Job([ada("twice")], None)  # joins the identity of "earlier"
    second = _Job([Mention(mention_id="twice", name="Grace Hopper")], None)
    resolver._resolve_group([first, second])
    assert first.result is not None and second.result is not None
    (stored,) = registry.stored(["twice"]).values()
    assert first.result[0].identity_id == second.result[0].identity_id == stored[0] == earlier.identity_id
    linked = [c.mention_id for c in registry.changes(limit=100) if c.kind == "linked"]
    assert linked == ["earlier", "twice"]


def test_a_resent_call_is_answered_without_waiting_for_the_writers(registry: Registry, model: PairwiseModel) -> None:
    """A call whose mentions are all stored writes nothing: it is answered from what it read while
    another writer holds the feed lock, where a call that writes would wait for it."""
    resolver = Resolver(model, registry)
    [first] = resolver.resolve([ada("ada-resent")])
    holder = Registry(registry.url)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.writing():
            holding.set()
            release.wait(30)

    locker = threading.Thread(target=hold)
    locker.start()
    answers: list[list[Resolution]] = []
    resend = threading.Thread(target=lambda: answers.append(resolver.resolve([ada("ada-resent")])))
    try:
        assert holding.wait(10)
        resend.start()
        resend.join(3)
        assert not resend.is_alive(), "the re-sent call waited for the other writer"
        [again] = answers[0]
        assert (again.identity_id, again.created) == (first.identity_id, False)
    finally:
        release.set()
        locker.join()
        if resend.ident is not None:
            resend.join()
        holder.close()
