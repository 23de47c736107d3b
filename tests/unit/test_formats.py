"""The batch reader layer: every input format as entries (works or mentions) and problems."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterable
from pathlib import Path

import orjson
import pytest

from disambig.errors import InputFileError
from disambig.mention import MAX_SHORT_TEXT_CHARS, Mention
from disambig.readers import FORMATS, Entry, Problem, detect_format, iter_entries
from disambig.readers import atom as atom_reader
from disambig.readers.delimited import split_authors

DATA = Path(__file__).resolve().parents[1] / "data" / "formats"


def _write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _read(path: Path, fmt: str | None = None) -> tuple[list[Entry], list[Problem]]:
    items = list(iter_entries(path, fmt))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def _mentions(entries: Iterable[Entry]) -> list[Mention]:
    return [m for e in entries for m in e.mentions]


def _by_name(entries: Iterable[Entry]) -> dict[str, Mention]:
    return {m.name: m for m in _mentions(entries)}


def _jsonl(*records: object) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


# --- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("refs.bib", "bibtex"),
        ("refs.BIB.gz", "bibtex"),
        ("zotero.json", "csl-json"),
        ("query.atom", "atom"),
        ("export.xml.gz", "atom"),
        ("table.csv", "csv"),
        ("table.tsv.gz", "tsv"),
    ],
)
def test_detect_format_by_extension(tmp_path: Path, name: str, expected: str) -> None:
    # Detection of these formats goes by the name alone: the content here is no format at all.
    assert detect_format(_write(tmp_path / name, b"whatever")) == expected


def test_detect_jsonl_works_by_the_first_record_having_an_authors_list(tmp_path: Path) -> None:
    works = _write(tmp_path / "a.jsonl", b"\n" + _jsonl({"title": "T", "authors": ["A B"]}))
    mentions = _write(tmp_path / "b.ndjson", _jsonl({"name": "A B", "authors": "not a list"}))
    zipped_works = _write(tmp_path / "c.jsonl.gz", gzip.compress(_jsonl({"authors": []})))
    bad_first_line = _write(tmp_path / "d.jsonl", b"{oops\n" + _jsonl({"authors": ["A B"]}))
    assert detect_format(works) == "works"
    assert detect_format(mentions) == "mentions"
    assert detect_format(zipped_works) == "works"
    assert detect_format(bad_first_line) == "works"


def test_detect_stdin_is_mentions() -> None:
    assert detect_format("-") == "mentions"


def test_unknown_extension_asks_for_a_format(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        detect_format(_write(tmp_path / "refs.ris", b"TY  - JOUR\n"))
    assert "bibtex" in str(info.value)


def test_unknown_format_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ris"):
        list(iter_entries(_write(tmp_path / "x.csv", b"name\nA B\n"), "ris"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_file_raises_for_every_format(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(InputFileError) as info:
        list(iter_entries(tmp_path / "missing.dat", fmt))
    assert info.value.location == str(tmp_path / "missing.dat")


# --- gzip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["arxiv.atom", "refs.bib", "zotero.json", "works.jsonl", "mentions.csv"])
def test_gzip_reads_the_same_mentions(tmp_path: Path, name: str) -> None:
    plain = shutil.copy(DATA / name, tmp_path / name)
    zipped = _write(tmp_path / f"{name}.gz", gzip.compress((DATA / name).read_bytes()))
    plain_entries, _ = _read(Path(plain))
    zipped_entries, _ = _read(zipped)
    assert plain_entries, "the fixture holds entries"
    assert [m.to_dict() for m in _mentions(zipped_entries)] == [m.to_dict() for m in _mentions(plain_entries)]


@pytest.mark.parametrize(("name", "fmt"), [("refs.bib", "bibtex"), ("zotero.json", "csl-json"), ("arxiv.atom", "atom")])
def test_truncated_gzip_raises(tmp_path: Path, name: str, fmt: str) -> None:
    data = gzip.compress((DATA / name).read_bytes())
    path = _write(tmp_path / f"cut.{name}.gz", data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        list(iter_entries(path, fmt))
    assert "gzip" in str(info.value)
    assert str(path) in str(info.value)


def test_truncated_gzip_csv_raises(tmp_path: Path) -> None:
    rows = "".join(f"Person{i} Name,{2000 + i % 20}\n" for i in range(2000))
    data = gzip.compress(("name,year\n" + rows).encode())
    with pytest.raises(InputFileError, match="gzip"):
        list(iter_entries(_write(tmp_path / "cut.csv.gz", data[: len(data) // 2])))


# --- JSONL works and mentions ------------------------------------------------------------------


def test_works_jsonl_expands_one_mention_per_author() -> None:
    entries, problems = _read(DATA / "works.jsonl")
    assert problems == []
    assert [e.work_id for e in entries] == ["W1", "works:2"]
    first = entries[0]
    assert [m.mention_id for m in first.mentions] == ["W1#1", "W1#2", "own-id"]
    haziza, oquab, subjak = first.mentions
    assert oquab.coauthors == ("Daniel Haziza", "Jan Subjak")
    assert {m.title for m in first.mentions} == {"Leaf-level disambiguation"}
    assert {(m.venue, m.year, m.topics, m.work_id) for m in first.mentions} == {("ACL", 2020, ("nlp",), "W1")}
    # An author's own fields stay with that author.
    assert (haziza.email, haziza.orcid, haziza.affiliations) == ("dh@example.org", "0000-0002-1825-0097", ("Meta",))
    assert (oquab.email, oquab.orcid, oquab.affiliations) == ("", "", ())
    assert subjak.email == ""
    # Diacritics are kept as written; the default work id is the file stem and line.
    assert entries[1].mentions[0].name == "Zoé Ångström"
    assert entries[1].mentions[0].mention_id == "works:2#1"


def test_works_jsonl_bad_line_is_a_problem_and_reading_goes_on(tmp_path: Path) -> None:
    data = (
        _jsonl({"work_id": "a", "authors": ["A B"]})
        + b'{"work_id": "b", "authors": [\n'
        + _jsonl({"work_id": "c", "authors": ["C D"]})
    )
    path = _write(tmp_path / "w.jsonl", data)
    entries, problems = _read(path, "works")
    assert [e.work_id for e in entries] == ["a", "c"]
    assert len(problems) == 1
    assert problems[0].where == f"{path}:2"
    assert "JSON" in problems[0].message


def test_author_without_name_is_a_problem_naming_its_position(tmp_path: Path) -> None:
    work = {"work_id": "w", "authors": ["Ann Lee", {"affiliations": ["MIT"]}, {"name": "Bo Chen"}, 7]}
    path = _write(tmp_path / "w.jsonl", _jsonl(work))
    entries, problems = _read(path, "works")
    assert [m.name for m in _mentions(entries)] == ["Ann Lee", "Bo Chen"]
    # The kept authors keep their positions in their ids; the nameless one is no coauthor.
    assert [m.mention_id for m in _mentions(entries)] == ["w#1", "w#3"]
    assert _by_name(entries)["Ann Lee"].coauthors == ("Bo Chen",)
    assert [p.where for p in problems] == [f"{path}:1, author 2", f"{path}:1, author 4"]
    assert "name" in problems[0].message
    assert "int" in problems[1].message


def test_a_bad_shared_field_is_one_problem_for_the_work(tmp_path: Path) -> None:
    works = [
        {"work_id": "w1", "year": "soon", "authors": ["A B", "C D", "E F"]},
        {"work_id": "w2", "title": "x" * (MAX_SHORT_TEXT_CHARS + 1), "authors": ["A B", "C D"]},
        {"work_id": "w3", "authors": ["G H"]},
    ]
    path = _write(tmp_path / "w.jsonl", _jsonl(*works))
    entries, problems = _read(path, "works")
    assert [e.work_id for e in entries] == ["w3"]
    assert [(p.where, p.message.split(":")[0]) for p in problems] == [(f"{path}:1", "year"), (f"{path}:2", "title")]


def test_an_author_name_too_long_for_a_coauthor_list_is_a_problem_for_the_work(tmp_path: Path) -> None:
    """Each mention's coauthor list holds the other authors' names: a name too long for a list
    item refuses the work, named by its index in the first author's list that holds it."""
    long = "x" * (MAX_SHORT_TEXT_CHARS + 1)
    works = [
        {"work_id": "w1", "year": "soon", "title": long, "authors": ["A B", long, "C D", long + "y"]},
        {"work_id": "w2", "authors": [long, "A B", long + "y"]},  # the first author's list leaves its own name out
    ]
    path = _write(tmp_path / "w.jsonl", _jsonl(*works))
    entries, problems = _read(path, "works")
    too_long = f"longer than {MAX_SHORT_TEXT_CHARS} characters"
    assert entries == []
    assert [(p.where, p.message) for p in problems if ", author" not in p.where] == [
        (
            f"{path}:1",
            f"title: {too_long} ({MAX_SHORT_TEXT_CHARS + 1}); coauthors[0]: {too_long}; "
            f"coauthors[2]: {too_long}; year: must be an integer, got str 'soon'",
        ),
        (f"{path}:2", f"coauthors[1]: {too_long}"),
    ]
    assert [p.where for p in problems if ", author" in p.where] == [f"{path}:1, author {k}" for k in (2, 4)] + [
        f"{path}:2, author {k}" for k in (1, 3)
    ]


