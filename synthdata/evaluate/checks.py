"""What a sceptic checks before believing any metric: is the test split held out, and did the
synthetic data see it?

* Shared (user, item) pairs between train and test: with one row per pair (MovieLens, ingested event
  logs, which aggregate per pair) a proper split shares none; raw logs with repeat interactions can
  share some legitimately. Past `max_shared_pairs` of the test pairs it is an input error naming the
  count (`--test train.parquet` used to score 0.0000 everywhere and say nothing).
* Test users and items absent from train: counted; collaborative filtering cannot score them.
* Leakage from synthetic data: the share of the synthetic table's new positive pairs (not already in
  train) that are test pairs, against the share the negative controls hit by chance. A generator
  fitted on train + test hits test pairs far more often; the result carries a warning shown next to
  the verdict, whatever the verdict is. Virtual users (ids absent from train) cannot hit a real test
  pair, so only rows with real user ids are counted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.evaluate.controls import CONTROLS, control_rngs, control_rows
from synthdata.evaluate.recommend import positive_rows
from synthdata.log import get_logger, kv
from synthdata.schema import Schema

log = get_logger("evaluate.checks")
LEAK_RATIO = 3.0  # synthetic test-pair share ≥ this × the best control's …
LEAK_MIN_SHARE = 0.01  # … and at least 1% of its new pairs


def _pairs(df: pd.DataFrame, schema: Schema) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([df[schema.user_col].to_numpy(), df[schema.item_col].to_numpy()])


def split_checks(
    train: pd.DataFrame, test: pd.DataFrame, schema: Schema, max_shared: float
) -> dict[str, Any]:
    """Counts for `data.*`; an InputError when test is not held out from train."""
    test_pairs = _pairs(test, schema).unique()
    shared = int(test_pairs.isin(_pairs(train, schema)).sum())
    share = shared / max(1, len(test_pairs))
    if share > max_shared:
        raise InputError(
            f"{shared:,} of {len(test_pairs):,} test (user, item) pairs ({share:.0%}) are also in the "
            f"training table: the test split is not held out (same file twice, or a split that leaks); "
            f"evaluate.max_shared_pairs is {max_shared:.0%}",
            path="test",
        )
    users = pd.unique(test[schema.user_col])
    items = pd.unique(test[schema.item_col])
    return {
        "test_pairs_shared_with_train": shared,
        "test_pairs_shared_share": round(share, 6),
        "test_users_not_in_train": int((~pd.Index(users).isin(train[schema.user_col])).sum()),
        "test_items_not_in_train": int((~pd.Index(items).isin(train[schema.item_col])).sum()),
    }


def _test_hit_share(
    rows: pd.DataFrame, train_pairs: pd.MultiIndex, test_pairs: pd.MultiIndex, schema
) -> float:
    new = _pairs(rows.loc[positive_rows(rows, schema)], schema).unique()
    new = new[~new.isin(train_pairs)]
    return float(new.isin(test_pairs).mean()) if len(new) else 0.0


def leakage_report(
    synthetic: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, schema: Schema, seed: int
) -> dict[str, Any]:
    """Share of new synthetic positive pairs that are test pairs, vs each control's (module doc)."""
    real = synthetic.loc[synthetic[schema.user_col].isin(pd.unique(train[schema.user_col])).to_numpy()]
    train_pairs = _pairs(train, schema)
    test_pairs = _pairs(test.loc[positive_rows(test, schema)], schema)
    out: dict[str, Any] = {"rows_with_real_users": len(real)}
    if not len(real):
        return out | {"warning": False, "note": "virtual users only: no real test pair can be hit"}
    share = _test_hit_share(real, train_pairs, test_pairs, schema)
    rngs = control_rngs(seed + 97)
    controls = {
        c: _test_hit_share(control_rows(c, real, train, schema, rngs[c]), train_pairs, test_pairs, schema)
        for c in CONTROLS
    }
    chance = max(controls.values())
    warn = share >= LEAK_MIN_SHARE and share >= LEAK_RATIO * chance
    out |= {
        "synthetic_test_pair_share": share,
        "control_test_pair_share": controls,
        "ratio_to_best_control": share / chance if chance > 0 else (np.inf if share > 0 else 1.0),
        "warning": bool(warn),
    }
    if warn:
        out["note"] = (
            f"LEAK? {share:.1%} of the synthetic table's new positive pairs are test pairs, "
            f"{out['ratio_to_best_control']:.1f}× what a null generator hits ({chance:.1%}): was the "
            "generator fitted on data that includes the test split?"
        )
        log.warning(kv(stage="leakage", **{k: v for k, v in out.items() if k != "control_test_pair_share"}))
    return out
