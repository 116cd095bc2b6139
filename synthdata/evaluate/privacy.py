"""Does the synthetic table leak training rows?

- exact-copy rate: share of synthetic rows identical to some training row on every shared column
  (with the chance baseline: the same rate against holdout rows the synthesizer never saw);
- distance to closest record (DCR): rows are encoded (numeric min-max scaled on train, categories and
  ids one-hot scaled so one mismatch costs distance 1) and each synthetic row's nearest training row
  is found with sklearn NearestNeighbors. A memorising generator puts synthetic rows closer to train
  than genuinely new real rows are: `dcr_below_holdout_p5_share` (≈ 0.05 when nothing is memorised) is
  the share of synthetic rows nearer to train than the closest 5% of holdout rows are;
  `dcr_closer_to_train_share` is the share of synthetic rows nearer to train than to the holdout, to be
  read against `dcr_closer_to_train_baseline`, the same share for unseen real holdout rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.evaluate.mia import mia
from synthdata.evaluate.rowcode import RowEncoder, compared_columns, knn_distances, normalised_row_hashes
from synthdata.schema import Schema


def exact_copy_rate(synthetic: pd.DataFrame, reference: pd.DataFrame, schema: Schema) -> float:
    """Share of synthetic rows equal to some reference row on all shared (non-ignored) columns."""
    return _copy_rates(synthetic, [reference], schema)[0]


def _copy_rates(synthetic: pd.DataFrame, references: list[pd.DataFrame], schema: Schema) -> list[float]:
    """`exact_copy_rate` against each reference, the synthetic rows hashed once (hash-table lookups:
    numpy's sort-based `isin` took 10 s per 4M × 8M rows)."""
    if len(synthetic) == 0:
        return [float("nan")] * len(references)
    cols = compared_columns(schema, synthetic, *references)
    rows = pd.Series(normalised_row_hashes(synthetic, cols, schema))
    return [float(rows.isin(normalised_row_hashes(r, cols, schema)).mean()) for r in references]


def dcr(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    max_rows: int = 2_000,
    max_ref_rows: int = 20_000,
    seed: int = 0,
) -> dict[str, float]:
    """Distance-to-closest-record figures against a holdout baseline (see module docstring).

    The holdout is split in two disjoint halves: `hold_ref` is the reference synthetic rows are also
    compared against, `hold_query` plays "new real rows" whose figures are the baselines. Each
    synthetic-row figure has a baseline computed the same way for `hold_query`, so reference sizes
    cancel out: a generator that does not memorise gets about the baseline, a copier far more.
    """
    rng = np.random.default_rng(seed)
    cols = compared_columns(schema, train, holdout, synthetic)
    if len(holdout) < 4 or len(synthetic) == 0 or len(train) == 0:
        return {"dcr_closer_to_train_share": float("nan")}
    perm = rng.permutation(len(holdout))
    half = len(holdout) // 2
    hold_ref = holdout.iloc[perm[: min(half, max_ref_rows)]]
    hold_query = holdout.iloc[perm[half : half + min(max_rows, len(holdout) - half)]]
    train_ref = train.iloc[np.sort(rng.choice(len(train), size=min(len(train), max_ref_rows), replace=False))]
    syn = synthetic.iloc[rng.choice(len(synthetic), size=min(max_rows, len(synthetic)), replace=False)]
    enc = RowEncoder(train_ref, cols, schema)
    t, h, s, q = (enc.transform(x) for x in (train_ref, hold_ref, syn, hold_query))
    d_syn_train, d_syn_hold = (knn_distances(r, s, 1)[:, 0] for r in (t, h))
    d_q_train, d_q_hold = (knn_distances(r, q, 1)[:, 0] for r in (t, h))
    p5 = float(np.quantile(d_q_train, 0.05))

    def closer(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(a < b) + 0.5 * np.mean(a == b))

    return {
        "dcr_synthetic_median": float(np.median(d_syn_train)),
        "dcr_holdout_median": float(np.median(d_q_train)),
        "dcr_synthetic_p5": float(np.quantile(d_syn_train, 0.05)),
        "dcr_holdout_p5": p5,
        "dcr_below_holdout_p5_share": float(np.mean(d_syn_train < p5)),
        "dcr_closer_to_train_share": closer(d_syn_train, d_syn_hold),
        "dcr_closer_to_train_baseline": closer(d_q_train, d_q_hold),
        "dcr_train_reference_rows": int(t.shape[0]),
        "dcr_holdout_reference_rows": int(h.shape[0]),
        "dcr_synthetic_rows": int(s.shape[0]),
    }


def privacy_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    max_rows: int = 2_000,
    mia_rows: int = 2_000,
    seed: int = 0,
) -> dict[str, float]:
    """All privacy figures for metrics.json (`privacy.*`), membership inference included (mia.py)."""

    copies, copies_holdout = _copy_rates(synthetic, [train, holdout], schema)
    out: dict[str, float] = {"exact_copy_rate": copies, "exact_copy_rate_holdout": copies_holdout}
    out.update(dcr(train, holdout, synthetic, schema, max_rows=max_rows, seed=seed))
    out.update(mia(train, holdout, synthetic, schema, max_rows=mia_rows, seed=seed))
    return out