def test_each_author_of_a_long_author_list_has_the_others_as_coauthors(tmp_path: Path) -> None:
    names = [f"Author{k} A{k}" for k in range(300)]
    authors: list[object] = [*names, "\u200b", {"affiliations": ["MIT"]}, " \x01Last\x02 Author "]
    path = _write(tmp_path / "w.jsonl", _jsonl({"work_id": "w", "title": "T", "authors": authors}))
    entries, problems = _read(path, "works")
    assert [p.where for p in problems] == [f"{path}:1, author 301", f"{path}:1, author 302"]  # no name
    mentions = _mentions(entries)
    cleaned = [*names, "Last Author"]  # the blank name is no coauthor; controls are dropped
    assert [m.name for m in mentions] == cleaned
    for k, mention in enumerate(mentions):
        assert mention.coauthors == tuple(cleaned[:k] + cleaned[k + 1 :])


def test_works_jsonl_refuses_non_objects_and_missing_authors(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "w.jsonl", _jsonl([1, 2], {"title": "no authors"}, {"authors": "A B"}, {"authors": ["A B"]})
    )
    entries, problems = _read(path, "works")
    assert len(entries) == 1 and entries[0].where == f"{path}:4"
    assert [p.where for p in problems] == [f"{path}:1", f"{path}:2", f"{path}:3"]


