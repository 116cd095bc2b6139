"""A tiny seeded interaction world for evaluation tests: two taste clusters, so a recommender can learn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.schema import Schema

SCHEMA = Schema.from_dict(
    {
        "columns": [
            {"name": "user_id", "role": "user_id", "dtype": "int"},
            {"name": "item_id", "role": "item_id", "dtype": "int"},
            {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
            {"name": "timestamp", "role": "timestamp", "dtype": "datetime"},
            {"name": "age", "role": "user_attribute", "dtype": "int"},
            {"name": "gender", "role": "user_attribute", "dtype": "category"},
            {"name": "genre", "role": "item_attribute", "dtype": "category"},
        ],
        "positive": {"column": "rating", "min": 4},
    }
)


FAST_EVAL = dict(  # a small grid for tests: one factor count, one α, few bootstrap draws
    seeds=2,
    factors_grid=[8],
    regularization_grid=[0.1],
    alpha_grid=[0.5],
    iterations=8,
    n_bootstrap=200,
    n_permutations=200,
    cold_threshold=4,
    fidelity=False,
    privacy_max_rows=200,
    mia_max_rows=200,
)


def world(n_users: int = 80, n_items: int = 50, per_user: int = 15, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    user_cluster = rng.integers(0, 2, n_users)
    item_cluster = np.arange(n_items) % 2
    pop = rng.pareto(1.5, n_items) + 1
    rows = []
    for u in range(n_users):  # test-data construction only, not library code
        n = int(rng.integers(2, per_user * 2))
        same = item_cluster == user_cluster[u]
        p = pop * np.where(same, 4.0, 1.0)
        items = rng.choice(n_items, size=min(n, n_items), replace=False, p=p / p.sum())
        liked = item_cluster[items] == user_cluster[u]
        rating = np.where(liked, rng.integers(4, 6, items.size), rng.integers(1, 4, items.size))
        t = np.sort(rng.integers(0, 10_000_000, items.size))
        rows.append(pd.DataFrame({"user_id": u + 1, "item_id": items + 100, "rating": rating, "ts": t}))
    df = pd.concat(rows, ignore_index=True)
    df["timestamp"] = pd.to_datetime(1_600_000_000 + df.pop("ts"), unit="s", utc=True)
    ages = rng.integers(18, 70, n_users)
    genders = rng.choice(["M", "F"], n_users)
    df["age"] = ages[df.user_id - 1]
    df["gender"] = pd.Categorical(genders[df.user_id - 1])
    df["genre"] = pd.Categorical(np.where(item_cluster[df.item_id - 100] == 0, "drama", "comedy"))
    return df


class FakeSynthesizer:
    """Stands in for the GAN: remembers what it was fitted on and resamples those rows (ids shuffled).

    `conditions` are honoured exactly, like the real Synthesizer's conditional sampling.
    """

    def __init__(self, schema: Schema, seed: int = 0) -> None:
        self.schema = schema
        self.seed = seed
        self.fitted_on: pd.DataFrame | None = None

    def fit(self, df: pd.DataFrame, **_: object) -> FakeSynthesizer:
        self.fitted_on = df.copy()
        return self

    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None) -> pd.DataFrame:
        assert self.fitted_on is not None
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = self.fitted_on.iloc[rng.integers(0, len(self.fitted_on), n)].reset_index(drop=True)
        out["item_id"] = rng.permutation(out["item_id"].to_numpy())
        for col, values in (conditions or {}).items():
            out[col] = values if isinstance(values, list) else [values] * n
        return out
