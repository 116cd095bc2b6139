"""Augmentation strategies: which synthetic rows to add, and how to ask the synthesizer for them.

- unconditional: n rows sampled from the learned joint distribution;
- cold-users: users with ≤ N training positives get a fixed budget of rows each, by exact conditional
  sampling on user_id (the synthesizer's `conditions`), so help goes where data is thinnest;
- long-tail: items outside the head (the most popular items holding `long_tail_share` of positives) get
  a budget each by conditioning on item_id.
- virtual-users: N brand-new users from a histories model (default: as many as the real users);
- cold-neighbours: `neighbours` virtual neighbours of each cold user (a histories model's `like`),
  AR-CF's virtual neighbours;
`select` applies the same targeting to an already generated synthetic table (for the two user
strategies: the rows of users the training data lacks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from synthdata.errors import ConfigError
from synthdata.evaluate.recommend import positive_rows
from synthdata.schema import Schema


class SamplesRows(Protocol):
    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None) -> pd.DataFrame: ...


class SamplesUsers(SamplesRows, Protocol):
    def sample_users(
        self, n: int | None = None, *, like: Sequence = (), per_user: int = 1, seed: int | None = None
    ) -> pd.DataFrame: ...


def training_positives_per_user(train: pd.DataFrame, schema: Schema) -> pd.Series:
    """Positives per user in train; users with interactions but no positives count 0."""
    users = train[schema.user_col]
    pos = positive_rows(train, schema)
    counts = users[pos].value_counts()
    return counts.reindex(pd.unique(users), fill_value=0)


def cold_users(train: pd.DataFrame, schema: Schema, threshold: int) -> np.ndarray:
    counts = training_positives_per_user(train, schema)
    return counts.index[counts.to_numpy() <= threshold].to_numpy()


def long_tail_items(train: pd.DataFrame, schema: Schema, head_share: float = 0.8) -> np.ndarray:
    """Items outside the smallest most-popular set holding `head_share` of training positives."""
    items = train[schema.item_col]
    pos = positive_rows(train, schema)
    counts = items[pos].value_counts().reindex(pd.unique(items), fill_value=0)
    counts = counts.iloc[np.lexsort((np.arange(len(counts)), -counts.to_numpy()))]
    total = counts.sum()
    if total == 0:
        return counts.index.to_numpy()
    share_before = (counts.cumsum() - counts) / total  # share held by strictly more popular items
    return counts.index[share_before.to_numpy() >= head_share].to_numpy()


def select(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    schema: Schema,
    strategy: str,
    cold_threshold: int = 10,
    long_tail_share: float = 0.8,
) -> pd.DataFrame:
    """Keep the synthetic rows the strategy targets (all rows for 'unconditional')."""
    if strategy == "unconditional":
        return synthetic
    if strategy == "cold-users":
        keep = synthetic[schema.user_col].isin(cold_users(train, schema, cold_threshold))
    elif strategy == "long-tail":
        keep = synthetic[schema.item_col].isin(long_tail_items(train, schema, long_tail_share))
    elif strategy in ("virtual-users", "cold-neighbours"):
        keep = ~synthetic[schema.user_col].isin(pd.unique(train[schema.user_col]))
    else:
        raise ConfigError(f"unknown augmentation strategy {strategy!r}")
    return synthetic.loc[keep.to_numpy()]


def generate(
    synth: SamplesRows,
    train: pd.DataFrame,
    schema: Schema,
    strategy: str = "unconditional",
    *,
    n_rows: int | None = None,
    budget: int = 20,
    cold_threshold: int = 10,
    long_tail_share: float = 0.8,
    seed: int = 0,
    n_users: int | None = None,
    neighbours: int = 5,
) -> pd.DataFrame:
    """Ask a fitted synthesizer for augmentation rows.

    unconditional: `n_rows` rows (default len(train)); cold-users / long-tail: `budget` rows per
    targeted user / item, each row conditioned exactly on its id; virtual-users: `n_users` virtual
    users (default: as many as the real users); cold-neighbours: `neighbours` per cold user.
    """
    if strategy == "unconditional":
        return synth.sample(int(n_rows if n_rows is not None else len(train)), seed=seed)
    if strategy in ("virtual-users", "cold-neighbours"):
        return _user_strategy(synth, train, schema, strategy, n_users, neighbours, cold_threshold, seed)
    if strategy == "cold-users":
        col, targets = schema.user_col, cold_users(train, schema, cold_threshold)
    elif strategy == "long-tail":
        col, targets = schema.item_col, long_tail_items(train, schema, long_tail_share)
    else:
        raise ConfigError(f"unknown augmentation strategy {strategy!r}")
    if len(targets) == 0 or budget <= 0:
        return train.iloc[:0].copy()  # nothing to target: an empty table with the right columns
    values = np.repeat(np.asarray(targets), budget)
    return synth.sample(len(values), conditions={col: values.tolist()}, seed=seed)


def _user_strategy(
    synth: SamplesRows,
    train: pd.DataFrame,
    schema: Schema,
    strategy: str,
    n_users: int | None,
    neighbours: int,
    cold_threshold: int,
    seed: int,
) -> pd.DataFrame:
    if not hasattr(synth, "sample_users"):  # a row Synthesizer refuses in sample_users, naming the models
        raise ConfigError(
            f"strategy {strategy} needs a histories-family model (train.model: multvae or multdae)"
        )
    if strategy == "virtual-users":
        n = n_users if n_users is not None else int(train[schema.user_col].nunique())
        return synth.sample_users(n, seed=seed)  # type: ignore[attr-defined]
    counts = training_positives_per_user(train, schema)
    cold = counts.index[(counts.to_numpy() <= cold_threshold) & (counts.to_numpy() > 0)].to_numpy()
    if len(cold) == 0:
        return train.iloc[:0].copy()
    return synth.sample_users(like=list(cold), per_user=neighbours, seed=seed)  # type: ignore[attr-defined]