def test_mentions_jsonl_reports_bad_records_and_goes_on(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "m.jsonl", _jsonl({"name": "A B"}, {"name": "C D", "year": -5}) + b"nope\n" + _jsonl({"name": "E F"})
    )
    entries, problems = _read(path)
    assert [m.mention_id for m in _mentions(entries)] == ["m:1", "m:4"]
    assert [p.where for p in problems] == [f"{path}:2", f"{path}:3"]
    assert "year" in problems[0].message


def test_a_mention_id_used_twice_is_a_problem_on_the_second_use(tmp_path: Path) -> None:
    data = _jsonl(
        {"work_id": "w", "authors": ["A B", "C D"]},
        {"work_id": "w", "title": "same id again", "authors": ["E F", "G H", "I J"]},
    )
    path = _write(tmp_path / "w.jsonl", data)
    entries, problems = _read(path, "works")
    assert [m.mention_id for m in _mentions(entries)] == ["w#1", "w#2", "w#3"]
    assert entries[1].mentions[0].name == "I J"
    assert len(problems) == 2
    assert all(p.where == f"{path}:2" and f"{path}:1" in p.message for p in problems)


def test_an_empty_input_raises(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no entries"):
        list(iter_entries(_write(tmp_path / "empty.bib", "% nothing but a comment\n")))


# --- CSL-JSON ----------------------------------------------------------------------------------


def test_csl_json_fields_and_names() -> None:
    entries, problems = _read(DATA / "zotero.json")
    (work,) = entries
    assert work.work_id == "http://zotero.org/users/1/items/ABCD1234"
    assert work.where.endswith("zotero.json: item 1 (id http://zotero.org/users/1/items/ABCD1234)")
    names = [m.name for m in work.mentions]
    # The comma form keeps the particle with the surname; a literal name is taken whole.
    assert names == ["García-Márquez, José", "van der Berg, Jan", "World Health Organization"]
    first = work.mentions[0]
    assert first.coauthors == ("van der Berg, Jan", "World Health Organization")
    assert first.title == "Ångström-scale structure of œuvres"
    assert first.venue == "Journal of Examples"
    assert first.abstract == "An abstract with markup."
    assert first.year == 2021
    assert first.topics == ("structure", "chemistry", "imaging")
    # The edited volume has no authors: reported, named by its position and its DOI.
    assert [(p.where.split("zotero.json")[1], p.message) for p in problems] == [
        (": item 2 (id 10.1000/edited)", "no authors")
    ]


def test_csl_json_accepts_one_item_or_an_items_object(tmp_path: Path) -> None:
    item = {"DOI": "10.1/x", "title": ["Crossref puts titles in lists"], "author": [{"given": "Ann", "family": "Lee"}]}
    single = _write(tmp_path / "one.json", orjson.dumps(item))
    wrapped = _write(tmp_path / "wrapped.json", orjson.dumps({"items": [item, {**item, "DOI": "10.1/y"}]}))
    (one,), _ = _read(single)
    assert one.work_id == "10.1/x"
    assert one.mentions[0].title == "Crossref puts titles in lists"
    assert one.mentions[0].name == "Lee, Ann"
    assert [e.work_id for e in _read(wrapped)[0]] == ["10.1/x", "10.1/y"]


def test_csl_json_crossref_author_details(tmp_path: Path) -> None:
    item = {
        "DOI": "10.1/z",
        "issued": {"date-parts": [["2019"]]},
        "author": [
            {
                "given": "Ann",
                "family": "Lee",
                "suffix": "Jr.",
                "ORCID": "https://orcid.org/0000-0002-1825-0097",
                "affiliation": [{"name": "MIT"}, {"name": "Broad Institute"}],
            },
            {"given": "Bo"},
        ],
    }
    (work,), _ = _read(_write(tmp_path / "c.json", orjson.dumps([item])))
    lee, bo = work.mentions
    assert lee.name == "Lee, Ann, Jr."
    assert lee.affiliations == ("MIT", "Broad Institute")
    assert lee.orcid == "https://orcid.org/0000-0002-1825-0097"
    assert (bo.name, bo.affiliations, bo.orcid) == ("Bo", (), "")
    assert lee.year == 2019


def test_csl_json_bad_items_are_problems(tmp_path: Path) -> None:
    items = [
        "not an item",
        {"id": "a", "author": {"family": "Lee"}},
        {"id": "b", "author": [{"family": "Lee", "given": "Ann"}, {"given": ""}]},
        {"id": "c", "author": [{"literal": "Bo Chen"}]},
    ]
    path = _write(tmp_path / "bad.json", orjson.dumps(items))
    entries, problems = _read(path)
    assert [m.mention_id for m in _mentions(entries)] == ["b#1", "c#1"]
    assert [p.where for p in problems] == [
        f"{path}: item 1",
        f"{path}: item 2 (id a)",
        f"{path}: item 3 (id b), author 2",
    ]
    assert "name" in problems[2].message


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b'[{"id": "a",\n  "author": [}]', "JSON"), (b'"just a string"', "CSL"), ('[{"title": "Caf\xe9"}]', "UTF-8")],
)
def test_csl_json_whole_file_failures_raise(tmp_path: Path, content: str | bytes, expected: str) -> None:
    raw = content.encode("latin-1") if isinstance(content, str) else content
    with pytest.raises(InputFileError, match=expected):
        list(iter_entries(_write(tmp_path / "bad.json", raw)))


