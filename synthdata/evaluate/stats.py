"""Uncertainty over users: percentile bootstrap CIs and a paired test for augmented − real.

Users are the sampling unit (metrics are per-user averages), so both runs are resampled with the same
user indices: the paired difference cancels between-user variance, which is what makes a small gain
detectable at all. All resampling is vectorised in chunks and seeded.
"""

from __future__ import annotations

import numpy as np

_CHUNK_CELLS = 4_000_000  # bootstrap replicates × users per chunk: bounds memory at ~32 MB


def _boot_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_boot` resamples of the rows of `values` (1-D, or 2-D: columns resampled together)."""
    n = values.shape[0]
    per_chunk = max(1, _CHUNK_CELLS // max(n, 1))
    out = np.empty((n_boot, *values.shape[1:]))
    for start in range(0, n_boot, per_chunk):
        m = min(per_chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = values[idx].mean(axis=1)
    return out


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean with a percentile bootstrap CI: {"mean", "ci_low", "ci_high"} (NaNs when no users)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    means = _boot_means(v, n_boot, np.random.default_rng(seed))
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return {"mean": float(v.mean()), "ci_low": float(lo), "ci_high": float(hi)}


def bootstrap_f1_of_means(
    precision: np.ndarray, recall: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """2·P̄·R̄/(P̄+R̄) with a bootstrap CI, P and R resampled with the same users."""
    pr = np.column_stack([np.asarray(precision, np.float64), np.asarray(recall, np.float64)])
    if pr.shape[0] == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}

    def f1(p: np.ndarray, r: np.ndarray) -> np.ndarray:
        s = p + r
        return np.divide(2 * p * r, s, out=np.zeros_like(s), where=s > 0)

    boots = _boot_means(pr, n_boot, np.random.default_rng(seed))
    vals = f1(boots[:, 0], boots[:, 1])
    lo, hi = np.quantile(vals, [(1 - level) / 2, 1 - (1 - level) / 2])
    m = pr.mean(axis=0)
    return {"mean": float(f1(m[:1], m[1:])[0]), "ci_low": float(lo), "ci_high": float(hi)}


def sign_flip_p_value(diff: np.ndarray, n_perm: int = 2000, seed: int = 0) -> float:
    """Two-sided paired permutation (sign-flip) test of mean(diff) = 0.

    Under the null the two runs are exchangeable per user, so each user's difference is equally
    likely to carry either sign. p = (1 + #{|mean flipped| ≥ |mean observed|}) / (1 + n_perm).
    """
    d = np.asarray(diff, dtype=np.float64)
    n = d.size
    if n == 0:
        return float("nan")
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_CELLS // n)
    extreme = 0
    for start in range(0, n_perm, per_chunk):
        m = min(per_chunk, n_perm - start)
        signs = rng.integers(0, 2, size=(m, n), dtype=np.int8) * 2 - 1
        extreme += int(np.sum(np.abs(signs @ d) / n >= observed - 1e-12))
    return float((1 + extreme) / (1 + n_perm))


def paired_delta(
    real: np.ndarray, augmented: np.ndarray, n_boot: int = 1000, n_perm: int = 2000, seed: int = 0
) -> dict[str, float]:
    """augmented − real per user: mean, bootstrap CI and sign-flip p-value."""
    a = np.asarray(real, dtype=np.float64)
    b = np.asarray(augmented, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("paired arrays must have the same users in the same order")
    d = b - a
    out = bootstrap_ci(d, n_boot=n_boot, seed=seed)
    out["p_value"] = sign_flip_p_value(d, n_perm=n_perm, seed=seed + 1)
    return out


def ratio_ci(
    num: np.ndarray, den: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """mean(num) / mean(den) with a paired percentile bootstrap CI (same users resampled in both)."""
    pair = np.column_stack([np.asarray(num, np.float64), np.asarray(den, np.float64)])
    if pair.shape[0] == 0 or pair[:, 1].mean() == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}
    boots = _boot_means(pair, n_boot, np.random.default_rng(seed))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = boots[:, 0] / boots[:, 1]
    r = r[np.isfinite(r)]
    lo, hi = np.quantile(r, [(1 - level) / 2, 1 - (1 - level) / 2]) if r.size else (np.nan, np.nan)
    return {"mean": float(pair[:, 0].mean() / pair[:, 1].mean()), "ci_low": float(lo), "ci_high": float(hi)}


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control, any dependence between tests)."""
    p = np.asarray(p_values, dtype=np.float64)
    n = p.size
    if n == 0:
        return []
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((n - np.arange(n)) * np.nan_to_num(p[order], nan=1.0)))
    out = np.empty(n)
    out[order] = adj
    return [float(x) for x in out]
