"""benchmarks/synthetic.py: deterministic for a seed, valid native mentions, skewed like a catalogue."""

from __future__ import annotations

import gzip
import importlib.util
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from disambig.blocking import resolve_name_order
from disambig.names import parse_name
from disambig.readers import read_labelled

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "synthetic.py"
MENTIONS = 2_000
SEED = 1
FIELDS = {"mention_id", "name", "coauthors", "title", "abstract", "venue", "year", "affiliations", "topics"}


@pytest.fixture(scope="module")
def synthetic() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synthetic", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic"] = module  # dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(synthetic: ModuleType, shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synthetic") / "corpus.jsonl.gz"
    synthetic.write_corpus(path, MENTIONS, SEED, shared_data)
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rb") as handle:
        return [orjson.loads(line) for line in handle]


def test_same_seed_same_bytes_other_seed_other_corpus(
    synthetic: ModuleType, shared_data: Path, corpus: Path, tmp_path: Path
) -> None:
    again = synthetic.write_corpus(tmp_path / "again.jsonl.gz", MENTIONS, SEED, shared_data)
    assert again.mentions == MENTIONS
    assert (tmp_path / "again.jsonl.gz").read_bytes() == corpus.read_bytes()
    synthetic.write_corpus(tmp_path / "other.jsonl.gz", MENTIONS, SEED + 1, shared_data)
    assert _records(tmp_path / "other.jsonl.gz") != _records(corpus)


def test_plain_output_holds_the_same_records(
    synthetic: ModuleType, shared_data: Path, corpus: Path, tmp_path: Path
) -> None:
    synthetic.write_corpus(tmp_path / "plain.jsonl", MENTIONS, SEED, shared_data)
    assert [orjson.loads(line) for line in (tmp_path / "plain.jsonl").read_bytes().splitlines()] == _records(corpus)


def test_records_are_valid_native_mentions(corpus: Path) -> None:
    records = _records(corpus)
    assert len(records) == MENTIONS
    assert all(set(r) == FIELDS | {"person_id"} for r in records)
    mentions, labels = read_labelled(corpus)  # validates every record; rejects duplicate ids
    assert len(mentions) == MENTIONS and len(set(labels)) > MENTIONS // 10
    assert sum(bool(m.title) for m in mentions) > 0.9 * MENTIONS
    assert sum(bool(m.coauthors) for m in mentions) > 0.8 * MENTIONS
    assert all(m.year is None or 1960 <= m.year <= 2024 for m in mentions)
    # The names parse back to their person: one surname per person, whatever the written form.
    names = resolve_name_order([parse_name(m.name) for m in mentions])
    surnames: dict[str, Counter[str]] = defaultdict(Counter)
    for name, label in zip(names, labels):
        surnames[label][name.surname_key] += 1
    assert sum(c.most_common(1)[0][1] for c in surnames.values()) >= 0.98 * MENTIONS
    forms = Counter("," in m.name for m in mentions)
    assert forms[True] > 0.1 * MENTIONS and forms[False] > 0.5 * MENTIONS


def test_coauthor_lists_agree_within_a_paper(corpus: Path) -> None:
    """Every author of a paper has a mention (written consecutively); each lists the others."""
    papers: list[list[dict[str, Any]]] = []
    for r in _records(corpus):
        key = (r["title"], r["abstract"], r["venue"], r["year"], r["topics"])
        if papers and key == papers[-1][0]["_key"]:
            papers[-1].append(r)
        else:
            papers.append([r])
        r["_key"] = key
    for members in papers[:-1]:  # the last paper may be cut short at the requested size
        authors = sorted(r["name"] for r in members)
        for r in members:
            assert sorted([r["name"], *r["coauthors"]]) == authors
    assert sum(len(members) > 1 for members in papers) > 0.6 * len(papers)


def test_surnames_are_zipf_skewed(corpus: Path) -> None:
    mentions, labels = read_labelled(corpus)
    names = resolve_name_order([parse_name(m.name) for m in mentions])
    by_mentions = Counter(n.surname_key for n in names)
    counts = sorted(by_mentions.values(), reverse=True)
    assert counts[0] >= 10 * statistics.median(counts)
    assert counts[0] >= 0.015 * MENTIONS
    assert len(counts) > 300  # a long tail of rare surnames
    # Skewed over persons too, not only through one prolific person.
    persons: dict[str, set[str]] = defaultdict(set)
    for name, label in zip(names, labels):
        persons[name.surname_key].add(label)
    per_surname = sorted((len(p) for p in persons.values()), reverse=True)
    assert per_surname[0] >= 10 * statistics.median(per_surname)
    common = {"wang", "zhang", "chen", "lee", "liu", "li", "kim", "yang", "smith"}
    assert common & {k for k, _ in by_mentions.most_common(5)}


def test_persons_are_heavy_tailed_with_stable_collaborators(corpus: Path) -> None:
    mentions, labels = read_labelled(corpus)
    papers_of = Counter(labels)
    counts = sorted(papers_of.values())
    assert statistics.median(counts) <= 3 and counts[-1] >= 8 * statistics.median(counts)
    # A person with several papers keeps writing with some of the same people.
    coauthors: dict[str, Counter[str]] = defaultdict(Counter)
    for m, label in zip(mentions, labels):
        for c in m.coauthors:
            parsed = parse_name(c)
            coauthors[label][f"{parsed.surname_key}_{parsed.first_initial}"] += 1
    prolific = [p for p, n in papers_of.items() if n >= 5]
    repeated = [p for p in prolific if coauthors[p] and coauthors[p].most_common(1)[0][1] >= 2]
    assert len(prolific) > 20 and len(repeated) >= 0.9 * len(prolific)