# --- BibTeX ------------------------------------------------------------------------------------


def test_bibtex_fields_accents_and_authors() -> None:
    entries, problems = _read(DATA / "refs.bib")
    assert problems == []
    dinov2, mueller = entries
    assert dinov2.work_id == "oquab2023dinov2"
    assert dinov2.where.endswith("refs.bib:4 (entry oquab2023dinov2)")
    assert mueller.where.endswith("refs.bib:12 (entry mueller2019)")
    # Accents in every LaTeX spelling decoded; "others" is no author.
    assert [m.name for m in dinov2.mentions] == [
        "Oquab, Maxime",
        "Darcet, Timothée",
        "Moutakanni, Théo",
        "Haziza, Daniel",
    ]
    first = dinov2.mentions[0]
    assert first.coauthors == ("Darcet, Timothée", "Moutakanni, Théo", "Haziza, Daniel")
    assert first.title == "DINOv2: Learning Robust Visual Features without Supervision"
    assert first.venue == "Transactions on Machine Learning Research"  # an @string macro
    assert first.year == 2024
    assert first.topics == ("self-supervised learning", "vision transformers")
    # "and" inside braces is part of a name; ß, ä and a bare per cent sign come through.
    assert [m.name for m in mueller.mentions] == ["Müller, Jürgen", "ßtrauss, Anna", "Barnes and Noble Research"]
    assert mueller.mentions[0].title == "Straßen und Plätze: 50% of GPU hours"
    assert mueller.mentions[0].venue == "Proceedings of the Conference on Straßen"
    assert mueller.mentions[0].year == 2019


BROKEN_BIB = """\
@article{good1, author = {Lee, Ann}, title = {First}, year = 2020}
@article{unclosed2,
  author = {Haziza, Daniel},
  title = {Unclosed {brace},
  year = 2021
}
@article{good3, author = {Chen, Bo and Oquab, Maxime}, title = {Third}}
@article{extra4, author = {Kim, Lee}, title = {Closed too early}}},
  year = 2022
}
@article{undefined5, author = {Ng, Andrew}, journal = nosuchmacro}
@article{syntax6, author = {Li, Fei} title = {no comma between fields}}
@book{noauthor7, title = {Only a title}}
@article{year8, author = {Wu, Jun}, year = {in press}}
@misc{good9, author = {Ray, Ada and others}, title = {Ninth: 10% of runs}, date = {2023-05-01}}
"""


