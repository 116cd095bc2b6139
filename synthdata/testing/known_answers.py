"""Generators with known answers, for calibrating the verdict (tests and the utility study only; the
product never imports synthdata.testing).

- planted: adds a share of the held-out TEST positives as "synthetic" rows — a generator that knows the
  future. Its true effect on the test metrics is a gain, so a calibrated verdict must say `helps`.
- null generators (popularity / uniform / shuffled): resampled training rows whose items come from the
  same null processes as the negative controls. They carry no personal signal, so `helps` must be rare
  (≤ 5% of seeds: the false-positive rate of the verdict).

Each is shaped like a strategy's rows (`tables(..., strategy)` via cfg.strategy):
- unconditional: rows of real users (`share` × training rows);
- virtual-users: every real user's positive history under a new (virtual) id, items nulled;
- cold-neighbours: `cfg.neighbours` virtual copies of each cold user's positives, items nulled;
- cold-items: 20 rows per cold item (random real users), the items then nulled within the cold pool.
The planted generator is shaped the same way (test positives, relabelled to virtual users / restricted
to cold users' or cold items' pairs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.evaluate.augment import cold_items, cold_users
from synthdata.evaluate.controls import CONTROLS, control_rows
from synthdata.evaluate.recommend import positive_rows
from synthdata.schema import Schema

NULLS = CONTROLS
# The calibration's evaluation settings (benchmarks/utility_study.py and the tests that replay its
# runs): one recommender configuration and a short α grid, so ≥ 160 evaluations fit in minutes.
CALIBRATION_GRID: dict[str, Any] = dict(
    factors_grid=[32],
    regularization_grid=[1.0],
    alpha_grid=[0.0, 0.1, 1.0],
    iterations=10,
    n_bootstrap=400,
    n_permutations=1000,
)


def planted(test: pd.DataFrame, schema: Schema, share: float, seed: int) -> pd.DataFrame:
    """`share` of the test positives, unchanged: the rows a perfect generator would invent."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 101]))
    pos = test.loc[positive_rows(test, schema)]
    keep = rng.random(len(pos)) < share
    return pos.loc[keep].reset_index(drop=True)


def null_rows(
    name: str,
    train: pd.DataFrame,
    schema: Schema,
    n: int,
    seed: int,
    base: pd.DataFrame | None = None,
    pool=None,
) -> pd.DataFrame:
    """`n` training rows resampled (or the rows of `base`), items replaced by null process `name`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 202, CONTROLS.index(name)]))
    if base is None:
        base = train.iloc[rng.integers(0, len(train), n)].reset_index(drop=True)
    return control_rows(name, base, train, schema, rng, pool=pool)


def virtual(df: pd.DataFrame, train: pd.DataFrame, schema: Schema, copies: int = 1) -> pd.DataFrame:
    """`copies` relabelled copies of `df`, user ids past every training id (virtual users)."""
    col = schema.user_col
    offset = 10 ** len(str(int(train[col].max())))  # integer ids in the study's data sets
    parts = [df.assign(**{col: df[col].to_numpy() + offset * (c + 1)}) for c in range(copies)]
    return pd.concat(parts, ignore_index=True)


def _positives(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    return df.loc[positive_rows(df, schema)].reset_index(drop=True)


def _shaped(kind: str, rows_from: pd.DataFrame, train: pd.DataFrame, schema: Schema, cfg, share, seed):
    """One table of `kind` shaped like cfg.strategy's rows, for a generator fitted on `train`."""
    strategy, rng = cfg.strategy, np.random.default_rng(np.random.SeedSequence([seed, 303]))
    if strategy == "unconditional":
        if kind == "planted":
            return planted(rows_from, schema, share, seed)
        return null_rows(kind, train, schema, max(1, round(share * len(train))), seed)
    if strategy in ("virtual-users", "cold-neighbours"):
        cold = cold_users(train, schema, cfg.cold_threshold) if strategy == "cold-neighbours" else None
        copies = cfg.neighbours if cold is not None else 1
        src = planted(rows_from, schema, share, seed) if kind == "planted" else _positives(train, schema)
        if cold is not None:
            src = src[src[schema.user_col].isin(cold)]
        base = virtual(src, train, schema, copies)
        return base if kind == "planted" else null_rows(kind, train, schema, 0, seed, base=base)
    if strategy == "cold-items":
        pool = cold_items(train, schema, cfg.cold_item_threshold)
        if kind == "planted":
            rows = planted(rows_from, schema, share, seed)
            return rows[rows[schema.item_col].isin(pool)].reset_index(drop=True)
        base = train.iloc[rng.integers(0, len(train), 20 * len(pool))].reset_index(drop=True)
        base[schema.item_col] = np.repeat(pool, 20).astype(train[schema.item_col].dtype)
        return null_rows(kind, train, schema, 0, seed, base=base, pool=pool)
    raise ValueError(f"no known-answer shape for strategy {strategy!r}")


def tables(
    kind: str, train: pd.DataFrame, test: pd.DataFrame, schema: Schema, cfg, share: float = 0.5, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(synthetic, val_synthetic) for `evaluate`, as generators fitted on train / the inner split give.

    kind: "planted" or a null name. The validation counterpart is built the same way on (inner, val),
    so tuning sees what a synthesizer fitted on the inner split would add, exactly as for real generators.
    """
    from synthdata.evaluate.api import validation_split

    inner, val = validation_split(train, schema, cfg)
    return _shaped(kind, test, train, schema, cfg, share, seed), _shaped(
        kind, val, inner, schema, cfg, share, seed + 1
    )
