"""Large synthetic mention corpora for speed and memory work: never for quality figures.

    python benchmarks/synthetic.py --mentions 1000000 --seed 1 -o /tmp/syn1m.jsonl.gz
    python benchmarks/synthetic.py --mentions 10000 -o /tmp/syn10k.jsonl --no-person-id

Writes JSON Lines mentions in the native format (mention_id, name, coauthors, title, abstract,
venue, year, affiliations, topics, and person_id unless --no-person-id), streamed, gzip level 1
when the output name ends in .gz. The same seed gives the same bytes.

The corpus is built from the real files in ../shared/data so that its shapes resemble a real
catalogue; it is recombined, not copied:

  names      surnames and given names parsed from every name and coauthor of the real files,
             plus synthetic variants of real surnames (splices, suffixes, vowel changes) for a long
             tail of tens of thousands of surnames. A person's surname is drawn by rank with Zipf
             weights (rank r has weight r**-zipf, most frequent real surname first); the given
             name is usually one seen with that surname in the real data ("Wang" -> "Wei").
  persons    productivity (papers) drawn from a power law (Lotka's law), capped; each person
             belongs to a group (a lab: a stable set of collaborators) of one field and keeps a
             few collaborators outside it; a career of some years; one affiliation (sometimes two).
  papers     a lead author drawn by productivity; coauthors mostly from the lead's group, else
             the lead's outside collaborators, sometimes someone new from the same field. Every
             author of a paper gets a mention, so coauthor lists agree across the mentions of a
             paper. Title and abstract recombine the words of real titles and abstracts of the
             field with the lead's own vocabulary; venue and topics come from the field.
  forms      each venue writes names one way ("Daniel K. Haziza", "D. K. Haziza", "Haziza, Daniel",
             "Haziza, D. K.", "Haziza DK", lower case); some papers deviate.

Fields are groups of real venues of one domain (computer science, biomedicine), with the titles,
abstracts and topics published there.

Blocks (surname + first initial) are skewed as in real catalogues: at 1M mentions a few huge
blocks ("Wang, J.") of several thousand mentions and a long tail of tiny ones.
"""

from __future__ import annotations

import argparse
import bisect
import gzip
import itertools
import math
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn

import numpy as np
import orjson

from disambig.names import parse_name

GENERATOR_VERSION = 2  # bump when the output for a given seed changes (scale.py caches by it)
REPO_ROOT = Path(__file__).resolve().parent.parent
MENTION_FILES = ("aminer110", "citeseerx_kim", "qian_dblp_dev", "inspire_wang")
PAIR_FILES = ("vishnyakova_medline_train_pairs",)
# Titles of this file are stemmed with stop words removed: its names and venues are used, not its titles.
STEMMED_TITLES = frozenset({"citeseerx_kim"})
DOMAIN_OF = {"vishnyakova_medline_train_pairs": "biomedicine"}  # the others: computer science

DEFAULT_SURNAMES = 60_000
DEFAULT_ZIPF = 0.8
MENTIONS_PER_PERSON = 3.0  # persons in the pool = mentions / this; a few never publish
LOTKA_EXPONENT = 2.3  # P(papers = n) ~ n**-2.3
# Papers per person are capped at MAX_PRODUCTIVITY_SHARE of the corpus (within these bounds), so
# that no single person dominates a small corpus.
MIN_PRODUCTIVITY_CAP, MAX_PRODUCTIVITY_CAP = 20, 1_000
MAX_PRODUCTIVITY_SHARE = 0.0005
VENUES_PER_FIELD = 15
PERSON_WORDS = 16
PERSON_TOPICS = 6
PERSON_VENUES = 3
OUTSIDE_COLLABORATORS = 3
FIRST_YEAR, LAST_YEAR = 1960, 2024

