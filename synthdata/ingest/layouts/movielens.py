"""The MovieLens-100K layout: fixed file formats (u.data, u.user, u.item) and the primary genre."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthdata.schema import ColumnSpec, DType, PositiveRule, Role, Schema

# --- MovieLens-100K -------------------------------------------------------------------------------
ML_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def genre_flag(g: str) -> str:
    return "genre_" + re.sub(r"[^0-9a-z]+", "_", g.lower().replace("'", "")).strip("_")


ML_FLAGS = [genre_flag(g) for g in ML_GENRES]
ML_USER_NAMES = ["user_id", "age", "gender", "occupation", "zip_code"]
ML_ITEM_NAMES = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *ML_FLAGS]


def movielens_schema() -> Schema:
    """Input+output schema of the MovieLens-100K layout: u.data columns by position, attribute
    columns by their name in u.user / u.item (see ML_USER_NAMES / ML_ITEM_NAMES)."""
    S, UA, IA = ColumnSpec, Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE
    cols = [
        S(name="user_id", role=Role.USER_ID, dtype=DType.INT, source=0),
        S(name="item_id", role=Role.ITEM_ID, dtype=DType.INT, source=1),
        S(name="rating", role=Role.SIGNAL, dtype=DType.INT, source=2, min=1, max=5),
        S(name="timestamp", role=Role.TIMESTAMP, dtype=DType.DATETIME, source=3, datetime_unit="s"),
        S(name="age", role=UA, dtype=DType.INT, source="age", min=1, max=120),
        S(name="gender", role=UA, dtype=DType.CATEGORY, source="gender", allowed=["M", "F"]),
        S(name="occupation", role=UA, dtype=DType.CATEGORY, source="occupation"),
        S(name="zip_code", role=UA, dtype=DType.STRING, source="zip_code"),
        S(name="title", role=IA, dtype=DType.STRING, source="title"),
        S(name="release_date", role=IA, dtype=DType.DATETIME, source="release_date", nullable=True),
        S(name="genre", role=IA, dtype=DType.CATEGORY, source=None, allowed=ML_GENRES),
        *[S(name=f, role=IA, dtype=DType.BOOL, source=f) for f in ML_FLAGS],
    ]
    return Schema(
        layout="movielens-100k",
        columns=cols,
        positive=PositiveRule(column="rating", min=4),
        csv={"sep": "\t", "header": False},
    )


def primary_genre(items: pd.DataFrame) -> pd.Series:
    """First flagged genre in u.genre order; `unknown` when no flag is set."""
    flags = items[ML_FLAGS].fillna(False).to_numpy(bool)
    first = np.where(flags.any(axis=1), flags.argmax(axis=1), 0)
    return pd.Series(np.asarray(ML_GENRES, dtype=object)[first], index=items.index)
