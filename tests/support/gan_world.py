"""Small synthetic interaction tables with known structure for the GAN tests (no ingestion needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.schema import Schema

SCHEMA = Schema.from_dict(
    {
        "columns": [
            {"name": "user_id", "role": "user_id", "dtype": "string"},
            {"name": "item_id", "role": "item_id", "dtype": "int"},
            {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
            {"name": "views", "role": "signal", "dtype": "int", "min": 0, "max": 500},
            {"name": "price_paid", "role": "signal", "dtype": "float", "nullable": True},
            {"name": "ts", "role": "timestamp", "dtype": "datetime"},
            {"name": "channel", "role": "categorical", "dtype": "category"},
            {"name": "age", "role": "user_attribute", "dtype": "int"},
            {"name": "gender", "role": "user_attribute", "dtype": "category"},
            {"name": "category", "role": "item_attribute", "dtype": "category"},
            {"name": "note", "role": "ignore", "dtype": "string"},
        ],
        "positive": {"column": "rating", "min": 4},
    }
)


def make_table(n_users: int = 40, n_items: int = 60, n_rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Users in two taste groups; items in four categories; attributes fixed per user/item."""
    rng = np.random.default_rng(seed)
    users = np.array([f"u{i:03d}" for i in range(n_users)], dtype=object)
    u_age = rng.integers(18, 70, n_users)
    u_gender = rng.choice(["F", "M"], n_users)
    items = np.arange(1000, 1000 + n_items)
    i_cat = rng.choice(["books", "games", "music", "toys"], n_items)
    u = rng.zipf(1.6, n_rows) % n_users
    group = u % 2
    i = (rng.integers(0, n_items // 2, n_rows) * 2 + group) % n_items  # group 0 → even items
    rating = np.clip(np.round(3 + group + rng.normal(0, 1, n_rows)), 1, 5).astype(np.int64)
    views = rng.poisson(3 + 40 * group, n_rows).astype(np.int64)
    price = np.round(rng.gamma(2.0, 10.0, n_rows), 2)
    price[rng.random(n_rows) < 0.1] = np.nan
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90 * 86400, n_rows), unit="s")
    return pd.DataFrame(
        {
            "user_id": users[u],
            "item_id": items[i],
            "rating": rating,
            "views": views,
            "price_paid": price,
            "ts": ts,
            "channel": pd.Categorical(rng.choice(["app", "web", "store"], n_rows, p=[0.6, 0.3, 0.1])),
            "age": u_age[u],
            "gender": pd.Categorical(u_gender[u]),
            "category": pd.Categorical(i_cat[i]),
            "note": rng.choice(["a", "b", "c"], n_rows).astype(object),
        }
    )


def high_card_table(n_users: int, n_items: int, n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, Schema]:
    """A table with many ids (for memory scaling): ids, a rating, one attribute each."""
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n_users, n_rows)
    i = np.concatenate([np.arange(n_items), rng.integers(0, n_items, max(0, n_rows - n_items))])[:n_rows]
    df = pd.DataFrame(
        {
            "user_id": u,
            "item_id": i,
            "rating": rng.integers(1, 6, n_rows),
            "segment": (u % 5).astype(np.int64),
            "genre": pd.Categorical(np.array(["a", "b", "c", "d"])[i % 4]),
        }
    )
    schema = Schema.from_dict(
        {
            "columns": [
                {"name": "user_id", "role": "user_id", "dtype": "int"},
                {"name": "item_id", "role": "item_id", "dtype": "int"},
                {"name": "rating", "role": "signal", "dtype": "int"},
                {"name": "segment", "role": "user_attribute", "dtype": "int"},
                {"name": "genre", "role": "item_attribute", "dtype": "category"},
            ]
        }
    )
    return df, schema


FAST = {"progress_bar": False, "val_rows": 300, "num_threads": 1}