def test_bibtex_broken_entries_are_problems_and_the_rest_is_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "refs.bib", BROKEN_BIB)
    entries, problems = _read(path)
    assert [e.work_id for e in entries] == ["good1", "good3", "good9"]
    assert [m.name for m in entries[1].mentions] == ["Chen, Bo", "Oquab, Maxime"]
    assert entries[2].mentions[0].year == 2023  # biblatex date
    assert entries[2].mentions[0].title == "Ninth: 10% of runs"  # a bare % is no LaTeX comment
    assert [p.where for p in problems] == [
        f"{path}:2 (entry unclosed2)",
        f"{path}:8 (entry extra4)",
        f"{path}:11 (entry undefined5)",
        f"{path}:12 (entry syntax6)",
        f"{path}:13 (entry noauthor7)",
        f"{path}:14 (entry year8)",
    ]
    messages = [p.message for p in problems]
    assert "unbalanced braces" in messages[0] and "line 7" in messages[0]
    assert "unbalanced braces" in messages[1]
    assert "nosuchmacro" in messages[2]
    assert messages[4] == "no authors"
    assert messages[5].startswith("year")


def test_bibtex_unclosed_last_entry_and_deep_nesting_do_not_hang(tmp_path: Path) -> None:
    deep = "{" * 500 + "x" + "}" * 500
    text = f"@article{{deep1, author = {{A, B}}, title = {deep}}}\n@article{{last2, author = {{C, D}}, title = {{x"
    path = _write(tmp_path / "refs.bib", text)
    entries, problems = _read(path)
    assert entries == []
    assert [p.where for p in problems] == [f"{path}:1 (entry deep1)", f"{path}:2 (entry last2)"]
    assert "nested" in problems[0].message
    assert "end of the file" in problems[1].message


def test_bibtex_string_macros_carry_over_and_comments_are_skipped(tmp_path: Path) -> None:
    text = (
        "@comment{jabref-meta: databaseType:bibtex;}\n"
        '@string{ icml = "International Conference on Machine Learning" }\n'
        "@inproceedings(paren1, author = {Lee, Ann}, booktitle = icml # { 2020}, month = jan)\n"
    )
    (entry,), problems = _read(_write(tmp_path / "refs.bib", text))
    assert problems == []
    assert entry.work_id == "paren1"
    assert entry.mentions[0].venue == "International Conference on Machine Learning 2020"


def test_bibtex_that_is_not_utf8_raises_naming_the_line(tmp_path: Path) -> None:
    text = "@article{a, author = {Lee, Ann}}\n@article{b, author = {Garc\xeda, Jos\xe9}}\n"
    path = _write(tmp_path / "latin1.bib", text.encode("latin-1"))
    with pytest.raises(InputFileError) as info:
        list(iter_entries(path))
    assert info.value.location == f"{path}:2"
    assert "UTF-8" in str(info.value)


def test_bibtex_field_limits_are_the_mention_limits(tmp_path: Path) -> None:
    text = f"@article{{long1, author = {{Lee, Ann and Chen, Bo}}, title = {{{'x' * (MAX_SHORT_TEXT_CHARS + 1)}}}}}\n"
    entries, problems = _read(_write(tmp_path / "refs.bib", text))
    assert entries == []
    assert len(problems) == 1 and problems[0].message.startswith("title")


# --- Atom --------------------------------------------------------------------------------------


def test_arxiv_atom_fields() -> None:
    entries, problems = _read(DATA / "arxiv.atom")
    assert problems == []
    dinov2, old = entries
    assert dinov2.work_id == "2304.07193v2"
    assert dinov2.where.endswith("arxiv.atom:10 (entry 2304.07193v2)")
    oquab, darcet, haziza = dinov2.mentions
    assert oquab.mention_id == "2304.07193v2#1"
    assert darcet.name == "Timothée Darcet"
    assert darcet.coauthors == ("Maxime Oquab", "Daniel Haziza")
    assert darcet.affiliations == ("Meta AI", "Inria")
    assert haziza.affiliations == ()
    assert oquab.title == "DINOv2: Learning Robust Visual Features without Supervision"
    assert oquab.abstract.startswith("The recent breakthroughs in natural language processing for model pretraining on")
    assert (oquab.venue, oquab.year, oquab.topics) == ("arXiv", 2023, ("cs.CV", "cs.LG"))
    assert old.work_id == "hep-th/9901001v1"
    assert old.mentions[0].name == "Jürgen Müller"
    assert old.mentions[0].year == 1999


