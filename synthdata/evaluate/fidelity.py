"""How faithful the synthetic table is: column shapes, column-pair trends, detectability, and the
recommender-specific shape of the data (popularity and activity distributions, novel pairs).

Column metrics follow the sdmetrics definitions (cross-checked against sdmetrics in the tests) but are
computed here on integer codes with numpy so a whole table takes well under a second:
- KSComplement = 1 − Kolmogorov–Smirnov D (numeric and datetime columns, NaNs dropped);
- TVComplement = 1 − ½·Σ|f_real − f_synth| over categories (categorical, bool, low-cardinality text);
- CorrelationSimilarity = 1 − |ρ_real − ρ_synth| / 2 (Pearson, numeric pairs);
- ContingencySimilarity = 1 − ½·Σ|p_real(a,b) − p_synth(a,b)| (other pairs; numeric columns cut into
  10 bins on the real data's range, as sdmetrics' quality report does).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from synthdata.schema import DType, Role, Schema
from synthdata.shapes import joint_codes as _joint_codes
from synthdata.shapes import ks_complement, tv_complement
from synthdata.shapes import numeric_values as _numeric

_MAX_TEXT_CATEGORIES = 50  # text columns with more distinct values are identifiers, not categories


def split_columns(schema: Schema, real: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric columns, categorical columns) that both tables have; ids, ignored and free-text excluded."""
    numeric, categorical = [], []
    for c in schema.columns:
        if (
            c.role in (Role.USER_ID, Role.ITEM_ID, Role.IGNORE)
            or c.name not in real
            or c.name not in synthetic
        ):
            continue
        if c.dtype in (DType.INT, DType.FLOAT, DType.DATETIME):
            numeric.append(c.name)
        elif c.dtype in (DType.CATEGORY, DType.BOOL) or real[c.name].nunique() <= _MAX_TEXT_CATEGORIES:
            categorical.append(c.name)
    return numeric, categorical


# --- single columns: synthdata.shapes (shared with training's model selection) --------------------


