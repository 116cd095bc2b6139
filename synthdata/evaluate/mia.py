"""Membership inference: can someone holding the synthetic table tell which real rows trained the
synthesizer?

Threat model: the attacker has the synthetic table and a pool of real rows from the same population
that were NOT in training (the reference set; here half of the holdout). Given a candidate real row they
output a score for "was in the synthesizer's training data". We score training rows (members) and other
holdout rows (non-members, disjoint from the reference) and report the ROC AUC: 0.5 = the synthetic
table reveals nothing about membership, 1.0 = membership is certain.

- DCR attack: score = −(distance to the closest synthetic record); a memorising generator puts members
  closer to synthetic rows than non-members.
- Density-ratio attack (the DOMIAS idea): score = p_synthetic(x) / p_reference(x), with k-nearest-
  neighbour density estimates in the encoded row space (log ratio = d · (log r_k,ref − log r_k,syn) +
  const; the constant and d do not change a ranking). It flags rows where the generator is denser than
  the population, i.e. where it over-fits.

Date/time columns are left out: with a temporal split, time alone separates train from holdout rows
(a distribution shift, not a leak), which would make every generator look leaky.

Shift in the other columns still lifts the AUC above 0.5 for any generator of training-period data (a
temporal holdout holds later, often newer items). So the same attacks also run against a **null
table**: training rows other than the attacked members, as many as the synthetic rows used — a
generator that reproduces the training distribution exactly but never saw the members.
`mia_auc_null` is its AUC and `mia_auc_excess` = mia_auc − mia_auc_null is what the generator's
memory of its members adds (about 0: nothing beyond the shift; the privacy gate reads this).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.evaluate.rowcode import RowEncoder, compared_columns, knn_distances
from synthdata.schema import Schema


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


def _attacks(syn: np.ndarray, ref: np.ndarray, q: np.ndarray, labels: np.ndarray, k: int) -> dict[str, float]:
    """AUC of the DCR and density-ratio attacks on queries `q` (members first), given a table `syn`."""
    d_syn = knn_distances(syn, q, k)  # one search: the closest record and the k-th for the density
    eps = 1e-9
    log_ratio = np.log(knn_distances(ref, q, k)[:, -1] + eps) - np.log(d_syn[:, -1] + eps)
    out = {"dcr": _auc(labels, -d_syn[:, 0]), "density_ratio": _auc(labels, log_ratio)}
    vals = list(out.values())
    out["best"] = float(np.nanmax(vals)) if any(np.isfinite(vals)) else float("nan")
    return out


def mia(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    max_rows: int = 2_000,
    k: int = 5,
    seed: int = 0,
    max_synthetic_rows: int = 20_000,
) -> dict[str, float]:
    """privacy.mia_auc_dcr, privacy.mia_auc_density_ratio, privacy.mia_auc (their max), and the same
    attack against the null table: privacy.mia_auc_null, privacy.mia_auc_excess (module doc)."""
    cols = [c for c in compared_columns(schema, train, holdout, synthetic) if not is_datetime(train[c])]
    nan = {k_: float("nan") for k_ in ("mia_auc", "mia_auc_dcr", "mia_auc_density_ratio")}
    nan |= {"mia_auc_null": float("nan"), "mia_auc_excess": float("nan")}
    if len(holdout) < 4 or len(synthetic) == 0 or len(train) < 2 or not cols:
        return nan
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    perm = rng.permutation(len(holdout))
    half = len(holdout) // 2
    n = min(max_rows, len(holdout) - half, len(train) // 2)
    reference = holdout.iloc[perm[:half][: max(max_rows, n)]]
    non_members = holdout.iloc[perm[half : half + n]]
    train_perm = rng.permutation(len(train))
    members = train.iloc[train_perm[:n]]
    # the attacker uses the whole synthetic table (capped for time): a subsample would hide copies
    n_syn = min(len(synthetic), max_synthetic_rows)
    syn = synthetic.iloc[rng.choice(len(synthetic), size=n_syn, replace=False)]
    # the null: training rows other than the attacked members, as many as the synthetic rows used — a
    # generator that reproduces the training distribution exactly without having seen the members
    null = train.iloc[train_perm[n:][:n_syn]]
    enc = RowEncoder(pd.concat([train.iloc[:20_000], reference]), cols, schema)
    q = enc.transform(pd.concat([members, non_members]))
    labels = np.r_[np.ones(n), np.zeros(n)]
    ref = enc.transform(reference)
    got, base = (
        _attacks(enc.transform(syn), ref, q, labels, k),
        _attacks(enc.transform(null), ref, q, labels, k),
    )
    return {
        "mia_auc_dcr": got["dcr"],
        "mia_auc_density_ratio": got["density_ratio"],
        "mia_auc": got["best"],
        "mia_auc_null": base["best"],
        "mia_auc_excess": got["best"] - base["best"],
        "mia_rows_per_class": int(n),
    }
