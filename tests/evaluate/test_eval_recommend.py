"""Recommender plumbing: positive rule, duplicate dropping, α weighting, exclusion, popularity floor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.eval_world import SCHEMA, world

from synthdata.evaluate.recommend import (
    Index,
    ModelParams,
    augmented_matrix,
    confidence,
    fit_recommend,
    has_cuda,
    make_model,
    popularity_recommend,
    positive_rows,
    real_matrices,
    synthetic_matrix,
)
from synthdata.evaluate.tuning import Target
from synthdata.schema import Schema
from synthdata.split import split

SMALL = Schema.from_dict(
    {
        "columns": [
            {"name": "u", "role": "user_id", "dtype": "int"},
            {"name": "i", "role": "item_id", "dtype": "int"},
            {"name": "rating", "role": "signal", "dtype": "int"},
            {"name": "buys", "role": "signal", "dtype": "int"},
        ],
        "positive": {"column": "rating", "min": 4, "confidence": "buys"},
    }
)


def test_positive_rule_and_confidence() -> None:
    df = pd.DataFrame({"u": [1, 1, 2], "i": [1, 2, 1], "rating": [5, 3, 4], "buys": [0, 2, np.e - 1]})
    np.testing.assert_array_equal(positive_rows(df, SMALL), [True, False, True])
    np.testing.assert_allclose(confidence(df, SMALL), [1.0, 1 + np.log(3), 2.0], rtol=1e-6)
    every = Schema.from_dict({"columns": [c.model_dump() for c in SMALL.columns]})
    assert positive_rows(df, every).all()


def test_synthetic_duplicates_of_real_pairs_are_dropped_and_alpha_applied() -> None:
    real = pd.DataFrame({"u": [1, 1, 2], "i": [10, 11, 10], "rating": [5, 2, 4], "buys": 0})
    syn = pd.DataFrame(
        {"u": [1, 1, 2, 2, 2], "i": [10, 11, 12, 12, 13], "rating": [5, 5, 5, 4, 1], "buys": 0}
    )
    idx = Index.build(SMALL, real, syn)
    pos, seen = real_matrices(real, SMALL, idx)
    assert pos.nnz == 2 and seen.nnz == 3  # (1,11) is seen but not positive
    sm, stats = synthetic_matrix(syn, SMALL, idx, seen)
    # (1,10) duplicates a real positive, (1,11) a real non-positive pair; (2,12) twice → once; (2,13) negative
    assert stats["synthetic_pairs_duplicating_real"] == 2
    assert stats["synthetic_pairs_used"] == 1
    u, i = idx.users.get_loc(2), idx.items.get_loc(12)
    assert sm[u, i] == 1.0
    aug = augmented_matrix(pos, sm, 0.25, "als", seed=0)
    assert aug[u, i] == pytest.approx(0.25)
    assert aug[idx.users.get_loc(1), idx.items.get_loc(10)] == pytest.approx(1.0)
    # BPR ignores weights: α is the kept share of synthetic pairs
    assert augmented_matrix(pos, sm, 0.0, "bpr", seed=0).nnz == pos.nnz
    assert augmented_matrix(pos, sm, 1.0, "bpr", seed=0).nnz == pos.nnz + 1


@pytest.fixture(scope="module")
def setup() -> tuple:
    df = world(n_users=100, n_items=60, seed=7)
    train, test = split(df, SCHEMA)
    idx = Index.build(SCHEMA, train, test)
    pos, seen = real_matrices(train, SCHEMA, idx)
    tu, ti = idx.codes(test, SCHEMA)
    p = positive_rows(test, SCHEMA)
    return idx, pos, seen, Target.from_codes(tu[p], ti[p])


@pytest.mark.parametrize("model", ["als", "bpr"])
def test_recommendations_exclude_training_items_and_are_reproducible(setup: tuple, model: str) -> None:
    _, pos, seen, target = setup
    params = ModelParams(model=model, factors=8, iterations=10)
    recs = fit_recommend(pos, seen, target.users, 5, params, seed=3)
    assert recs.shape == (target.users.size, 5)
    rows = np.repeat(target.users, 5)
    assert not np.asarray(seen[rows, recs.ravel()]).any()  # never a training item
    np.testing.assert_array_equal(recs, fit_recommend(pos, seen, target.users, 5, params, seed=3))


def test_als_beats_random_on_clustered_data(setup: tuple) -> None:
    _, pos, seen, target = setup
    recs = fit_recommend(
        pos, seen, target.users, 5, ModelParams(factors=8, iterations=15, regularization=0.1), 0
    )
    als = target.score(recs, 5)["precision"].mean()
    rng = np.random.default_rng(0)
    rand = [target.score(rng.integers(0, pos.shape[1], recs.shape), 5)["precision"].mean() for _ in range(20)]
    assert als > np.mean(rand) * 1.5


def test_popularity_recommender_hand_case() -> None:
    import scipy.sparse as sp

    # item popularity: 3 > 0 > 2 > 1 (item 1 unseen by anyone)
    pos = sp.csr_matrix(np.array([[1, 0, 1, 1], [1, 0, 0, 1], [1, 0, 1, 1], [0, 0, 0, 1]], dtype=np.float32))
    seen = pos.copy()
    recs = popularity_recommend(pos, seen, np.array([0, 3]), k=2)
    np.testing.assert_array_equal(recs, [[1, -1], [0, 2]])


def test_backend_is_cpu_without_cuda() -> None:
    if has_cuda():
        pytest.skip("GPU build of implicit present: the CPU assertion does not apply")
    from implicit.cpu.als import AlternatingLeastSquares

    assert isinstance(make_model(ModelParams(), seed=0), AlternatingLeastSquares)