# --- column pairs ---------------------------------------------------------------------------------
def correlation_similarity(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Pearson-based similarity for two numeric columns (NaN when a column is constant)."""
    a, b = real.columns[:2]

    def corr(df: pd.DataFrame) -> float:
        x, y = _numeric(df[a]), _numeric(df[b])
        ok = ~(np.isnan(x) | np.isnan(y))
        x, y = x[ok], y[ok]
        if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
            return float("nan")
        return float(np.corrcoef(x, y)[0, 1])

    cr, cs = corr(real), corr(synthetic)
    if np.isnan(cr) or np.isnan(cs):
        return float("nan")
    return float(1.0 - abs(cr - cs) / 2.0)


def _binned(real: pd.Series, synthetic: pd.Series, bins: int) -> tuple[pd.Series, pd.Series]:
    r, s = _numeric(real), _numeric(synthetic)
    edges = np.histogram_bin_edges(r[~np.isnan(r)], bins=bins)
    edges[0], edges[-1] = -np.inf, np.inf
    return pd.Series(np.digitize(r, edges)), pd.Series(np.digitize(s, edges))


def contingency_similarity(
    real: pd.DataFrame, synthetic: pd.DataFrame, continuous: list[str] | None = None, bins: int = 10
) -> float:
    a, b = real.columns[:2]
    cols = []
    for c in (a, b):
        if continuous and c in continuous:
            cols.append(_binned(real[c], synthetic[c], bins))
        else:
            cols.append((real[c].reset_index(drop=True), synthetic[c].reset_index(drop=True)))
    ra, sa, na = _joint_codes(*cols[0], dropna=False)
    rb, sb, nb = _joint_codes(*cols[1], dropna=False)
    pr = np.bincount(ra * nb + rb, minlength=na * nb) / len(ra)
    ps = np.bincount(sa * nb + sb, minlength=na * nb) / len(sa)
    return float(1.0 - 0.5 * np.abs(pr - ps).sum())


# --- whole tables ---------------------------------------------------------------------------------
def _subsample(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return df if len(df) <= n else df.sample(n=n, random_state=seed)


def column_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema, max_rows: int = 20_000, seed: int = 0
) -> dict:
    """Per-column shape scores, per-pair trend scores and their means (the sdmetrics quality-report view)."""
    numeric, categorical = split_columns(schema, real, synthetic)
    r, s = _subsample(real, max_rows, seed), _subsample(synthetic, max_rows, seed + 1)
    shapes: dict[str, dict] = {}
    for c in numeric:
        shapes[c] = {"metric": "KSComplement", "score": ks_complement(r[c], s[c])}
    for c in categorical:
        shapes[c] = {"metric": "TVComplement", "score": tv_complement(r[c], s[c])}
    pairs: dict[str, dict] = {}
    for a, b in itertools.combinations(numeric + categorical, 2):
        if a in numeric and b in numeric:
            score, metric = correlation_similarity(r[[a, b]], s[[a, b]]), "CorrelationSimilarity"
        else:
            score, metric = (
                contingency_similarity(r[[a, b]], s[[a, b]], continuous=numeric),
                "ContingencySimilarity",
            )
        pairs[f"{a}|{b}"] = {"metric": metric, "score": score}

    def mean(d: dict) -> float:
        v = [x["score"] for x in d.values() if not np.isnan(x["score"])]
        return float(np.mean(v)) if v else float("nan")

    return {
        "column_shapes": mean(shapes),
        "column_pair_trends": mean(pairs),
        "ks_complement": mean({k: v for k, v in shapes.items() if v["metric"] == "KSComplement"}),
        "tv_complement": mean({k: v for k, v in shapes.items() if v["metric"] == "TVComplement"}),
        "correlation_similarity": mean(
            {k: v for k, v in pairs.items() if v["metric"] == "CorrelationSimilarity"}
        ),
        "contingency_similarity": mean(
            {k: v for k, v in pairs.items() if v["metric"] == "ContingencySimilarity"}
        ),
        "columns": shapes,
        "pairs": pairs,
    }


def detection_auc(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    max_rows: int = 5_000,
    seed: int = 0,
    folds: int = 3,
) -> dict[str, float]:
    """Cross-validated ROC AUC of a gradient-boosting classifier telling real from synthetic rows.

    0.5 means indistinguishable. `detection_score` = 1 − (2·max(AUC, 0.5) − 1), as sdmetrics reports it.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    numeric, categorical = split_columns(schema, real, synthetic)
    n = min(len(real), len(synthetic), max_rows)
    if n < 2 * folds or not (numeric or categorical):
        return {"detection_auc": float("nan"), "detection_score": float("nan"), "rows_per_class": n}
    r, s = _subsample(real, n, seed), _subsample(synthetic, n, seed + 1)
    both = pd.concat([r, s], ignore_index=True)
    feats, is_cat = [], []
    for c in numeric:
        feats.append(_numeric(both[c]))
        is_cat.append(False)
    for c in categorical:
        codes, uniques = pd.factorize(both[c].astype(object))
        codes = np.where(codes < 0, len(uniques), codes).astype(np.float64)
        feats.append(codes)
        is_cat.append(len(uniques) < 250)
    x = np.column_stack(feats)
    y = np.r_[np.zeros(n), np.ones(n)]
    clf = HistGradientBoostingClassifier(
        max_iter=100, categorical_features=np.array(is_cat), random_state=seed
    )
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    # One OpenMP thread: on a shared small machine many threads spin and run several times slower.
    with threadpool_limits(1):
        auc = float(np.mean(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc")))
    return {"detection_auc": auc, "detection_score": 1.0 - (2.0 * max(auc, 0.5) - 1.0), "rows_per_class": n}


def _counts(real: pd.Series, synthetic: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Occurrences per entity, aligned over the union of both columns' entities."""
    rc, sc = real.value_counts(), synthetic.value_counts()
    idx = rc.index.union(sc.index)
    return rc.reindex(idx, fill_value=0).to_numpy(float), sc.reindex(idx, fill_value=0).to_numpy(float)


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of a popularity vector (0 = uniform, → 1 = all mass on one entity)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    if x.size == 0 or x.sum() == 0:
        return float("nan")
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def distribution_distances(real: pd.Series, synthetic: pd.Series) -> dict[str, float]:
    """Jensen–Shannon distance (base 2, in [0, 1]) between the entities' shares, and the Wasserstein
    distance between per-entity counts normalised to mean 1 (scale-free, so table sizes may differ)."""
    r, s = _counts(real, synthetic)
    if r.sum() == 0 or s.sum() == 0:
        return {
            "js": float("nan"),
            "wasserstein": float("nan"),
            "gini_real": gini(r),
            "gini_synthetic": gini(s),
        }
    return {
        "js": float(jensenshannon(r / r.sum(), s / s.sum(), base=2)),
        "wasserstein": float(wasserstein_distance(r / r.mean(), s / s.mean())),
        "gini_real": gini(r),
        "gini_synthetic": gini(s),
    }


def recsys_fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, schema: Schema) -> dict:
    """Popularity/activity distances and how many synthetic (user, item) pairs are new."""
    u, i = schema.user_col, schema.item_col
    real_pairs = pd.MultiIndex.from_frame(real[[u, i]]).unique()
    syn_pairs = pd.MultiIndex.from_frame(synthetic[[u, i]])
    novel_rows = ~syn_pairs.isin(real_pairs)
    distinct = syn_pairs.unique()
    return {
        "item_popularity": distribution_distances(real[i], synthetic[i]),
        "user_activity": distribution_distances(real[u], synthetic[u]),
        "novel_pair_share": float(novel_rows.mean()) if len(novel_rows) else float("nan"),
        "novel_distinct_pair_share": float((~distinct.isin(real_pairs)).mean())
        if len(distinct)
        else float("nan"),
        "item_coverage": float(pd.Index(real[i].unique()).isin(synthetic[i].unique()).mean()),
        "user_coverage": float(pd.Index(real[u].unique()).isin(synthetic[u].unique()).mean()),
    }


def fidelity_report(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    max_rows: int = 20_000,
    detection_rows: int = 5_000,
    seed: int = 0,
) -> dict:
    """All fidelity figures for metrics.json (`fidelity.*`)."""
    out = column_scores(real, synthetic, schema, max_rows=max_rows, seed=seed)
    out.update(detection_auc(real, synthetic, schema, max_rows=detection_rows, seed=seed))
    out["recsys"] = recsys_fidelity(real, synthetic, schema)
    return out
