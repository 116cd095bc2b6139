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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.evaluate.rowcode import RowEncoder, compared_columns
from synthdata.schema import Schema


def _knn_distances(ref, query, k: int) -> np.ndarray:
    """Distances to the k nearest rows of `ref` (n_query × k, ascending)."""
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k, ref.shape[0]))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(ref)
    return nn.kneighbors(query, return_distance=True)[0]


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(roc_auc_score(labels, scores))


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
    """privacy.mia_auc_dcr, privacy.mia_auc_density_ratio and privacy.mia_auc (their max)."""
    cols = [c for c in compared_columns(schema, train, holdout, synthetic) if not is_datetime(train[c])]
    nan = {"mia_auc": float("nan"), "mia_auc_dcr": float("nan"), "mia_auc_density_ratio": float("nan")}
    if len(holdout) < 4 or len(synthetic) == 0 or len(train) == 0 or not cols:
        return nan
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    perm = rng.permutation(len(holdout))
    half = len(holdout) // 2
    n = min(max_rows, len(holdout) - half, len(train))
    reference = holdout.iloc[perm[:half][: max(max_rows, n)]]
    non_members = holdout.iloc[perm[half : half + n]]
    members = train.iloc[rng.choice(len(train), size=n, replace=False)]
    # the attacker uses the whole synthetic table (capped for time): a subsample would hide copies
    syn = synthetic.iloc[
        rng.choice(len(synthetic), size=min(len(synthetic), max_synthetic_rows), replace=False)
    ]
    enc = RowEncoder(pd.concat([train.iloc[:20_000], reference]), cols, schema)
    q = enc.transform(pd.concat([members, non_members]))
    labels = np.r_[np.ones(n), np.zeros(n)]
    s, r = enc.transform(syn), enc.transform(reference)
    d_syn = _knn_distances(s, q, k)  # one search: the closest record and the k-th for the density
    d_syn1 = d_syn[:, 0]
    eps = 1e-9
    log_ratio = np.log(_knn_distances(r, q, k)[:, -1] + eps) - np.log(d_syn[:, -1] + eps)
    out = {"mia_auc_dcr": _auc(labels, -d_syn1), "mia_auc_density_ratio": _auc(labels, log_ratio)}
    out["mia_auc"] = (
        float(np.nanmax(list(out.values()))) if any(np.isfinite(list(out.values()))) else float("nan")
    )
    out["mia_rows_per_class"] = int(n)
    return out
