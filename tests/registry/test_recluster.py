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