P_GIVEN_FROM_SURNAME = 0.8  # else from the global given-name distribution
P_MIDDLE = 0.2
P_SECOND_AFFILIATION = 0.15
P_COAUTHOR_GROUP, P_COAUTHOR_OUTSIDE = 0.7, 0.2  # the rest: someone new from the field
P_FORM_DEVIATES = 0.1  # a paper that writes names unlike its venue
P_TITLE, P_VENUE, P_YEAR = 0.97, 0.95, 0.97
P_TOPICS, P_AFFILIATIONS = 0.5, 0.45
DEFAULT_ABSTRACT_RATE = 0.3
MAX_ABSTRACT_WORDS = 150

# Name forms: (form, weight). FULL "Daniel K. Haziza", INITIALS "D. K. Haziza", INVERTED
# "Haziza, Daniel K.", INVERTED_INITIALS "Haziza, D. K.", COMPACT "Haziza DK" (MEDLINE),
# LOWER "daniel k. haziza" (CiteSeerX), SURNAME_FIRST "Haziza Daniel" (no comma).
FULL, INITIALS, INVERTED, INVERTED_INITIALS, COMPACT, LOWER, SURNAME_FIRST = range(7)
FORM_WEIGHTS = (0.45, 0.18, 0.13, 0.09, 0.08, 0.04, 0.03)
# Authors per paper 1..12 (weights); with P_BIG_PAPER a collaboration of 13..MAX_AUTHORS.
AUTHOR_WEIGHTS = (12, 22, 22, 16, 10, 6, 4, 3, 2, 1.5, 1, 0.5)
P_BIG_PAPER, MAX_AUTHORS = 0.005, 60
EXTRA_BIOMEDICINE_AUTHORS = 2

STOP_WORDS = frozenset({
    "a", "an", "the", "of", "for", "in", "on", "and", "to", "with", "by", "from", "using", "via", "at", "as", "is",
    "are", "its", "their", "based", "towards", "toward", "into", "over", "under", "between", "through", "or", "we",
    "this", "that", "our", "be", "it", "these", "which", "can", "not",
})  # fmt: skip
SURNAME_SUFFIXES = (
    "son", "sen", "ski", "er", "ez", "ova", "ini", "ek", "ler", "mann", "ic", "escu", "ian", "oglu", "berg",
    "stein", "ney", "ton", "ley", "ath", "ura", "awa", "ani", "ito", "ov", "enko", "is", "os", "ard", "elli",
)  # fmt: skip
VOWELS = "aeiou"


