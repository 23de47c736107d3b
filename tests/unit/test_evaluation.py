"""B3 and pairwise scores."""

from __future__ import annotations

import pytest

from disambig.evaluation import Scores, score, score_by_block


def test_perfect_clustering_scores_one_whatever_the_label_names() -> None:
    result = score(["x", "x", "y", "z", "z"], ["a", "a", "b", "c", "c"])
    assert result.mentions == 5
    for name, value in result.as_dict().items():
        if name != "mentions":
            assert value == pytest.approx(1.0), name


def test_all_in_one_cluster() -> None:
    result = score([0, 0, 0, 0], ["a", "a", "b", "b"])
    assert result.b3_precision == pytest.approx(0.5)
    assert result.b3_recall == pytest.approx(1.0)
    assert result.b3_f1 == pytest.approx(2 / 3)
    assert result.pairwise_precision == pytest.approx(2 / 6)
    assert result.pairwise_recall == pytest.approx(1.0)


def test_all_singletons() -> None:
    result = score([0, 1, 2, 3], ["a", "a", "b", "b"])
    assert result.b3_precision == pytest.approx(1.0)
    assert result.b3_recall == pytest.approx(0.5)
    assert result.pairwise_recall == 0.0
    assert result.pairwise_f1 == 0.0


def test_hand_computed_example() -> None:
    # predicted clusters {0,1,2} {3} {4}; gold clusters {0,1} {2,3,4}
    result = score([0, 0, 0, 1, 2], ["a", "a", "b", "b", "b"])
    # B3 precision per mention: 2/3, 2/3, 1/3, 1, 1 -> 11/15
    assert result.b3_precision == pytest.approx(11 / 15)
    # B3 recall per mention: 1, 1, 1/3, 1/3, 1/3 -> 3/5
    assert result.b3_recall == pytest.approx(3 / 5)
    assert result.b3_f1 == pytest.approx(0.66)
    # pairs: predicted {01, 02, 12}, gold {01, 23, 24, 34}, shared {01}
    assert result.pairwise_precision == pytest.approx(1 / 3)
    assert result.pairwise_recall == pytest.approx(1 / 4)
    assert result.pairwise_f1 == pytest.approx(2 / 7)


def test_score_is_order_independent() -> None:
    predicted, gold = [0, 0, 0, 1, 2], ["a", "a", "b", "b", "b"]
    order = [4, 2, 0, 3, 1]
    shuffled = score([predicted[i] for i in order], [gold[i] for i in order]).as_dict()
    assert shuffled == pytest.approx(score(predicted, gold).as_dict())


def test_empty_input_is_perfect() -> None:
    assert score([], []) == Scores(0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="length"):
        score([0, 1], ["a"])


def test_score_by_block() -> None:
    predicted = [0, 0, 1, 1, 2, 3]
    gold = ["a", "a", "b", "c", "d", "d"]
    blocks = ["k2", "k2", "k1", "k1", "k3", "k3"]
    result = score_by_block(predicted, gold, blocks)
    assert list(result) == ["k1", "k2", "k3"]
    assert result["k2"] == score([0, 0], ["a", "a"])
    assert result["k2"].b3_f1 == pytest.approx(1.0)
    assert result["k1"].mentions == 2
    assert result["k1"].b3_precision == pytest.approx(0.5)
    assert result["k1"].b3_recall == pytest.approx(1.0)
    assert result["k3"].b3_recall == pytest.approx(0.5)
    assert result["k3"].pairwise_recall == 0.0
