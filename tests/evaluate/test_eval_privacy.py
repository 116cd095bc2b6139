"""Privacy: copies of train are caught, fresh noise is not, and DCR compares against a holdout baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.eval_world import SCHEMA, world

from synthdata.evaluate.privacy import dcr, exact_copy_rate, privacy_report
from synthdata.split import split


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    return split(world(n_users=120, seed=4), SCHEMA, protocol="user-random", seed=0)


def noise(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": rng.integers(10_000, 20_000, n),
            "item_id": rng.integers(10_000, 20_000, n),
            "rating": rng.integers(1, 6, n),
            "timestamp": pd.to_datetime(rng.integers(1_000_000_000, 1_100_000_000, n), unit="s", utc=True),
            "age": rng.integers(18, 70, n),
            "gender": pd.Categorical(rng.choice(["M", "F"], n)),
            "genre": pd.Categorical(rng.choice(["drama", "comedy"], n)),
        }
    )


def test_copy_of_train_is_all_copies(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, _ = tables
    assert exact_copy_rate(train.sample(frac=1.0, random_state=1), train, SCHEMA) == 1.0
    # dtype differences (category vs object, int vs float) do not hide a copy
    recast = train.astype({"gender": object, "age": float, "rating": float})
    assert exact_copy_rate(recast, train, SCHEMA) == 1.0
    # numeric ids are compared as whole numbers, whatever their width or float-ness
    ids = train.astype({"user_id": "float64", "item_id": "int32"})
    assert exact_copy_rate(ids, train, SCHEMA) == 1.0
    assert exact_copy_rate(ids.assign(user_id=ids.user_id + 0.5), train, SCHEMA) == 0.0
    text = train.astype({"user_id": str, "item_id": str})  # text ids hash as their text
    assert exact_copy_rate(text, train.astype({"user_id": str, "item_id": str}), SCHEMA) == 1.0


def test_noise_has_no_copies(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, _ = tables
    assert exact_copy_rate(noise(2000, 0), train, SCHEMA) == 0.0
    one_changed = train.assign(rating=np.where(train.rating == 5, 4, 5))
    assert exact_copy_rate(one_changed, train, SCHEMA) == 0.0


def test_dcr_flags_memorisation_and_not_fresh_real_rows(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = tables
    copied = dcr(train, holdout, train.sample(n=300, random_state=0), SCHEMA, seed=0)
    assert copied["dcr_synthetic_median"] == pytest.approx(0.0, abs=1e-9)
    assert copied["dcr_synthetic_median"] < copied["dcr_holdout_median"]
    assert copied["dcr_below_holdout_p5_share"] > 0.9
    assert copied["dcr_closer_to_train_share"] == 1.0 > copied["dcr_closer_to_train_baseline"]
    # Real rows the "generator" never saw behave like the holdout baseline, not like copies.
    unseen = holdout.sample(frac=1.0, random_state=3)
    fresh = dcr(train, pd.concat([holdout, holdout]), unseen, SCHEMA, seed=0)
    assert fresh["dcr_below_holdout_p5_share"] < 0.3
    assert fresh["dcr_closer_to_train_share"] < copied["dcr_closer_to_train_share"]


def test_privacy_report_keys(tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, holdout = tables
    rep = privacy_report(train, holdout, noise(500, 1), SCHEMA)
    for key in (
        "exact_copy_rate",
        "exact_copy_rate_holdout",
        "dcr_closer_to_train_share",
        "dcr_synthetic_median",
        "dcr_holdout_median",
        "dcr_below_holdout_p5_share",
    ):
        assert key in rep
    assert rep["exact_copy_rate"] == 0.0


def test_membership_inference_catches_a_copier_and_not_a_fresh_sample() -> None:
    """A generator that copies its training rows is caught (AUC ≫ 0.5); rows from the same population
    that never saw the training rows leak nothing (AUC ≈ 0.5)."""
    from support.eval_world import SCHEMA, world

    from synthdata.evaluate.mia import mia
    from synthdata.split import split

    train, test = split(world(n_users=200, n_items=60, seed=3), SCHEMA, "user-random", 0.5, seed=0)
    copier = mia(train, test, train.sample(frac=1.0, random_state=0), SCHEMA, max_rows=400, seed=0)
    assert copier["mia_auc_dcr"] > 0.9 and copier["mia_auc"] >= copier["mia_auc_dcr"]
    fresh_rows = world(n_users=200, n_items=60, seed=99)  # same generative process, other draws
    fresh = mia(train, test, fresh_rows, SCHEMA, max_rows=400, seed=0)
    assert abs(fresh["mia_auc_dcr"] - 0.5) < 0.1 and abs(fresh["mia_auc_density_ratio"] - 0.5) < 0.1
    # against the null table (other training rows): the copier's excess is large, the fresh sample's ≈ 0
    assert copier["mia_auc_excess"] > 0.3 and abs(fresh["mia_auc_excess"]) < 0.1
    assert abs(copier["mia_auc_null"] - 0.5) < 0.1  # a random split: the null has nothing to find


def test_knn_distances_are_exact_whatever_the_working_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bounded-memory neighbour search returns the brute-force k smallest distances, ascending."""
    import scipy.sparse as sp

    from synthdata.evaluate import rowcode

    ref = sp.random(300, 12, density=0.4, random_state=1, format="csr")
    query = sp.random(50, 12, density=0.4, random_state=2, format="csr")
    dense = np.sqrt(((query.toarray()[:, None, :] - ref.toarray()[None, :, :]) ** 2).sum(axis=2))
    expected = np.sort(dense, axis=1)[:, :5]
    for mb in (1, rowcode.KNN_WORKING_MEMORY_MB):  # 1 MiB: many chunks
        monkeypatch.setattr(rowcode, "KNN_WORKING_MEMORY_MB", mb)
        np.testing.assert_allclose(rowcode.knn_distances(ref, query, 5), expected, atol=1e-9)
    assert rowcode.knn_distances(ref[:3], query, 5).shape == (50, 3)  # k capped at the reference rows


def test_row_hashes_do_not_depend_on_the_chunking(
    tables: tuple[pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    from synthdata.evaluate import rowcode
    from synthdata.evaluate.rowcode import compared_columns, normalised, normalised_row_hashes
    from synthdata.rowhash import row_hashes

    train, _ = tables
    cols = compared_columns(SCHEMA, train)
    whole = row_hashes(normalised(train, cols, SCHEMA))
    monkeypatch.setattr(rowcode, "HASH_CHUNK_ROWS", 7)
    assert np.array_equal(normalised_row_hashes(train, cols, SCHEMA), whole)
    # one id column with a fraction in its last chunk only: the whole column compares as text
    odd = train.astype({"item_id": float})
    odd.iloc[-1, odd.columns.get_loc("item_id")] = 0.5
    assert np.array_equal(
        normalised_row_hashes(odd, cols, SCHEMA)[:-1],
        row_hashes(normalised(odd, cols, SCHEMA))[:-1],
    )
    assert rowcode.integer_id_columns(odd, cols, SCHEMA) == {"user_id"}
