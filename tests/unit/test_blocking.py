"""Blocks: surname key plus first initial, and sub-blocking of oversized blocks."""

from __future__ import annotations

import numpy as np

from disambig.blocking import make_blocks
from disambig.names import parse_name


def _block_of(blocks: list, row: int) -> str:
    keys = [b.key for b in blocks if row in b.rows.tolist()]
    assert len(keys) == 1
    return keys[0]


def test_spelling_variants_share_a_block() -> None:
    raws = [
        "García-Márquez, José",
        "Garcia-Marquez, J.",
        "GARCÍA-MÁRQUEZ, JOSÉ",
        "José García-Márquez",
        "jose garcia-marquez",
        "Garcia Marquez, J.",  # space-split surname with a comma: same surname key
        "Haziza, Daniel",
    ]
    blocks = make_blocks([parse_name(r) for r in raws])
    keys = {_block_of(blocks, row) for row in range(6)}
    assert keys == {"garciamarquez_j"}
    assert _block_of(blocks, 6) == "haziza_d"
    assert [b.key for b in blocks] == ["garciamarquez_j", "haziza_d"]
    assert blocks[0].rows.tolist() == [0, 1, 2, 3, 4, 5]


def test_medline_form_with_split_surname_shares_the_block() -> None:
    blocks = make_blocks([parse_name("García-Márquez, José"), parse_name("GARCIA MARQUEZ J")])
    assert _block_of(blocks, 1) == _block_of(blocks, 0)


def _check_cover(blocks: list, n: int, max_size: int) -> None:
    rows = np.concatenate([b.rows for b in blocks])
    assert sorted(rows.tolist()) == list(range(n))  # every row exactly once
    assert all(1 <= len(b.rows) <= max_size for b in blocks)
    assert len({b.key for b in blocks}) == len(blocks)


def test_small_blocks_are_not_split() -> None:
    names = [parse_name(r) for r in ["Wang, Jian", "Wang, Jun", "J. Wang"]]
    blocks = make_blocks(names, max_block_size=3)
    assert [(b.key, b.rows.tolist()) for b in blocks] == [("wang_j", [0, 1, 2])]


def test_oversized_block_is_split() -> None:
    raws = ["Wang, Jian"] * 10 + ["Wang, Jun"] * 8 + ["Wang, J."] * 7 + ["Li, Wei"] * 2
    # interleave so row order differs from sub-block order
    order = np.random.default_rng(0).permutation(len(raws))
    names = [parse_name(raws[i]) for i in order]
    max_size = 4
    blocks = make_blocks(names, max_block_size=max_size)
    _check_cover(blocks, len(names), max_size)
    li = [b for b in blocks if b.key == "li_w"]
    assert len(li) == 1 and len(li[0].rows) == 2
    wang = [b for b in blocks if b.key.startswith("wang_j")]
    assert sum(len(b.rows) for b in wang) == 25
    assert len(wang) == 3 + 2 + 2  # ceil(10/4) + ceil(8/4) + ceil(7/4)
    for block in wang:
        # sub-blocks never mix first names
        assert len({names[r].first for r in block.rows.tolist()}) == 1


def test_split_of_one_homogeneous_group_is_by_size() -> None:
    names = [parse_name("J. Wang")] * 10
    blocks = make_blocks(names, max_block_size=3)
    _check_cover(blocks, 10, 3)
    assert [len(b.rows) for b in blocks] == [3, 3, 3, 1]


def test_blocks_are_deterministic() -> None:
    raws = ["Wang, Jian", "Li, Wei", "Wang, Jun", "Wang, J.", "Li, W."] * 5
    names = [parse_name(r) for r in raws]
    first = make_blocks(names, max_block_size=4)
    second = make_blocks(list(names), max_block_size=4)
    assert [(b.key, b.rows.tolist()) for b in first] == [(b.key, b.rows.tolist()) for b in second]
