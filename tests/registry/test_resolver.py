"""Online resolution against a real SQLite registry with the shipped model."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from disambig.engine import Engine
from disambig.mention import Mention
from disambig.model import PairwiseModel, load_model
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.training import LabelledCorpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


@pytest.fixture(scope="module")
def model() -> PairwiseModel:
    return load_model()


@pytest.fixture
def resolver(model: PairwiseModel, tmp_path: Path) -> Iterator[Resolver]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    yield Resolver(model, registry)
    registry.close()


def test_one_at_a_time_resolution_splits_the_homonyms(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    identities: dict[str, set[str]] = defaultdict(set)
    for mention, person in zip(corpus.mentions, corpus.labels, strict=True):
        (resolution,) = resolver.resolve([mention])
        identities[person].add(resolution.identity_id)
    assert all(len(ids) == 1 for ids in identities.values())
    assert len(set.union(*identities.values())) == 2


def test_resolution_is_idempotent_and_persisted(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    first = resolver.resolve(corpus.mentions)
    again = resolver.resolve(corpus.mentions)
    assert [r.identity_id for r in again] == [r.identity_id for r in first]
    assert not any(r.created for r in again)
    assert sum(r.created for r in first) == len({r.identity_id for r in first})
    kinds = [c.kind for c in resolver.registry.changes(limit=10_000)]
    assert kinds.count("linked") == len(corpus.mentions)


def test_a_link_comes_with_its_evidence(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    resolutions = resolver.resolve(corpus.mentions[:2])
    assert resolutions[0].created
    linked = resolutions[1]
    assert not linked.created and linked.identity_id == resolutions[0].identity_id
    assert any("shared coauthor" in line for line in linked.explanation)
    assert 0.0 < linked.confidence <= 1.0


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_resolutions_of_one_new_person_end_in_one_identity(
    model: PairwiseModel, tmp_path: Path, backend: str
) -> None:
    import os
    import threading

    from disambig.registry.schema import metadata

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'c.db'}"
    else:
        url = os.environ.get("DISAMBIG_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("DISAMBIG_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL and sets it)")
        with Registry(url).engine.begin() as conn:
            metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    Registry(url).migrate()
    corpus = LabelledCorpus.read(EXAMPLE)
    first, second = corpus.mentions[0], corpus.mentions[1]  # one person, two papers
    replicas = [Resolver(model, Registry(url)), Resolver(model, Registry(url))]
    start = threading.Barrier(2)
    results: dict[int, str] = {}

    def run(k: int) -> None:
        start.wait()
        results[k] = replicas[k].resolve([(first, second)[k]])[0].identity_id

    threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1]
    created = [c for c in replicas[0].registry.changes() if c.kind == "created"]
    assert len(created) == 1


def test_explanation_names_coauthors_matched_across_spellings(resolver: Resolver) -> None:
    from disambig.mention import Mention

    first = Mention("a", "Daniel Haziza", coauthors=("Maxime Oquab", "Francisco Massa"), title="Vision transformers")
    second = Mention("b", "D. Haziza", coauthors=("M. Oquab", "Someone Else"), title="Vision transformers at scale")
    resolutions = resolver.resolve([first, second])
    assert resolutions[1].identity_id == resolutions[0].identity_id
    assert "1 shared coauthor: M. Oquab" in resolutions[1].explanation


def test_many_new_mentions_join_stored_identities_without_merging_them(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    people = list(corpus.labels)
    daniel = resolver.resolve([corpus.mentions[0]])[0].identity_id
    david = resolver.resolve([corpus.mentions[3]])[0].identity_id
    assert daniel != david
    rest = [1, 2, 4, 5]
    # Four new mentions for a block of two: clustered jointly with the stored ones.
    resolutions = resolver.resolve([corpus.mentions[k] for k in rest])
    expected = {people[0]: daniel, people[3]: david}
    assert [r.identity_id for r in resolutions] == [expected[people[k]] for k in rest]
    assert not any(r.created for r in resolutions)
    assert all(r.explanation for r in resolutions)


def test_identity_ids_derive_from_the_listing_so_two_registries_agree(model: PairwiseModel, tmp_path: Path) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    answers = []
    for name in ("one", "two"):
        registry = Registry(f"sqlite:///{tmp_path / name}.db")
        registry.migrate()
        answers.append([r.identity_id for r in Resolver(model, registry).resolve(corpus.mentions)])
        registry.close()
    assert answers[0] == answers[1]


def test_a_caller_that_gave_up_gets_nothing_stored(resolver: Resolver) -> None:
    from disambig.errors import DeadlineExceeded

    corpus = LabelledCorpus.read(EXAMPLE)
    with pytest.raises(DeadlineExceeded):
        resolver.resolve(corpus.mentions[:2], still_wanted=lambda: False)
    assert resolver.registry.stored([m.mention_id for m in corpus.mentions[:2]]) == {}
    assert resolver.resolve(corpus.mentions[:2], still_wanted=lambda: True)[0].created


def _strangers(email: str) -> list[Mention]:
    """Two "J. Okafor" mentions with nothing in common but, maybe, an e-mail address."""
    return [
        Mention("a1", "J. Okafor", coauthors=("P. Lindqvist",), title="Ice sheet melt in Greenland", email=email),
        Mention("a2", "Okafor J", coauthors=("R. Tanaka",), title="Protein folding kinetics", email=email.upper()),
    ]


@pytest.mark.parametrize("email", ["", "j.okafor@example.org"])
def test_a_shared_email_links_online_as_it_does_in_a_batch(model: PairwiseModel, tmp_path: Path, email: str) -> None:
    mentions = _strangers(email)
    batch = Engine(model).cluster(mentions)
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    try:
        online = [Resolver(model, registry).resolve([m])[0] for m in mentions]
    finally:
        registry.close()
    one_identity = batch[0].identity_id == batch[1].identity_id
    assert one_identity == bool(email)  # the address alone decides in a batch
    assert (online[0].identity_id == online[1].identity_id) == one_identity
    assert ("e-mail equal" in online[1].explanation) == bool(email)


@pytest.mark.parametrize("work_id", ["", "doi:10.1000/182"])
def test_an_author_of_the_same_work_is_not_linked_online(resolver: Resolver, work_id: str) -> None:
    first, second = (
        Mention(mention_id, name, coauthors=("M. Oquab", "C. Couprie"), title="Vision transformers", work_id=work_id)
        for mention_id, name in (("w1#0", "Y. Wang"), ("w1#3", "Wang Y"))
    )
    (a,) = resolver.resolve([first])
    (b,) = resolver.resolve([second])
    assert (b.identity_id != a.identity_id) == bool(work_id)
    kept_out = f"not {a.identity_id}: another author of work {work_id}"
    assert (kept_out in b.explanation) == bool(work_id)


def test_a_different_orcid_is_named_when_it_keeps_a_mention_out(resolver: Resolver) -> None:
    coauthors, title = ("M. Oquab", "C. Couprie"), "Vision transformers"
    (a,) = resolver.resolve([Mention("o1", "Daniel Haziza", coauthors, title, orcid="0000-0002-1825-0097")])
    (b,) = resolver.resolve([Mention("o2", "D. Haziza", coauthors, title, orcid="0000-0001-5109-3700")])
    assert b.created and f"not {a.identity_id}: a different ORCID" in b.explanation


@pytest.mark.parametrize("query", ["Lei Zhang", "Zhang Lei", "Zhang, Lei", "ZHANG Lei"])
def test_a_search_finds_a_name_typed_in_either_order(resolver: Resolver, query: str) -> None:
    (lei,) = resolver.resolve([Mention("z1", "Lei Zhang", ("Y. Chen",), "Graph neural networks")])
    (other,) = resolver.resolve([Mention("z2", "Zhang Lei", ("K. Ito",), "Protein folding kinetics")])
    found = dict(resolver.search(query))
    assert found[lei.identity_id] == 1.0
    # "Zhang Lei" alone reads as Zhang the given name: in either order a search finds it too.
    assert other.identity_id in found


def test_a_search_ranks_equal_names_by_their_mentions(resolver: Resolver) -> None:
    few = resolver.resolve([Mention("h1", "D. Haziza", ("J.-F. Beaumont",), "Calibration of survey weights")])
    many = resolver.resolve(
        [Mention(f"h{k}", "D. Haziza", ("M. Oquab", "C. Couprie"), "Vision transformers") for k in range(2, 5)]
    )
    assert few[0].identity_id != many[0].identity_id
    ranked = resolver.search("Haziza")
    assert [identity for identity, _ in ranked] == [many[0].identity_id, few[0].identity_id]
    assert ranked[0][1] == ranked[1][1]


@pytest.mark.parametrize(
    ("query", "stored"),
    [("Wei LI", "Li, Wei"), ("José García Márquez", "García Márquez, José"), ("JA Smith", "Smith, J. A.")],
)
def test_a_search_also_reads_a_query_the_other_way_the_parser_sees(resolver: Resolver, query: str, stored: str) -> None:
    # Alone, "Wei LI" is MEDLINE's Wei, L. I., "José García Márquez" has the surname Márquez and
    # "JA Smith" the surname Ja: a search also looks where their other reading puts them.
    (resolution,) = resolver.resolve([Mention("r1", stored, ("Y. Chen",), "Graph mining")])
    assert resolution.identity_id in dict(resolver.search(query))


def test_a_search_scores_its_context_as_resolve_scores_that_mention(resolver: Resolver) -> None:
    corpus = LabelledCorpus.read(EXAMPLE)
    resolver.resolve(corpus.mentions[:-1])
    last = corpus.mentions[-1]
    by_name = dict(resolver.search(last.name))
    with_context = dict(resolver.search(last.name, context=last))
    (resolution,) = resolver.resolve([last])
    assert not resolution.created
    # A search averages the name score with the context's link probability.
    link = 2 * with_context[resolution.identity_id] - by_name[resolution.identity_id]
    assert link == pytest.approx(resolution.confidence, abs=2e-4)
    assert resolution.confidence > resolver.model.threshold


def test_searches_with_a_context_leave_later_resolutions_unchanged(model: PairwiseModel, tmp_path: Path) -> None:
    """A search reads the resolver's block caches and scores its context against them: what the
    next resolutions see must be what they would have seen without the search."""
    corpus = LabelledCorpus.read(EXAMPLE)
    stranger = Mention("ctx", "D. Haziza", ("A. Nobody", "B. Someone"), "Robust estimation in surveys")
    results = []
    for searching in (False, True):
        registry = Registry(f"sqlite:///{tmp_path / f'{searching}.db'}")
        registry.migrate()
        resolver = Resolver(model, registry)
        made = []
        for mention in corpus.mentions:
            if searching:
                resolver.search("Haziza", context=stranger)
            made += resolver.resolve([mention])
        results.append(made)
        registry.close()
    assert results[0] == results[1]
