"""Generators with known answers, for calibrating the verdict (tests and the utility study ONLY; never
used by the product).

- planted: adds a share of the held-out TEST positives as "synthetic" rows — a generator that knows the
  future. Its true effect on the test metrics is a gain, so a calibrated verdict must say `helps`.
- null generators (popularity / uniform / shuffled): resampled training rows whose items come from the
  same null processes as the negative controls. They carry no personal signal, so `helps` must be rare
  (≤ 5% of seeds: the false-positive rate of the verdict).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.evaluate.controls import CONTROLS, control_rows
from synthdata.evaluate.recommend import positive_rows
from synthdata.schema import Schema

NULLS = CONTROLS


def planted(test: pd.DataFrame, schema: Schema, share: float, seed: int) -> pd.DataFrame:
    """`share` of the test positives, unchanged: the rows a perfect generator would invent."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 101]))
    pos = test.loc[positive_rows(test, schema)]
    keep = rng.random(len(pos)) < share
    return pos.loc[keep].reset_index(drop=True)


def null_rows(name: str, train: pd.DataFrame, schema: Schema, n: int, seed: int) -> pd.DataFrame:
    """`n` training rows resampled, items replaced by null process `name` (see module doc)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 202, CONTROLS.index(name)]))
    base = train.iloc[rng.integers(0, len(train), n)].reset_index(drop=True)
    return control_rows(name, base, train, schema, rng)


def tables(
    kind: str, train: pd.DataFrame, test: pd.DataFrame, schema: Schema, cfg, share: float = 0.5, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(synthetic, val_synthetic) for `evaluate`, as generators fitted on train / the inner split give.

    kind: "planted" or a null name. The validation counterpart is built the same way on (inner, val),
    so tuning sees what a synthesizer fitted on the inner split would add, exactly as for real generators.
    """
    from synthdata.evaluate.api import validation_split

    inner, val = validation_split(train, schema, cfg)
    if kind == "planted":
        return planted(test, schema, share, seed), planted(val, schema, share, seed + 1)
    n = max(1, round(share * len(train)))
    return null_rows(kind, train, schema, n, seed), null_rows(
        kind, inner, schema, round(share * len(inner)), seed + 1
    )
