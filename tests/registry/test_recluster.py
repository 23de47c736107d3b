"""Re-clustering keeps identity ids stable and honours curation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from disambig.model import load_model
from disambig.reclustering import recluster
from disambig.registry import Registry
from disambig.resolving import Resolver
from disambig.training import LabelledCorpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "haziza.jsonl"


@pytest.fixture
def resolved(tmp_path: Path) -> Iterator[tuple[Resolver, list[str]]]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.db'}")
    registry.migrate()
    resolver = Resolver(load_model(), registry)
    ids = [r.identity_id for r in resolver.resolve(LabelledCorpus.read(EXAMPLE).mentions)]
    yield resolver, ids
    registry.close()


def owners(registry: Registry) -> dict[str, str]:
    return {mid: owner for mid, owner, _ in registry.block("haziza_d")}


def test_recluster_with_the_same_model_changes_nothing(resolved: tuple[Resolver, list[str]]) -> None:
    resolver, _ = resolved
    before = owners(resolver.registry)
    report = recluster(resolver.model, resolver.registry)
    assert report.mentions == 6 and report.mentions_moved == 0 and report.ids_created == 0
    assert owners(resolver.registry) == before


def test_curation_survives_reclustering(resolved: tuple[Resolver, list[str]]) -> None:
    resolver, ids = resolved
    registry = resolver.registry
    _, split_off = registry.split(ids[0], ["haziza-2"], reason="curator says so")
    survivor = registry.merge([ids[0], ids[3]], reason="curator merges")  # against the model's opinion
    report = recluster(resolver.model, registry)
    after = owners(registry)
    assert after["haziza-2"] == split_off  # the split stays split, under its id
    assert len({after[m] for m in ("haziza-0", "haziza-1", "haziza-3", "haziza-4", "haziza-5")}) == 1
    assert after["haziza-0"] == survivor
    assert report.ids_created == 0


def test_rekey_moves_mentions_an_older_parser_blocked_otherwise(registry: Registry) -> None:
    """ "Lopez-Garcia MdC" (María del Carmen) was once read as surname "mdc": its mention sits
    in block mdc_l, apart from the "Lopez-Garcia MC" mentions of the same person."""
    from disambig.mention import Mention
    from disambig.registry import NewLink
    from disambig.registry.integrity import check_registry

    model = load_model()
    work = {"coauthors": ["J. Ferrer", "A. Puig"], "title": "Sepsis in intensive care units", "year": 2015}
    resolver = Resolver(model, registry)
    first = resolver.resolve([Mention("m1", "Lopez-Garcia MC", ("J. Ferrer", "A. Puig"), "Sepsis in intensive care")])
    record = {"mention_id": "m0", "name": "Lopez-Garcia MdC", **work}
    (old,) = registry.record_links([NewLink("m0", "mdc_l", record, None, 1.0, create=True)])
    assert [m.mention_id for m in registry.misplaced()] == ["m0"] and check_registry(registry).notes

    report = recluster(model, registry, ["lopezgarcia_m"], rekey=True)

    assert report.mentions_rekeyed == 1 and report.blocks == 1  # mdc_l is left empty
    assert not registry.misplaced() and not check_registry(registry).notes
    owner = {mid: identity for mid, identity, _ in registry.block("lopezgarcia_m")}
    assert set(owner) == {"m0", "m1"} and owner["m0"] == owner["m1"]  # one person, as the model says
    # The id the merged cluster did not keep (a tie, broken by id) redirects to it.
    for identity in (old.identity_id, first[0].identity_id):
        assert registry.get_identity(identity).resolved_id == owner["m1"]
    assert "rekeyed" in {c.kind for c in registry.changes(limit=100)}
    (later,) = Resolver(model, registry).resolve([Mention("m2", "López-García MdC", ("J. Ferrer",), "Sepsis")])
    assert later.identity_id == owner["m1"]


def test_a_block_linked_into_while_it_was_clustered_is_clustered_again(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-clustering reads and clusters a block without the feed lock. A replica that links a
    mention into the block after that read makes it cluster the block again under the lock: the
    new mention is re-clustered with the rest, not left behind under an id the plan retired."""
    from contextlib import contextmanager
    from dataclasses import replace

    from disambig.registry.integrity import check_registry

    model = load_model()
    mentions = LabelledCorpus.read(EXAMPLE).mentions
    Resolver(model, registry).resolve(mentions)
    replica = Registry(registry.url)
    late = replace(mentions[0], mention_id="haziza-late")  # the ML engineer's work, once more
    read = registry.reading
    reads = 0

    @contextmanager
    def read_then_a_replica_writes(conn: object = None) -> Iterator[object]:
        nonlocal reads
        with read() as session:
            yield session
        reads += 1
        if reads == 1:
            Resolver(model, replica).resolve([late])

    monkeypatch.setattr(registry, "reading", read_then_a_replica_writes)
    try:
        report = recluster(model, registry)
    finally:
        replica.close()
    assert reads == 1
    assert report.blocks == 1 and report.mentions == len(mentions) + 1
    after = owners(registry)
    assert after["haziza-late"] == after[mentions[0].mention_id]
    assert check_registry(registry).ok


def test_mentions_stored_before_the_surname_rule_are_still_read(registry: Registry) -> None:
    """A registry may hold names accepted before new names needed a surname ("et al." was taken,
    and every such mention met the others in block "_"). Loading and re-clustering that block read
    them back as they were stored, without refusing them."""
    from disambig.registry import NewLink

    links = [
        NewLink(f"old-{k}", "_", {"mention_id": f"old-{k}", "name": name}, None, 1.0, create=True)
        for k, name in enumerate(["et al.", "PhD"])
    ]
    registry.record_links(links)
    model = load_model()
    assert Resolver(model, registry).warm_up(60) == (1, 2)
    report = recluster(model, registry, ["_"])
    assert report.mentions == 2
