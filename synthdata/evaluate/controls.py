"""Negative controls: null generators that add the same number of rows as the synthesizer but carry no
personal signal. A gain that a control also achieves is a gain from *more rows of that shape*, not
from what the synthesizer learnt, so the verdict requires the augmented model to beat every control.

- popularity: each synthetic row keeps its user; its item is drawn from training item popularity;
- uniform:    item drawn uniformly from the training catalogue;
- shuffled:   the synthetic rows' items permuted across rows (both marginals kept, user–item link broken).

`pool` (optional): the items the augmentation strategy centres its rows on (augment.strategy_item_pool:
tail items for long-tail, cold items for cold-items). A null for a targeted strategy must add rows on
the same targets, so popularity and uniform then draw from the pool only (popularity ∝ training
positives within it, ∝ training rows where it has none); shuffled keeps the synthetic items, already
on the targets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.evaluate.recommend import positive_rows
from synthdata.schema import Schema

CONTROLS: tuple[str, ...] = ("popularity", "uniform", "shuffled")


def control_rows(
    name: str,
    synthetic: pd.DataFrame,
    train: pd.DataFrame,
    schema: Schema,
    rng: np.random.Generator,
    pool: np.ndarray | None = None,
) -> pd.DataFrame:
    """A copy of `synthetic` whose item column comes from null generator `name` (see module doc);
    with `pool`, popularity and uniform draw only the pool's training items."""
    out = synthetic.copy()
    col = schema.item_col
    n = len(out)
    if n == 0:
        return out
    catalogue = pd.unique(train[col])
    if pool is not None:
        catalogue = catalogue[pd.Index(catalogue).isin(pd.Index(np.asarray(pool)))]
        if len(catalogue) == 0:
            raise ValueError("control pool holds no training item")
    if name == "popularity":
        rows = train[col].to_numpy()
        in_pool = np.ones(len(rows), dtype=bool) if pool is None else train[col].isin(catalogue).to_numpy()
        pos = positive_rows(train, schema) & in_pool
        draws = rows[pos] if pos.any() else rows[in_pool]
        items = draws[rng.integers(0, len(draws), size=n)]  # one draw per row ∝ positive count
    elif name == "uniform":
        items = catalogue[rng.integers(0, len(catalogue), size=n)]
    elif name == "shuffled":
        items = out[col].to_numpy()[rng.permutation(n)]
    else:
        raise ValueError(f"unknown control {name!r}; known: {', '.join(CONTROLS)}")
    out[col] = pd.Series(items, index=out.index).astype(train[col].dtype, copy=False)
    return out


def control_rngs(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per control, spawned from the evaluation seed (one seed policy)."""
    children = np.random.SeedSequence(seed).spawn(len(CONTROLS))
    return {name: np.random.default_rng(s) for name, s in zip(CONTROLS, children, strict=True)}
