"""Ranking metrics on hand-computed cases (k = 3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthdata.evaluate.metrics import coverage, f1_of_means, hit_matrix, per_user_metrics

# user 0: recs [1, 2, 3], test {2, 5}      → hits [0, 1, 0]
# user 1: recs [4, 5, 6], test {4, 6, 7, 8} → hits [1, 0, 1]
# user 2: recs [7, -1, -1], test {9}       → no hits (padding never hits)
RECS = np.array([[1, 2, 3], [4, 5, 6], [7, -1, -1]])
USERS = np.array([0, 1, 2])
TEST_U = np.array([0, 0, 1, 1, 1, 1, 2])
TEST_I = np.array([2, 5, 4, 6, 7, 8, 9])
N_POS = np.array([2, 4, 1])


def test_hit_matrix() -> None:
    hits = hit_matrix(RECS, USERS, TEST_U, TEST_I)
    np.testing.assert_array_equal(hits, [[0, 1, 0], [1, 0, 1], [0, 0, 0]])
    # another user's test item is not a hit: user 0 recommended item 4 that only user 1 likes
    assert not hit_matrix(np.array([[4]]), np.array([0]), TEST_U, TEST_I).any()


def test_per_user_metrics_hand_computed() -> None:
    m = per_user_metrics(hit_matrix(RECS, USERS, TEST_U, TEST_I), N_POS, k=3)
    l3, l4 = math.log2(3), math.log2(4)
    np.testing.assert_allclose(m["precision"], [1 / 3, 2 / 3, 0])
    np.testing.assert_allclose(m["recall"], [1 / 2, 2 / 4, 0])
    np.testing.assert_allclose(m["f1"], [0.4, 4 / 7, 0])
    np.testing.assert_allclose(m["ndcg"], [(1 / l3) / (1 + 1 / l3), (1 + 1 / l4) / (1 + 1 / l3 + 1 / l4), 0])
    np.testing.assert_allclose(m["map"], [(1 / 2) / 2, (1 + 2 / 3) / 3, 0])
    np.testing.assert_allclose(m["hitrate"], [1, 1, 0])


def test_precision_divides_by_k_not_by_test_size() -> None:
    # One test positive, hit at rank 1: precision@10 = 0.1 (implicit's variant would say 1.0).
    hits = np.zeros((1, 10), dtype=bool)
    hits[0, 0] = True
    m = per_user_metrics(hits, np.array([1]), k=10)
    assert m["precision"][0] == pytest.approx(0.1)
    assert m["recall"][0] == pytest.approx(1.0)
    assert m["ndcg"][0] == pytest.approx(1.0)
    assert m["map"][0] == pytest.approx(1.0)


def test_perfect_ranking_scores_one() -> None:
    hits = np.ones((4, 5), dtype=bool)
    m = per_user_metrics(hits, np.array([5, 5, 5, 5]), k=5)
    for name in ("precision", "recall", "f1", "ndcg", "map", "hitrate"):
        np.testing.assert_allclose(m[name], 1.0)


def test_f1_variants_differ_and_are_defined() -> None:
    m = per_user_metrics(hit_matrix(RECS, USERS, TEST_U, TEST_I), N_POS, k=3)
    p, r = m["precision"].mean(), m["recall"].mean()
    assert f1_of_means(p, r) == pytest.approx(2 * p * r / (p + r))
    assert f1_of_means(0.0, 0.0) == 0.0
    assert m["f1"].mean() == pytest.approx((0.4 + 4 / 7) / 3)
    assert f1_of_means(p, r) != pytest.approx(m["f1"].mean())


def test_users_without_positives_are_rejected() -> None:
    with pytest.raises(ValueError, match="at least one test positive"):
        per_user_metrics(np.zeros((1, 3), bool), np.array([0]), k=3)


def test_coverage() -> None:
    assert coverage(RECS, 10) == pytest.approx(7 / 10)  # items 1..7 appear; padding ignored
    with pytest.raises(ValueError):
        coverage(RECS, 0)
