"""Generators of the utility study (benchmarks/utility_study.py): every model the product has, and
CTGAN / TVAE as anchors, fitted under the same wall-clock budget and asked for each strategy's rows.

Families and what each strategy slot means for them (the product's own strategies, augment.py):

| slot          | gan, vae              | multvae, multdae                  | ctgan, tvae (anchors)    |
|---------------|-----------------------|-----------------------------------|--------------------------|
| unconditional | len(train) rows       | virtual-users (as many as real)   | len(train) rows          |
| cold-users    | 20 rows per cold user | cold-neighbours (5 per cold user) | their rows, cold users'  |
| cold-items    | 20 rows per cold item | neighbours of cold items' users   | their rows, cold items'  |

CTGAN and TVAE (ctgan 0.12.1) have no exact conditional sampling on ids, so their targeted rows are
selected from unconditional samples; they fit on a row subsample that one epoch gets through in the
budget.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from synthdata.evaluate.api import validation_split
from synthdata.evaluate.augment import generate as augment_rows
from synthdata.evaluate.augment import select
from synthdata.evaluate.config import EvalConfig
from synthdata.schema import Schema

FAMILY = {"gan": "rows", "vae": "rows", "multvae": "histories", "multdae": "histories"}
FAMILY |= {"ctgan": "anchor", "tvae": "anchor"}
SLOTS = {
    "unconditional": {"rows": "unconditional", "histories": "virtual-users", "anchor": "unconditional"},
    "cold-users": {"rows": "cold-users", "histories": "cold-neighbours", "anchor": "cold-users"},
    "cold-items": {"rows": "cold-items", "histories": "cold-items", "anchor": "cold-items"},
}


def strategy_for(slot: str, generator: str) -> str:
    """The product strategy a slot names for this generator's family (table above)."""
    return SLOTS[slot][FAMILY[generator]]


class TabularBaseline:
    """CTGAN / TVAE, fitted on a row subsample that one epoch gets through in the budget."""

    def __init__(self, kind: str, schema: Schema, budget_s: float) -> None:
        self.kind, self.schema, self.budget_s = kind, schema, budget_s
        self.model: Any = None
        self.columns: list[str] = []
        self.dtypes: dict[str, Any] = {}
        self.rows_used = 0

    def _new(self):
        from ctgan import CTGAN, TVAE

        return CTGAN(epochs=1, verbose=False, enable_gpu=False) if self.kind == "ctgan" else TVAE(epochs=1)

    def fit(self, df: pd.DataFrame) -> TabularBaseline:
        cols = [c.name for c in self.schema.columns if c.name in df.columns]
        data = df[cols].copy()
        data = data[[c for c in cols if not pd.api.types.is_datetime64_any_dtype(data[c])]]
        discrete = [c for c in data.columns if not pd.api.types.is_float_dtype(data[c])]
        discrete = [c for c in discrete if c not in ("age",) or data[c].nunique() < 100]
        self.columns, self.dtypes = list(data.columns), data.dtypes.to_dict()
        data = data.astype({c: str for c in discrete})
        # measured rate on a small probe, then one epoch over as many rows as the rest of the budget allows
        probe = data.sample(n=min(len(data), 2000), random_state=0)
        t0 = time.perf_counter()
        self._new().fit(probe, discrete)
        rate = len(probe) / max(1e-3, time.perf_counter() - t0)
        n = int(min(len(data), max(len(probe), rate * max(1.0, self.budget_s - (time.perf_counter() - t0)))))
        m = self._new()
        m.fit(data.sample(n=n, random_state=0), discrete)
        self.model, self.rows_used = m, n
        return self

    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None) -> pd.DataFrame:
        if conditions:
            raise NotImplementedError("ctgan/tvae: no exact conditional sampling on ids")
        import torch

        torch.manual_seed(0 if seed is None else seed)
        out = self.model.sample(n)
        for c, dt in self.dtypes.items():
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(dt) if dt.kind in "iuf" else out[c]
        return out


def fit_generator(name: str, train: pd.DataFrame, schema: Schema, budget_s: float, seed: int = 0):
    """Fitted under `budget_s` of wall clock; the histories family stops at its default 200 epochs
    (Liang et al.'s setting) when that comes first."""
    if FAMILY[name] == "anchor":
        return TabularBaseline(name, schema, budget_s).fit(train)
    from synthdata.model import Synthesizer

    epochs = None if FAMILY[name] == "histories" else 100_000  # rows: the budget decides
    syn = Synthesizer(
        schema, model=name, epochs=epochs, max_minutes=budget_s / 60, seed=seed, progress_bar=False
    )
    return syn.fit(train.reset_index(drop=True))


def _rows(gen, base: pd.DataFrame, schema: Schema, generator: str, strategy: str, cfg: EvalConfig, seed: int):
    where = {"cold_threshold": cfg.cold_threshold, "cold_item_threshold": cfg.cold_item_threshold}
    if FAMILY[generator] != "anchor":
        return augment_rows(gen, base, schema, strategy, neighbours=cfg.neighbours, seed=seed, **where)
    rows = gen.sample(len(base), seed=seed)  # anchors: unconditional rows, then the strategy's selection
    return select(
        rows, base, schema, strategy, cfg.cold_threshold, cfg.long_tail_share, cfg.cold_item_threshold
    )


def synthetic_tables(cell, train, schema, cfg: EvalConfig, budget_s: float, cache: dict, seed: int = 0):
    """(synthetic, val_synthetic, fit seconds): each generator fitted once per (data, regime, seed) on
    the training split and once on the inner training split (leak-free tuning)."""
    inner, _ = validation_split(train, schema, cfg)
    key = (cell.dataset, cell.regime, cell.generator, seed)
    t0 = time.perf_counter()
    if key not in cache:
        cache[key] = (
            fit_generator(cell.generator, train, schema, budget_s, seed),
            fit_generator(cell.generator, inner, schema, budget_s, seed),
            time.perf_counter() - t0,
        )
    full, inner_gen, fit_s = cache[key]
    synthetic = _rows(full, train, schema, cell.generator, cell.strategy, cfg, seed)
    val_synthetic = _rows(inner_gen, inner, schema, cell.generator, cell.strategy, cfg, seed)
    return synthetic, val_synthetic, fit_s
