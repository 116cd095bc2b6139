"""Augmentation strategies: which synthetic rows to add, and how to ask the synthesizer for them.

- unconditional: n rows sampled from the learned joint distribution;
- cold-users: users with ≤ N training positives get a fixed budget of rows each, by exact conditional
  sampling on user_id (the synthesizer's `conditions`), so help goes where data is thinnest;
- long-tail: items outside the head (the most popular items holding `long_tail_share` of positives) get
  a budget each by conditioning on item_id.
- virtual-users: N brand-new users from a histories model (default: as many as the real users);
- cold-neighbours: `neighbours` virtual neighbours of each cold user (a histories model's `like`),
  AR-CF's virtual neighbours;
- cold-items: help for items with 1 … `cold_item_threshold` training positives. Its meaning depends on
  the model family (`is_histories`): a row model gets `budget` rows per cold item by conditioning on
  item_id (as long-tail); a histories model, which samples whole users and cannot condition on an item,
  gets `neighbours` virtual neighbours of each user with a positive on a cold item.
`select` applies the same targeting to an already generated synthetic table (for the two user
strategies: the rows of users the training data lacks; for cold-items: a table whose users are all
virtual is a histories model's and is kept whole, otherwise the rows on cold items are kept).
`strategy_item_pool` gives the null controls the items a strategy centres its rows on (long-tail:
tail items; cold-items on a row model: cold items), so a control adds rows on the same targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from synthdata.errors import ConfigError
from synthdata.evaluate.items import cold_mask, head_mask
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


def item_positive_counts(train: pd.DataFrame, schema: Schema) -> pd.Series:
    """Positives per item in train, in order of first appearance; items without positives count 0."""
    items = train[schema.item_col]
    return items[positive_rows(train, schema)].value_counts().reindex(pd.unique(items), fill_value=0)


def long_tail_items(train: pd.DataFrame, schema: Schema, head_share: float = 0.8) -> np.ndarray:
    """Items outside the smallest most-popular set holding `head_share` of training positives (most
    popular first; the head is items.head_mask, the definition the item segments use)."""
    counts = item_positive_counts(train, schema)
    c = counts.to_numpy()
    order = np.lexsort((np.arange(len(c)), -c))
    tail = ~head_mask(c, head_share)
    return counts.index[order[tail[order]]].to_numpy()


def cold_items(train: pd.DataFrame, schema: Schema, threshold: int) -> np.ndarray:
    """Items with 1 … `threshold` training positives (≥ 1: a synthesizer can only condition on, and a
    histories model only find neighbours through, items it has seen liked)."""
    counts = item_positive_counts(train, schema)
    return counts.index[cold_mask(counts.to_numpy(), threshold, min_count=1)].to_numpy()


def cold_item_users(train: pd.DataFrame, schema: Schema, threshold: int) -> np.ndarray:
    """Users with a training positive on a cold item (whom cold-items asks a histories model to imitate)."""
    pos = train[positive_rows(train, schema)]
    touched = pos[schema.item_col].isin(cold_items(train, schema, threshold)).to_numpy()
    return pd.unique(pos[schema.user_col].to_numpy()[touched])


def strategy_item_pool(
    strategy: str,
    train: pd.DataFrame,
    schema: Schema,
    *,
    cold_item_threshold: int = 5,
    long_tail_share: float = 0.8,
    synthetic: pd.DataFrame | None = None,
) -> np.ndarray | None:
    """The items a strategy's rows are centred on, for the null controls (controls.control_rows `pool`).

    long-tail: the tail items; cold-items on a row model: the cold items. None where the strategy has
    no item target — including cold-items on a histories model (`synthetic`'s users all virtual): its
    neighbours' rows range over the whole catalogue, so the null must too."""
    if strategy == "long-tail":
        return long_tail_items(train, schema, long_tail_share)
    if strategy == "cold-items" and not _all_virtual(synthetic, train, schema):
        return cold_items(train, schema, cold_item_threshold)
    return None


def _all_virtual(synthetic: pd.DataFrame | None, train: pd.DataFrame, schema: Schema) -> bool:
    """True when every synthetic row belongs to a user absent from train (a histories model's output)."""
    if synthetic is None or not len(synthetic):
        return False
    return not synthetic[schema.user_col].isin(pd.unique(train[schema.user_col])).any()


def is_histories(synth: object) -> bool:
    """A histories-family model: has `sample_users` and is not a row Synthesizer (whose sample_users
    refuses). Duck-typed stand-ins without a `family` count by their `sample_users` alone."""
    if not hasattr(synth, "sample_users"):
        return False
    family = getattr(synth, "family", None)
    return family is None or getattr(family, "name", None) == "histories"


def select(
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    schema: Schema,
    strategy: str,
    cold_threshold: int = 10,
    long_tail_share: float = 0.8,
    cold_item_threshold: int = 5,
) -> pd.DataFrame:
    """Keep the synthetic rows the strategy targets (all rows for 'unconditional'; cold-items: all rows
    of a table of virtual users, else the rows on cold items)."""
    if strategy == "unconditional":
        return synthetic
    if strategy == "cold-users":
        keep = synthetic[schema.user_col].isin(cold_users(train, schema, cold_threshold))
    elif strategy == "long-tail":
        keep = synthetic[schema.item_col].isin(long_tail_items(train, schema, long_tail_share))
    elif strategy in ("virtual-users", "cold-neighbours"):
        keep = ~synthetic[schema.user_col].isin(pd.unique(train[schema.user_col]))
    elif strategy == "cold-items":
        if _all_virtual(synthetic, train, schema):  # a histories model's neighbours of cold-item users
            return synthetic
        keep = synthetic[schema.item_col].isin(cold_items(train, schema, cold_item_threshold))
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
    cold_item_threshold: int = 5,
) -> pd.DataFrame:
    """Ask a fitted synthesizer for augmentation rows.

    unconditional: `n_rows` rows (default len(train)); cold-users / long-tail: `budget` rows per
    targeted user / item, each row conditioned exactly on its id; virtual-users: `n_users` virtual
    users (default: as many as the real users); cold-neighbours: `neighbours` per cold user;
    cold-items: `budget` rows per cold item (row models) or `neighbours` virtual neighbours of each user
    with a positive on a cold item (histories models, see `is_histories`).
    """
    if strategy == "unconditional":
        return synth.sample(int(n_rows if n_rows is not None else len(train)), seed=seed)
    if strategy in ("virtual-users", "cold-neighbours"):
        return _user_strategy(synth, train, schema, strategy, n_users, neighbours, cold_threshold, seed)
    if strategy == "cold-items" and is_histories(synth):
        like = cold_item_users(train, schema, cold_item_threshold)
        if len(like) == 0:
            return train.iloc[:0].copy()
        return synth.sample_users(like=list(like), per_user=neighbours, seed=seed)  # type: ignore[attr-defined]
    if strategy == "cold-users":
        col, targets = schema.user_col, cold_users(train, schema, cold_threshold)
    elif strategy == "long-tail":
        col, targets = schema.item_col, long_tail_items(train, schema, long_tail_share)
    elif strategy == "cold-items":
        col, targets = schema.item_col, cold_items(train, schema, cold_item_threshold)
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
    if not is_histories(synth):
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
