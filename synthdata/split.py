"""Train/test splits for recommender evaluation: per-user temporal (default), global temporal, user-random.

Why per-user temporal by default: it mirrors deployment (predict each user's next interactions from their
past) without dropping users, as a global cut does for users who stop early. Everything is vectorised
(sort + groupby rank), so a split of millions of rows costs a few sorts, never a per-user loop.
The same function carves the validation split out of train for tuning (`split(train, ...)`).
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
import pandas as pd

from synthdata.callable_module import make_callable
from synthdata.datetimes import sort_key
from synthdata.errors import ConfigError, InputError
from synthdata.schema import Schema

Protocol = Literal["user-temporal", "global-temporal", "user-random"]
PROTOCOLS: tuple[str, ...] = get_args(Protocol)


def n_test_per_group(sizes: np.ndarray, test_fraction: float) -> np.ndarray:
    """Rows per user that go to test: round(n·f) half-up, but at least one row always stays in train.

    A user with a single interaction therefore stays entirely in train.
    """
    n_test = np.floor(sizes * test_fraction + 0.5).astype(np.int64)
    return np.minimum(n_test, np.maximum(sizes - 1, 0))


def _check(df: pd.DataFrame, schema: Schema, protocol: str, test_fraction: float) -> str | None:
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown split protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if schema.user_col not in df.columns:
        raise InputError("user id column missing from table", column=schema.user_col)
    if df.empty:
        raise InputError("cannot split an empty table")
    if protocol == "user-random":
        return None
    tcol = schema.time_col
    if tcol is None:
        raise ConfigError(f"protocol {protocol!r} needs a column with role 'timestamp'; use 'user-random'")
    if tcol not in df.columns:
        raise InputError("timestamp column missing from table", column=tcol)
    bad = df[tcol].isna().to_numpy()
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} rows have no timestamp; a temporal split cannot place them",
            column=tcol,
            row=int(np.flatnonzero(bad)[0]),
        )
    return tcol


def holdout_mask(
    df: pd.DataFrame,
    schema: Schema,
    protocol: Protocol = "user-temporal",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    """Boolean mask over `df` rows: True where the row goes to test."""
    tcol = _check(df, schema, protocol, test_fraction)
    n = len(df)
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(n)  # seeded: ties in time (and user-random order) are broken reproducibly
    if protocol == "global-temporal":
        t = sort_key(df[tcol])
        order = np.lexsort((tiebreak, t))
        n_test = int(np.floor(n * test_fraction + 0.5))
        mask = np.zeros(n, dtype=bool)
        if n_test:
            mask[order[n - n_test :]] = True
        return mask
    users = pd.factorize(df[schema.user_col], sort=False)[0]
    keys: tuple[np.ndarray, ...]
    if protocol == "user-temporal":
        t = sort_key(df[tcol])
        keys = (tiebreak, t, users)  # lexsort: last key is primary
    else:  # user-random
        keys = (tiebreak, users)
    order = np.lexsort(keys)
    sorted_users = users[order]
    sizes = np.bincount(users)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.arange(n) - starts[sorted_users]  # position of the row inside its user's ordered block
    n_test = n_test_per_group(sizes, test_fraction)
    is_test_sorted = rank >= (sizes - n_test)[sorted_users]
    mask = np.empty(n, dtype=bool)
    mask[order] = is_test_sorted
    return mask


def split(
    df: pd.DataFrame,
    schema: Schema,
    protocol: Protocol = "user-temporal",
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split interactions into (train, test); rows keep their original relative order and index."""
    mask = holdout_mask(df, schema, protocol, test_fraction, seed)
    return df.loc[~mask], df.loc[mask]


make_callable(__name__, "split")  # `synthdata.split(...)` is `split(...)`: the top-level API
