"""JSON Lines readers: plain and gzip input, and errors that name the file and line."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from disambig.errors import InputFileError
from disambig.readers import read_labelled, read_mentions


def _lines(*records: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


RECORDS = (
    {"mention_id": "m1", "name": "D. Haziza", "person_id": "p1"},
    {"mention_id": "m2", "name": "Daniel Haziza", "person_id": "p1"},
    {"name": "J. Subjak", "person_id": "p2"},
)


def test_read_plain_jsonl(tmp_path: Path) -> None:
    mentions = read_mentions(_write(tmp_path / "data.jsonl", _lines(*RECORDS)))
    assert [m.mention_id for m in mentions] == ["m1", "m2", "data:3"]
    assert [m.name for m in mentions] == ["D. Haziza", "Daniel Haziza", "J. Subjak"]


def test_read_gzipped_jsonl(tmp_path: Path) -> None:
    mentions = read_mentions(_write(tmp_path / "data.jsonl.gz", gzip.compress(_lines(*RECORDS))))
    assert [m.mention_id for m in mentions] == ["m1", "m2", "data:3"]


def test_gzip_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    mentions = read_mentions(_write(tmp_path / "data.jsonl", gzip.compress(_lines(*RECORDS))))
    assert len(mentions) == 3


def test_read_accepts_str_path(tmp_path: Path) -> None:
    assert len(read_mentions(str(_write(tmp_path / "data.jsonl", _lines(*RECORDS))))) == 3


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    data = b"\n" + _lines(RECORDS[0]) + b"   \n\t\n" + _lines({"name": "J. Subjak"}) + b"\n"
    mentions = read_mentions(_write(tmp_path / "data.jsonl", data))
    assert len(mentions) == 2
    # Default ids use the physical line number, blank lines included.
    assert mentions[1].mention_id == "data:5"


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", _lines(RECORDS[0]) + b"\n" + b'{"name": "A B"\n' + _lines(RECORDS[1]))
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert f"{path}:3" in str(info.value)
    assert info.value.location == f"{path}:3"


def test_invalid_record_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.jsonl", _lines(RECORDS[0], {"name": "D. Haziza", "year": -5}))
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert f"{path}:2" in str(info.value)
    assert "year" in str(info.value)


def test_duplicate_mention_id_names_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "dup.jsonl", _lines(RECORDS[0], RECORDS[1], {"mention_id": "m1", "name": "X Y"}))
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    message = str(info.value)
    assert f"{path}:3" in message
    assert "line 1" in message
    assert "'m1'" in message


def test_invalid_utf8_raises_input_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "latin1.jsonl", _lines(RECORDS[0]) + '{"name": "José Pérez"}\n'.encode("latin-1"))
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert "UTF-8" in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_utf8_names_the_right_line(tmp_path: Path) -> None:
    data = _lines(RECORDS[0], RECORDS[1]) + b'{"name": "Jos\xe9 P\xe9rez"}\n'
    path = _write(tmp_path / "latin1.jsonl", data)
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert info.value.location == f"{path}:3"


def test_truncated_gzip_raises_input_file_error(tmp_path: Path) -> None:
    data = gzip.compress(_lines(*RECORDS) * 50)
    path = _write(tmp_path / "cut.jsonl.gz", data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert "gzip" in str(info.value)


def test_corrupt_gzip_raises_input_file_error(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(_lines(*RECORDS) * 50))
    data[20:40] = b"\x00" * 20
    with pytest.raises(InputFileError):
        read_mentions(_write(tmp_path / "bad.jsonl.gz", bytes(data)))


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["empty", "only-blank-lines"])
def test_empty_file_raises(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputFileError) as info:
        read_mentions(_write(tmp_path / "empty.jsonl", content))
    assert "empty" in str(info.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(InputFileError) as info:
        read_mentions(path)
    assert info.value.location == str(path)


def test_read_labelled_returns_person_ids(tmp_path: Path) -> None:
    records = (*RECORDS, {"mention_id": "m4", "name": "A B", "person_id": 17})
    mentions, labels = read_labelled(_write(tmp_path / "gold.jsonl", _lines(*records)))
    assert [m.mention_id for m in mentions] == ["m1", "m2", "gold:3", "m4"]
    assert labels == ["p1", "p1", "p2", "17"]


def test_read_labelled_requires_person_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "gold.jsonl", _lines(RECORDS[0], {"mention_id": "m9", "name": "A B"}))
    with pytest.raises(InputFileError) as info:
        read_labelled(path)
    assert "'m9'" in str(info.value)


@pytest.mark.parametrize("person", ["", "  ", True, ["p1"], {"id": "p1"}, 1.5])
def test_a_person_id_is_a_non_empty_string_or_an_integer(tmp_path: Path, person: object) -> None:
    """ "" made every mention so labelled one person; true or a list were labels by their spelling."""
    path = _write(tmp_path / "gold.jsonl", _lines(RECORDS[0], {"mention_id": "m9", "name": "A B", "person_id": person}))
    with pytest.raises(InputFileError, match="'m9': person_id must be"):
        read_labelled(path)


def test_read_labelled_empty_file_raises(tmp_path: Path) -> None:
    with pytest.raises(InputFileError):
        read_labelled(_write(tmp_path / "gold.jsonl", b""))