FEED_HEAD = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'


def _atom_entry(arxiv_id: str, *authors: str, summary: str = "s") -> str:
    names = "".join(f"<author><name>{a}</name></author>" for a in authors)
    return (
        f"<entry><id>http://arxiv.org/abs/{arxiv_id}</id><title>t</title><summary>{summary}</summary>{names}</entry>\n"
    )


def test_atom_entry_without_author_is_a_problem(tmp_path: Path) -> None:
    body = _atom_entry("1", "Ann Lee") + _atom_entry("2") + "<entry><title>no id</title></entry>\n"
    path = _write(tmp_path / "q.atom", FEED_HEAD + body + _atom_entry("4", "Bo Chen") + "</feed>\n")
    entries, problems = _read(path)
    assert [e.work_id for e in entries] == ["1", "4"]
    assert [(p.where, p.message) for p in problems] == [
        (f"{path}:4 (entry 2)", "no authors"),
        (f"{path}:5", "no authors"),
    ]


def test_atom_entity_bomb_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<?xml version="1.0"?>\n<!DOCTYPE feed [\n <!ENTITY a "aaaaaaaaaa">\n'
        ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><author><name>&c;</name></author></entry></feed>\n'
    )
    with pytest.raises(InputFileError) as info:
        list(iter_entries(_write(tmp_path / "bomb.xml", bomb)))
    assert "refused" in str(info.value)
    assert info.value.location == f"{tmp_path / 'bomb.xml'}:3"


def test_atom_external_entity_is_refused(tmp_path: Path) -> None:
    secret = _write(tmp_path / "secret.txt", "Top Secret")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><author><name>&xxe;</name></author></entry></feed>\n'
    )
    with pytest.raises(InputFileError, match="refused"):
        list(iter_entries(_write(tmp_path / "xxe.atom", xxe)))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("this is not XML\n", "not well-formed"),
        ("<html><body>a web page</body></html>\n", "not an Atom feed"),
        (
            "<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>\xe9</feed>",
            "well-formed",
        ),
    ],
)
def test_atom_unparseable_documents_raise(tmp_path: Path, content: str, expected: str) -> None:
    with pytest.raises(InputFileError, match=expected):
        list(iter_entries(_write(tmp_path / "x.atom", content.encode("latin-1"))))


def test_atom_truncated_document_keeps_the_entries_before_and_raises_with_a_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "cut.atom", FEED_HEAD + _atom_entry("1", "Ann Lee") + "<entry><id>http://arxiv.org/abs/2")
    items = iter_entries(path)
    first = next(items)
    assert isinstance(first, Entry) and first.work_id == "1"
    with pytest.raises(InputFileError) as info:
        next(items)
    assert info.value.location == f"{path}:4"


def test_atom_caps_the_size_of_one_entry_not_of_the_feed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atom_reader, "MAX_ENTRY_BYTES", 4_000)
    monkeypatch.setattr(atom_reader, "_READ_SIZE", 512)
    many_small = FEED_HEAD + "".join(_atom_entry(str(i), "Ann Lee", summary="w " * 100) for i in range(40))
    entries, _ = _read(_write(tmp_path / "many.atom", many_small + "</feed>\n"))
    assert len(entries) == 40
    one_huge = FEED_HEAD + _atom_entry("1", "Ann Lee") + _atom_entry("2", "Bo Chen", summary="w " * 5_000)
    items = iter_entries(_write(tmp_path / "huge.atom", one_huge + "</feed>\n"))
    with pytest.raises(InputFileError, match="4000 bytes"):
        list(items)


# --- CSV and TSV -------------------------------------------------------------------------------


def test_csv_mentions_map_columns_and_split_lists() -> None:
    entries, problems = _read(DATA / "mentions.csv")
    assert problems == []
    first, second = _mentions(entries)
    assert first.mention_id == "m1"
    assert first.coauthors == ("Maxime Oquab", "Jan Subjak")
    assert first.affiliations == ("Meta AI", "Inria")
    assert first.topics == ("vision", "ssl")
    assert first.title == "DINOv2: robust features, no labels"
    assert first.year == 2024
    assert first.extra == {"source": "zotero"}
    assert second.name == "Müller, Jürgen"
    assert second.title == "A title with\na line break"
    assert entries[1].where.endswith("mentions.csv:3")