def fail(message: str) -> NoReturn:
    print(f"synthetic.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def default_data_dir() -> Path:
    """$DISAMBIG_SHARED_DATA, else ../shared/data beside the checkout (as the tests resolve it)."""
    return Path(os.environ.get("DISAMBIG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


# --- vocabulary from the real files -------------------------------------------------------


@dataclass
class Field:
    """Venues of one domain with the titles, abstracts and topics published there."""

    domain: str
    venues: list[int]  # indices into Vocabulary.venues
    venue_cum: list[float]
    titles: list[list[str]]  # token lists
    abstracts: list[list[str]]
    words: np.ndarray  # content words (indices into Vocabulary.words), with multiplicity
    topics: np.ndarray  # indices into Vocabulary.topics, with multiplicity
    weight: float  # records published in the field's venues


@dataclass
class Vocabulary:
    surnames: list[str]  # display form, by rank: most frequent real surname first, synthetic last
    surname_keys: list[str]
    surname_pool: list[int]  # per surname: the real surname whose given names it uses (-1: none)
    given: list[str]  # given names (display), most frequent first
    given_initials: list[str]  # "Shang-Yung" -> "S.-Y."
    given_cum: list[float]
    pools: dict[int, tuple[list[int], list[float]]]  # real surname -> (given names seen with it, cum weights)
    venues: list[str]
    words: list[str]
    topics: list[str]
    affiliations: list[str]
    affiliation_cum: list[float]
    fields: list[Field] = field(default_factory=list)


def _records(data_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in MENTION_FILES + PAIR_FILES:
        path = data_dir / f"{name}.jsonl.gz"
        if not path.is_file():
            fail(f"{path}: no such file (the real data lives in ../shared/data, see its README)")
        with gzip.open(path, "rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = orjson.loads(line)
                for mention in (record["a"], record["b"]) if name in PAIR_FILES else (record,):
                    yield name, mention


def _initials(given: str) -> str:
    """'Daniel' -> 'D.', 'Shang-Yung' -> 'S.-Y.'."""
    return "-".join(f"{part[:1].upper()}." for part in given.split("-") if part)


def _tokens(text: str, limit: int) -> list[str]:
    return text.split()[:limit]


def _cumulative(weights: list[float] | np.ndarray) -> list[float]:
    return list(itertools.accumulate(float(w) for w in weights))


def _pick(rand: random.Random, cum: list[float], lo: int = 0, hi: int | None = None) -> int:
    """Index in [lo, hi) drawn with the weights whose running sums are cum."""
    hi = len(cum) if hi is None else hi
    base = cum[lo - 1] if lo > 0 else 0.0
    return min(bisect.bisect_right(cum, base + rand.random() * (cum[hi - 1] - base), lo, hi), hi - 1)


def _surname_variant(rand: random.Random, base: str, other: str) -> str:
    """A plausible surname that is not in the data: splice, suffix or vowel change of real ones."""
    op = rand.random()
    if op < 0.4 and len(base) >= 4 and len(other) >= 4:
        return base[: rand.randint(2, len(base) - 2)] + other[rand.randint(2, len(other) - 2) :]
    if op < 0.7:
        stem = base[:-1] if base[-1] in VOWELS and len(base) > 3 else base
        return stem + rand.choice(SURNAME_SUFFIXES)
    positions = [i for i, ch in enumerate(base) if ch in VOWELS]
    if not positions:
        return base + rand.choice(VOWELS)
    i = rand.choice(positions)
    return base[:i] + rand.choice([v for v in VOWELS if v != base[i]]) + base[i + 1 :]


def load_vocabulary(data_dir: Path, seed: int, n_surnames: int = DEFAULT_SURNAMES) -> Vocabulary:
    """Names, venues, words, topics and affiliations of the real files, and fields over them."""
    rand = random.Random(seed)
    surname_count: Counter[str] = Counter()
    surname_display: dict[str, Counter[str]] = defaultdict(Counter)
    given_count: Counter[str] = Counter()
    given_by_surname: dict[str, Counter[str]] = defaultdict(Counter)
    venue_count: Counter[str] = Counter()
    venue_domain: dict[str, str] = {}
    venue_titles: dict[str, list[list[str]]] = defaultdict(list)
    venue_abstracts: dict[str, list[list[str]]] = defaultdict(list)
    venue_topics: dict[str, list[str]] = defaultdict(list)
    affiliation_count: Counter[str] = Counter()

    for source, m in _records(data_dir):
        for raw in [m["name"], *(m.get("coauthors") or [])[:50]]:
            parsed = parse_name(raw)
            key = parsed.surname_key
            if len(key) < 2 or not parsed.surname_display:
                continue
            surname_count[key] += 1
            surname_display[key][parsed.surname_display] += 1
            if parsed.has_full_first:
                first = parsed.given_display.split()[0]
                if len(first) > 1 and first.replace("-", "").isalpha():
                    given_count[first] += 1
                    given_by_surname[key][first] += 1
        for affiliation in m.get("affiliations") or []:
            affiliation_count[affiliation] += 1
        venue = (m.get("venue") or "").strip()
        if not venue:
            continue
        venue_count[venue] += 1
        venue_domain.setdefault(venue, DOMAIN_OF.get(source, "computer science"))
        if m.get("title") and source not in STEMMED_TITLES:
            venue_titles[venue].append(_tokens(m["title"], 30))
        if m.get("abstract"):
            venue_abstracts[venue].append(_tokens(m["abstract"], MAX_ABSTRACT_WORDS))
        venue_topics[venue].extend(m.get("topics") or [])

    # Surnames by real frequency, then synthetic variants for the long tail.
    keys = sorted(surname_count, key=lambda k: (-surname_count[k], k))
    displays = [max(sorted(surname_display[k]), key=surname_display[k].__getitem__) for k in keys]
    pool_of = list(range(len(keys)))
    known = set(keys)
    plain = [i for i, d in enumerate(displays) if d.isalpha() and len(d) >= 3]
    while len(keys) < n_surnames:
        base = plain[rand.randrange(len(plain))]
        variant = _surname_variant(rand, keys[base], keys[plain[rand.randrange(len(plain))]])
        if variant in known or not variant.isalpha() or not 3 <= len(variant) <= 14:
            continue
        known.add(variant)
        keys.append(variant)
        displays.append(variant.capitalize())
        pool_of.append(base)

    given = sorted(given_count, key=lambda g: (-given_count[g], g))
    given_index = {g: i for i, g in enumerate(given)}
    pools: dict[int, tuple[list[int], list[float]]] = {}
    for i, key in enumerate(keys[: len(surname_count)]):
        seen = given_by_surname.get(key)
        if seen:
            names = sorted(seen, key=lambda g: (-seen[g], g))
            pools[i] = ([given_index[g] for g in names], _cumulative([1 + math.log(seen[g]) for g in names]))
    surname_pool = [p if p in pools else -1 for p in pool_of]

    # Fields: the venues of each domain, shuffled, in groups of VENUES_PER_FIELD.
    venues = sorted(venue_count, key=lambda v: (-venue_count[v], v))
    venue_index = {v: i for i, v in enumerate(venues)}
    word_index: dict[str, int] = {}
    topic_index: dict[str, int] = {}
    fields: list[Field] = []
    for domain in sorted(set(venue_domain.values())):
        members = [v for v in venues if venue_domain[v] == domain]
        rand.shuffle(members)
        for start in range(0, len(members), VENUES_PER_FIELD):
            group = sorted(members[start : start + VENUES_PER_FIELD], key=venue_index.__getitem__)
            titles = [t for v in group for t in venue_titles[v]]
            abstracts = [a for v in group for a in venue_abstracts[v]]
            words = [
                word_index.setdefault(w, len(word_index))
                for t in titles + abstracts[:50]
                for w in t
                if w.lower() not in STOP_WORDS
            ]
            topics = [topic_index.setdefault(t, len(topic_index)) for v in group for t in venue_topics[v]]
            fields.append(
                Field(
                    domain=domain,
                    venues=[venue_index[v] for v in group],
                    venue_cum=_cumulative([venue_count[v] for v in group]),
                    titles=titles,
                    abstracts=abstracts,
                    words=np.asarray(words, dtype=np.int32),
                    topics=np.asarray(topics, dtype=np.int32),
                    weight=float(sum(venue_count[v] for v in group)),
                )
            )
    # Fields without titles (venues known only from stemmed files) borrow the domain's titles.
    for domain in sorted({f.domain for f in fields}):
        same = [f for f in fields if f.domain == domain]
        domain_titles = [t for f in same for t in f.titles]
        domain_abstracts = [a for f in same for a in f.abstracts]
        domain_words = np.concatenate([f.words for f in same])
        for f in same:
            if not f.titles:
                f.titles, f.words = domain_titles, domain_words
            if not f.abstracts:
                f.abstracts = domain_abstracts
    fields = [f for f in fields if f.titles and len(f.words)]
    if not fields:
        fail(f"{data_dir}: no titled records to build fields from")
    affiliations = sorted(affiliation_count, key=lambda a: (-affiliation_count[a], a))
    return Vocabulary(
        surnames=displays,
        surname_keys=keys,
        surname_pool=surname_pool,
        given=given,
        given_initials=[_initials(g) for g in given],
        given_cum=_cumulative([given_count[g] for g in given]),
        pools=pools,
        venues=venues,
        words=list(word_index),
        topics=list(topic_index),
        affiliations=affiliations,
        affiliation_cum=_cumulative([affiliation_count[a] for a in affiliations]),
        fields=fields,
    )


# --- persons ------------------------------------------------------------------------------


@dataclass
class Persons:
    """Every person of the pool; persons of one group, and groups of one field, are contiguous."""

    surname: list[int]
    given: list[int]
    middle: list[int]  # -1: none
    group_start: list[int]  # per person: first person of its group
    group_stop: list[int]
    field: list[int]
    field_start: list[int]  # per field: first person (field_start[f]:field_start[f + 1])
    cum: list[float]  # running sum of productivity over persons 0..n-1
    career_start: np.ndarray
    career_years: np.ndarray
    affiliations: np.ndarray  # (n, 2) affiliation indices, -1 for none
    outside: np.ndarray  # (n, OUTSIDE_COLLABORATORS) persons of the same field
    venues: np.ndarray  # (n, PERSON_VENUES) indices into Vocabulary.venues
    words: np.ndarray  # (n, PERSON_WORDS) indices into Vocabulary.words
    topics: np.ndarray  # (n, PERSON_TOPICS) indices into Vocabulary.topics, -1 for none


def make_persons(vocab: Vocabulary, n: int, seed: int, zipf: float, max_productivity: int) -> Persons:
    rng = np.random.default_rng(seed)
    rand = random.Random(seed + 1)

    # Groups of 2.. persons (heavy-tailed sizes), each of one field, sorted by field.
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.extend((1 + np.minimum(rng.zipf(1.9, 4096), 60)).tolist())
    sizes = sizes[: next(i for i, total in enumerate(itertools.accumulate(sizes)) if total >= n) + 1]
    sizes[-1] -= sum(sizes) - n
    field_p = np.asarray([f.weight for f in vocab.fields])
    group_field = np.sort(rng.choice(len(vocab.fields), size=len(sizes), p=field_p / field_p.sum()))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    group_of = np.repeat(np.arange(len(sizes)), sizes)
    person_field = group_field[group_of]
    field_start = np.searchsorted(person_field, np.arange(len(vocab.fields) + 1)).tolist()

    productivity = np.minimum(rng.zipf(LOTKA_EXPONENT, n), max_productivity).astype(np.float64)
    ranks = np.arange(1, len(vocab.surnames) + 1, dtype=np.float64) ** -zipf
    surname = rng.choice(len(vocab.surnames), size=n, p=ranks / ranks.sum()).tolist()
    given: list[int] = []
    for s in surname:
        pool = vocab.pools.get(vocab.surname_pool[s])
        if pool is not None and rand.random() < P_GIVEN_FROM_SURNAME:
            given.append(pool[0][_pick(rand, pool[1])])
        else:
            given.append(_pick(rand, vocab.given_cum))
    middle = [_pick(rand, vocab.given_cum) if rand.random() < P_MIDDLE else -1 for _ in range(n)]

    # Groups start in a year skewed to the recent past (publishing grows); careers of
    # prolific persons are longer.
    group_year = np.maximum(LAST_YEAR - 8 - rng.exponential(16.0, len(sizes)), FIRST_YEAR)
    career_start = np.minimum(group_year[group_of] + rng.uniform(0, 8, n), LAST_YEAR).astype(np.int32)
    career_years = np.minimum(1 + 3 * np.log(productivity) + rng.exponential(4.0, n), 45).astype(np.int32)

    affiliation_cum = np.asarray(vocab.affiliation_cum)
    group_affiliation = np.searchsorted(affiliation_cum, rng.uniform(0, affiliation_cum[-1], len(sizes)), "right")
    second = np.searchsorted(affiliation_cum, rng.uniform(0, affiliation_cum[-1], n), "right")
    affiliations = np.stack(
        [group_affiliation[group_of], np.where(rng.random(n) < P_SECOND_AFFILIATION, second, -1)], axis=1
    ).astype(np.int32)
    affiliations = np.minimum(affiliations, len(vocab.affiliations) - 1)

    cum = np.cumsum(productivity)
    outside = np.zeros((n, OUTSIDE_COLLABORATORS), dtype=np.int32)
    venues = np.zeros((n, PERSON_VENUES), dtype=np.int32)
    words = np.zeros((n, PERSON_WORDS), dtype=np.int32)
    topics = np.full((n, PERSON_TOPICS), -1, dtype=np.int32)
    for f, spec in enumerate(vocab.fields):
        lo, hi = field_start[f], field_start[f + 1]
        if lo == hi:
            continue
        base = cum[lo - 1] if lo > 0 else 0.0
        draws = base + rng.random((hi - lo, OUTSIDE_COLLABORATORS)) * (cum[hi - 1] - base)
        outside[lo:hi] = np.minimum(np.searchsorted(cum, draws, "right"), hi - 1)
        venue_cum = np.asarray(spec.venue_cum)
        picks = np.searchsorted(venue_cum, rng.uniform(0, venue_cum[-1], (hi - lo, PERSON_VENUES)), "right")
        venues[lo:hi] = np.asarray(spec.venues)[np.minimum(picks, len(spec.venues) - 1)]
        words[lo:hi] = rng.choice(spec.words, (hi - lo, PERSON_WORDS))
        if len(spec.topics):
            topics[lo:hi] = rng.choice(spec.topics, (hi - lo, PERSON_TOPICS))
    return Persons(
        surname=surname,
        given=given,
        middle=middle,
        group_start=bounds[group_of].tolist(),
        group_stop=bounds[group_of + 1].tolist(),
        field=person_field.tolist(),
        field_start=field_start,
        cum=cum.tolist(),
        career_start=career_start,
        career_years=career_years,
        affiliations=affiliations,
        outside=outside,
        venues=venues,
        words=words,
        topics=topics,
    )


# --- papers and mentions ------------------------------------------------------------------


def write_name(vocab: Vocabulary, persons: Persons, p: int, form: int, show_middle: bool) -> str:
    surname = vocab.surnames[persons.surname[p]]
    g = persons.given[p]
    m = persons.middle[p] if show_middle else -1
    if form in (INITIALS, INVERTED_INITIALS, COMPACT):
        initials = vocab.given_initials[g] + (f" {vocab.given_initials[m]}" if m >= 0 else "")
        if form == INITIALS:
            return f"{initials} {surname}"
        if form == INVERTED_INITIALS:
            return f"{surname}, {initials}"
        return f"{surname} {initials.replace('.', '').replace('-', '').replace(' ', '')}"
    given = vocab.given[g] + (f" {vocab.given_initials[m]}" if m >= 0 else "")
    if form == INVERTED:
        return f"{surname}, {given}"
    if form == SURNAME_FIRST:
        return f"{surname} {vocab.given[g]}"
    if form == LOWER:
        return f"{given} {surname}".lower()
    return f"{given} {surname}"


def _recombine(rand: random.Random, template: list[str], own: np.ndarray, pool: np.ndarray, words: list[str]) -> str:
    """A real title or abstract with its content words partly swapped for the lead's and the field's."""
    out = []
    for token in template:
        if token.lower() in STOP_WORDS:
            out.append(token)
            continue
        x = rand.random()
        if x < 0.4:
            out.append(words[own[int(rand.random() * len(own))]])
        elif x < 0.6:
            out.append(words[pool[int(rand.random() * len(pool))]])
        else:
            out.append(token)
    return " ".join(out)


def _authors(rand: random.Random, persons: Persons, lead: int, k: int) -> list[int]:
    authors = [lead]
    lo, hi = persons.group_start[lead], persons.group_stop[lead]
    f = persons.field[lead]
    f_lo, f_hi = persons.field_start[f], persons.field_start[f + 1]
    outside = persons.outside[lead]
    tries = 0
    while len(authors) < k and tries < 3 * k:
        tries += 1
        x = rand.random()
        if x < P_COAUTHOR_GROUP and hi - lo > 1:
            candidate = _pick(rand, persons.cum, lo, hi)
        elif x < P_COAUTHOR_GROUP + P_COAUTHOR_OUTSIDE:
            candidate = int(outside[int(rand.random() * len(outside))])
        else:
            candidate = _pick(rand, persons.cum, f_lo, f_hi)
        if candidate not in authors:
            authors.append(candidate)
    rand.shuffle(authors)
    return authors


@dataclass
class Summary:
    mentions: int = 0
    papers: int = 0
    persons: int = 0
    surnames: int = 0
    seconds: float = 0.0
    blocks: Counter[str] = field(default_factory=Counter)  # surname key + first initial -> mentions
    per_person: Counter[int] = field(default_factory=Counter)


def generate(
    mentions: int,
    seed: int = 1,
    data_dir: Path | None = None,
    *,
    person_ids: bool = True,
    zipf: float = DEFAULT_ZIPF,
    n_surnames: int = DEFAULT_SURNAMES,
    abstract_rate: float = DEFAULT_ABSTRACT_RATE,
    summary: Summary | None = None,
) -> Iterator[dict[str, Any]]:
    """Exactly `mentions` mention records, deterministic for a seed."""
    vocab = load_vocabulary(data_dir or default_data_dir(), seed, n_surnames)
    cap = max(MIN_PRODUCTIVITY_CAP, min(MAX_PRODUCTIVITY_CAP, int(mentions * MAX_PRODUCTIVITY_SHARE)))
    persons = make_persons(vocab, max(10, math.ceil(mentions / MENTIONS_PER_PERSON)), seed, zipf, cap)
    rand = random.Random(seed + 2)
    form_cum = _cumulative(list(FORM_WEIGHTS))
    venue_form = [_pick(rand, form_cum) for _ in vocab.venues]
    author_cum = _cumulative(list(AUTHOR_WEIGHTS))
    block_key = [f"{k}_" for k in vocab.surname_keys]
    total = persons.cum[-1]
    written = 0
    paper = 0
    while written < mentions:
        lead = min(bisect.bisect_right(persons.cum, rand.random() * total), len(persons.cum) - 1)
        spec = vocab.fields[persons.field[lead]]
        k = 1 + _pick(rand, author_cum)
        if rand.random() < P_BIG_PAPER:
            k = rand.randint(len(AUTHOR_WEIGHTS) + 1, MAX_AUTHORS)
        elif spec.domain == "biomedicine":
            k += EXTRA_BIOMEDICINE_AUTHORS
        authors = _authors(rand, persons, lead, k)[: mentions - written]

        own = persons.words[lead]
        title = _recombine(rand, spec.titles[int(rand.random() * len(spec.titles))], own, spec.words, vocab.words)
        abstract = ""
        if spec.abstracts and rand.random() < abstract_rate:
            template = spec.abstracts[int(rand.random() * len(spec.abstracts))]
            abstract = _recombine(rand, template, own, spec.words, vocab.words)
        venue_i = int(persons.venues[lead][int(rand.random() * PERSON_VENUES)])
        if rand.random() < 0.2:
            venue_i = spec.venues[_pick(rand, spec.venue_cum)]
        start, years = int(persons.career_start[lead]), int(persons.career_years[lead])
        year: int | None = start + int(rand.random() * min(years, LAST_YEAR - start + 1))  # careers end by now
        topics: list[str] = []
        if rand.random() < P_TOPICS:
            row = persons.topics[lead]
            topics = sorted({vocab.topics[t] for t in row[: rand.randint(2, PERSON_TOPICS)] if t >= 0})
        form = venue_form[venue_i] if rand.random() >= P_FORM_DEVIATES else _pick(rand, form_cum)
        show_affiliations = rand.random() < P_AFFILIATIONS
        if rand.random() >= P_TITLE:
            title = ""
        venue = vocab.venues[venue_i] if rand.random() < P_VENUE else ""
        if rand.random() >= P_YEAR:
            year = None

        names = [write_name(vocab, persons, p, form, rand.random() < 0.7) for p in authors]
        for i, p in enumerate(authors):
            affiliations: list[str] = []
            if show_affiliations:
                first, second = persons.affiliations[p]
                affiliations = [vocab.affiliations[first]]
                if second >= 0 and rand.random() < 0.5:
                    affiliations.append(vocab.affiliations[second])
            record: dict[str, Any] = {
                "mention_id": f"syn{seed}:{written}",
                "name": names[i],
                "coauthors": names[:i] + names[i + 1 :],
                "title": title,
                "abstract": abstract,
                "venue": venue,
                "year": year,
                "affiliations": affiliations,
                "topics": topics,
            }
            if person_ids:
                record["person_id"] = f"p{p}"
            if summary is not None:
                summary.blocks[block_key[persons.surname[p]] + vocab.given[persons.given[p]][0].lower()] += 1
                summary.per_person[p] += 1
            written += 1
            yield record
        paper += 1
    if summary is not None:
        summary.mentions = written
        summary.papers = paper
        summary.persons = len(summary.per_person)
        summary.surnames = len({persons.surname[p] for p in summary.per_person})


def _open_output(path: Path, compress: bool) -> IO[bytes]:
    raw = open(path, "wb")  # noqa: SIM115 - closed by the caller through the returned handle
    if compress:
        # No file name or time stamp in the header: the same seed gives the same bytes.
        return gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0)  # type: ignore[return-value]
    return raw


def write_corpus(path: Path, mentions: int, seed: int = 1, data_dir: Path | None = None, **options: Any) -> Summary:
    """Stream a corpus to path (gzip if it ends in .gz), through a temporary file renamed into place."""
    summary = Summary()
    started = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        handle = _open_output(tmp, path.name.endswith(".gz"))
        try:
            batch: list[bytes] = []
            for record in generate(mentions, seed, data_dir, summary=summary, **options):
                batch.append(orjson.dumps(record))
                if len(batch) >= 10_000:
                    handle.write(b"\n".join(batch) + b"\n")
                    batch.clear()
            if batch:
                handle.write(b"\n".join(batch) + b"\n")
        finally:
            handle.close()
            if isinstance(handle, gzip.GzipFile) and handle.fileobj is not None:
                handle.fileobj.close()
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    summary.seconds = time.perf_counter() - started
    return summary


def describe(summary: Summary, top: int = 10) -> str:
    """A few lines on what was written: sizes, persons' papers and the largest blocks."""
    per_person = sorted(summary.per_person.values())
    sizes = sorted(summary.blocks.values(), reverse=True)
    median = per_person[len(per_person) // 2] if per_person else 0
    lines = [
        f"{summary.mentions} mentions, {summary.papers} papers, {summary.persons} persons, "
        f"{summary.surnames} surnames, {len(sizes)} blocks (surname + first initial) in {summary.seconds:.1f} s",
        f"mentions per person: median {median}, max {per_person[-1] if per_person else 0}",
        "largest blocks: " + ", ".join(f"{k} {n}" for k, n in summary.blocks.most_common(top)),
        "blocks of >= 1000 / >= 100 / >= 10 mentions: "
        f"{sum(s >= 1000 for s in sizes)} / {sum(s >= 100 for s in sizes)} / {sum(s >= 10 for s in sizes)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a large synthetic mention corpus (JSONL, .gz streamed).")
    parser.add_argument("--mentions", type=int, required=True, metavar="N", help="mentions to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output file; .gz is gzipped (level 1)")
    parser.add_argument("--data", type=Path, default=None, help="real data directory (default: ../shared/data)")
    parser.add_argument("--no-person-id", action="store_true", help="leave out person_id (the synthetic truth)")
    parser.add_argument("--zipf", type=float, default=DEFAULT_ZIPF, help=f"surname Zipf exponent ({DEFAULT_ZIPF})")
    parser.add_argument(
        "--surnames", type=int, default=DEFAULT_SURNAMES, help=f"surname vocabulary size ({DEFAULT_SURNAMES})"
    )
    parser.add_argument(
        "--abstract-rate", type=float, default=DEFAULT_ABSTRACT_RATE, help="share of papers with an abstract"
    )
    args = parser.parse_args(argv)
    if args.mentions < 1:
        parser.error("--mentions must be at least 1")
    data_dir = args.data or default_data_dir()
    if not data_dir.is_dir():
        fail(f"{data_dir}: no such directory (pass --data or set DISAMBIG_SHARED_DATA)")
    summary = write_corpus(
        args.output,
        args.mentions,
        args.seed,
        data_dir,
        person_ids=not args.no_person_id,
        zipf=args.zipf,
        n_surnames=args.surnames,
        abstract_rate=args.abstract_rate,
    )
    print(f"wrote {args.output}", file=sys.stderr)
    print(describe(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
