"""Read MovieLens-100K into the clean interaction table (plain pandas) for benchmarks.

Columns follow the ingestion stage's clean table; used when `synthdata.ingest` is not importable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthdata.schema import Schema

GENRES = [
    "unknown",
    "action",
    "adventure",
    "animation",
    "childrens",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "fantasy",
    "film_noir",
    "horror",
    "musical",
    "mystery",
    "romance",
    "sci_fi",
    "thriller",
    "war",
    "western",
]
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens-100k"


def load_interactions(root: Path = DEFAULT_DIR) -> pd.DataFrame:
    """user_id, item_id, rating, timestamp, age, gender, occupation, genre (primary) per rating."""
    data = pd.read_csv(root / "u.data", sep="\t", names=["user_id", "item_id", "rating", "ts"])
    users = pd.read_csv(
        root / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip_code"]
    )
    items = pd.read_csv(root / "u.item", sep="|", encoding="latin-1", header=None)
    flags = items.iloc[:, 5:24].to_numpy()
    primary = np.where(flags.any(axis=1), flags.argmax(axis=1), 0)
    items = pd.DataFrame({"item_id": items[0], "genre": np.asarray(GENRES, dtype=object)[primary]})
    df = data.merge(users, on="user_id").merge(items, on="item_id")
    df["timestamp"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    df = df.drop(columns=["ts", "zip_code"])
    df["gender"] = df["gender"].astype("category")
    df["occupation"] = df["occupation"].astype("category")
    df["genre"] = df["genre"].astype("category")
    return df[["user_id", "item_id", "rating", "timestamp", "age", "gender", "occupation", "genre"]]


def train_split(df: pd.DataFrame) -> pd.DataFrame:
    """The project's per-user temporal split (80% oldest interactions of each user → train)."""
    from synthdata.split import split

    train, _ = split(df, schema(with_time=True), protocol="user-temporal", test_fraction=0.2, seed=0)
    return train.reset_index(drop=True)


def schema(with_time: bool = True) -> Schema:
    cols = [
        {"name": "user_id", "role": "user_id", "dtype": "int"},
        {"name": "item_id", "role": "item_id", "dtype": "int"},
        {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
    ]
    if with_time:
        cols.append({"name": "timestamp", "role": "timestamp", "dtype": "datetime"})
    cols += [
        {"name": "age", "role": "user_attribute", "dtype": "int"},
        {"name": "gender", "role": "user_attribute", "dtype": "category"},
        {"name": "occupation", "role": "user_attribute", "dtype": "category"},
        {"name": "genre", "role": "item_attribute", "dtype": "category"},
    ]
    return Schema.from_dict({"columns": cols, "positive": {"column": "rating", "min": 4}})