def test_csv_bad_rows_are_problems_with_the_physical_line(tmp_path: Path) -> None:
    text = (
        'name,year,title\nAnn Lee,2020,a\nBo Chen,soon,b\n"Cy\nDee",1999,"two\nlines"\nEd Fox,2001\n\nGus Ho,2002,g\n'
    )
    path = _write(tmp_path / "m.csv", text)
    entries, problems = _read(path)
    assert [(m.name, m.mention_id) for m in _mentions(entries)] == [
        ("Ann Lee", "m:2"),
        ("Cy\nDee", "m:4"),
        ("Gus Ho", "m:9"),
    ]
    assert [p.where for p in problems] == [f"{path}:3", f"{path}:7"]
    assert problems[0].message.startswith("year")
    assert "fields" in problems[1].message


def test_csv_works_rows_expand_authors(tmp_path: Path) -> None:
    text = (
        "\ufeffwork_id,Authors,title,year\n"
        "W1,Haziza Daniel; Oquab Maxime | Subjak Jan,T1,2020\n"
        ',"Lee, Ann and Chen, Bo",T2,\n'
    )
    path = _write(tmp_path / "w.csv", text)
    entries, problems = _read(path)
    assert problems == []
    assert [e.work_id for e in entries] == ["W1", "w:3"]
    assert [m.mention_id for m in entries[0].mentions] == ["W1#1", "W1#2", "W1#3"]
    assert entries[0].mentions[2].coauthors == ("Haziza Daniel", "Oquab Maxime")
    assert [m.name for m in entries[1].mentions] == ["Lee, Ann", "Chen, Bo"]
    assert entries[1].mentions[0].year is None


def test_tsv_reads_quotes_literally(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.tsv", 'name\ttitle\ttopics\nAnn Lee\t"Attention" is all\ta|b\n')
    (entry,), _ = _read(path)
    assert entry.mentions[0].title == '"Attention" is all'
    assert entry.mentions[0].topics == ("a", "b")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("title,year", "'name' column"),
        ("name,authors", "both"),
        ("name,Name", "twice"),
        ("authors,email,orcid", "email, orcid"),
        ("", "header"),
    ],
)
def test_csv_without_a_usable_header_raises(tmp_path: Path, header: str, expected: str) -> None:
    path = _write(tmp_path / "x.csv", f"{header}\nAnn Lee,2020\n" if header else "")
    with pytest.raises(InputFileError, match=expected):
        list(iter_entries(path))


BIB_OPENING_WITH_AN_ENTRY = (
    b"@article{k1, author={Smith, John}, title={T}}\n@article{k2, author={Jones, Kate}, title={U}}\n"
)


@pytest.mark.parametrize(
    "name", ["opening.bib", "refs.bib", "mentions.csv", "works.jsonl", "zotero.json", "arxiv.atom", "haziza.jsonl"]
)
def test_a_byte_order_mark_opening_a_file_changes_nothing(tmp_path: Path, name: str) -> None:
    """Windows tools open UTF-8 files with a BOM. BibTeX lost an entry opening the file to it (its
    line no longer began with "@"), and JSONL refused its first line."""
    if name == "opening.bib":
        source = BIB_OPENING_WITH_AN_ENTRY
    else:
        source = (DATA / name if name != "haziza.jsonl" else DATA.parents[2] / "examples" / name).read_bytes()
    (tmp_path / "plain").mkdir()
    (tmp_path / "marked").mkdir()
    expected, expected_problems = _read(_write(tmp_path / "plain" / name, source))
    entries, problems = _read(_write(tmp_path / "marked" / name, b"\xef\xbb\xbf" + source))
    assert expected
    assert [m.to_dict() for m in _mentions(entries)] == [m.to_dict() for m in _mentions(expected)]
    assert [p.message for p in problems] == [p.message for p in expected_problems]


@pytest.mark.parametrize(
    "left_out", ["et al.", "et al", "Et Al.", "et.al.", "et alii", "others", "and others", "...", "…", "etc."]
)
def test_the_authors_a_list_leaves_out_are_no_author(tmp_path: Path, left_out: str) -> None:
    """ "Smith J; Jones K; et al." names two authors: "et al." is neither a person nor a bad line."""
    csv_path = _write(tmp_path / "w.csv", f'work_id,authors,title\nW1,"Smith J; {left_out}; Jones K",T\n')
    works_path = _write(tmp_path / "w.jsonl", _jsonl({"work_id": "W2", "title": "T", "authors": ["Smith J", left_out]}))
    (csv_work,), csv_problems = _read(csv_path)
    (works_work,), works_problems = _read(works_path, "works")
    assert csv_problems == works_problems == []
    assert [(m.mention_id, m.name, m.coauthors) for m in csv_work.mentions] == [
        ("W1#1", "Smith J", ("Jones K",)),
        ("W1#3", "Jones K", ("Smith J",)),  # its position in the list, as written
    ]
    assert [(m.name, m.coauthors) for m in works_work.mentions] == [("Smith J", ())]


