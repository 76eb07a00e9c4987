"""Rank fusion as pure functions, checked against rankings worked out by hand."""

from __future__ import annotations

import pytest

from qa.fusion import rrf, weighted

DENSE = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
KEYWORD = [("b", 12.0), ("c", 7.0), ("d", 3.0)]


def test_rrf_sums_reciprocal_ranks():
    fused = rrf([DENSE, KEYWORD], k=60)
    # b: 1/62 + 1/61, c: 1/63 + 1/62, a: 1/61, d: 1/63
    assert [key for key, _ in fused] == ["b", "c", "a", "d"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[3][1] == pytest.approx(1 / 63)


def test_rrf_ignores_raw_scores_and_honours_weights():
    scaled = [[(k, s * 1000) for k, s in DENSE], KEYWORD]
    assert rrf(scaled) == rrf([DENSE, KEYWORD])
    # a only in the first list, d only in the second: the heavier list wins
    assert [k for k, _ in rrf([[("a", 1.0)], [("d", 1.0)]], weights=[2.0, 1.0])] == ["a", "d"]
    assert [k for k, _ in rrf([[("a", 1.0)], [("d", 1.0)]], weights=[1.0, 2.0])] == ["d", "a"]


def test_rrf_small_k_rewards_the_top():
    fused = dict(rrf([DENSE, KEYWORD], k=1))
    assert fused["b"] == pytest.approx(1 / 3 + 1 / 2)
    assert fused["a"] == pytest.approx(1 / 2)


def test_weighted_min_max_normalises_each_list():
    fused = weighted([DENSE, KEYWORD], [0.5, 0.5])
    # dense normalised: a 1, b 0.875, c 0; keyword: b 1, c 4/9, d 0
    expected = {"a": 0.5, "b": 0.5 * 0.875 + 0.5, "c": 0.5 * 4 / 9, "d": 0.0}
    assert [k for k, _ in fused] == ["b", "a", "c", "d"]
    for key, score in fused:
        assert score == pytest.approx(expected[key])


def test_weighted_leans_towards_the_heavier_list():
    dense_only = weighted([DENSE, KEYWORD], [1.0, 0.0])
    assert [k for k, _ in dense_only][:3] == ["a", "b", "c"]
    keyword_only = weighted([DENSE, KEYWORD], [0.0, 1.0])
    assert [k for k, _ in keyword_only] == ["b", "c", "a", "d"]  # a and d both score 0: id order


def test_ties_break_by_id_and_empty_lists_are_fine():
    assert weighted([[("x", 1.0), ("y", 1.0)]], [1.0]) == [("x", 1.0), ("y", 1.0)]
    assert rrf([[], []]) == []
    assert weighted([[], KEYWORD], [0.5, 0.5])[0][0] == "b"


def test_weight_count_must_match():
    with pytest.raises(ValueError, match="2 rankings but 1 weights"):
        rrf([DENSE, KEYWORD], weights=[1.0])
    with pytest.raises(ValueError, match="2 rankings but 3 weights"):
        weighted([DENSE, KEYWORD], [0.2, 0.3, 0.5])