def test_a_work_listing_only_the_authors_it_leaves_out_has_no_authors(tmp_path: Path) -> None:
    path = _write(tmp_path / "w.jsonl", _jsonl({"work_id": "W3", "title": "T", "authors": ["et al."]}))
    entries, problems = _read(path, "works")
    assert entries == [] and [p.message for p in problems] == ["no authors"]


@pytest.mark.parametrize(
    ("cell", "names"),
    [
        ("Smith J, Jones K, Brown L", ["Smith J", "Jones K", "Brown L"]),  # PubMed's CSV export
        ("Smith J, Jones K", ["Smith J", "Jones K"]),
        ("Smith J, Jones K, and Brown L", ["Smith J", "Jones K", "Brown L"]),
        ("Smith J, Jones K, Brown L and Lee M", ["Smith J", "Jones K", "Brown L", "Lee M"]),
        ("Smith J, Jones K, others", ["Smith J", "Jones K", "others"]),  # left out when the work is read
        ("Smith J, others", ["Smith J", "others"]),
        ("Smith J Jr, Jones K", ["Smith J Jr", "Jones K"]),
        ("Smith J, Jones K et al.", ["Smith J", "Jones K et al."]),  # the name drops its "et al."
        ("J. Smith, K. Jones", ["J. Smith", "K. Jones"]),
        ("Haziza, D.", ["Haziza, D."]),
        ("J. Smith, M.D.", ["J. Smith, M.D."]),  # a degree, not a second name
        ("VAN DER MEI, J. A.", ["VAN DER MEI, J. A."]),
        ("Wang Wei, Li Na, Zhang San Feng", ["Wang Wei", "Li Na", "Zhang San Feng"]),
        ("Haziza, Daniel", ["Haziza, Daniel"]),
        ("Smith, John A", ["Smith, John A"]),
        ("de la Fuente, Juan Carlos", ["de la Fuente, Juan Carlos"]),  # one comma: surname first
        ("Haziza, Daniel and Oquab, Maxime", ["Haziza, Daniel", "Oquab, Maxime"]),
        ("Haziza D; Oquab M, Jr.", ["Haziza D", "Oquab M, Jr."]),
        # Runs of spaces and line breaks around "and" are one separator.
        ("Haziza, Daniel  \t and \n Oquab, Maxime", ["Haziza, Daniel", "Oquab, Maxime"]),
        ("Smith J,   and   Jones K", ["Smith J", "Jones K"]),
        ("Smith J  and Jones K  and  Brown L", ["Smith J", "Jones K", "Brown L"]),
        # The surname word after initials needs a lower-case letter, wherever it is.
        ("J. DUPONT-Durand, K. McKay", ["J. DUPONT-Durand", "K. McKay"]),
        ("J.-P. O'Neil, K. A. Jones", ["J.-P. O'Neil", "K. A. Jones"]),
        ("J. SMITH, K. JONES", ["J. SMITH, K. JONES"]),
        ("J. Smith, K. Jones-", ["J. Smith", "K. Jones-"]),
    ],
)
def test_a_csv_authors_cell_is_split_as_it_is_written(cell: str, names: list[str]) -> None:
    assert split_authors(cell) == names


def test_a_doubled_and_in_a_bibtex_author_list_separates_two_names(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.bib", "@article{k1, author = {Smith, J and and Jones, K}, title = {T}}\n")
    (entry,), problems = _read(path)
    assert problems == [] and [m.name for m in entry.mentions] == ["Smith, J", "Jones, K"]


def test_bibtex_names_are_split_on_and_between_runs_of_spaces_and_line_breaks(tmp_path: Path) -> None:
    author = "Smith, J  \n    and\t Jones, K \n\n AND \n and  Brown, L   and{ }Lee, M"
    path = _write(tmp_path / "r.bib", f"@article{{k1, author = {{{author}}}, title = {{T}}}}\n")
    (entry,), problems = _read(path)
    assert problems == [] and [m.name for m in entry.mentions] == ["Smith, J", "Jones, K", "Brown, L and Lee, M"]
