"""Uncertainty over users: percentile bootstrap CIs and a paired test for augmented − real.

Users are the sampling unit (metrics are per-user averages), so both runs are resampled with the same
user indices: the paired difference cancels between-user variance, which is what makes a small gain
detectable at all. All resampling is vectorised in chunks and seeded.

Every statistic over n users with one seed draws the very same resamples, so they are drawn once:
`Draws` generates each chunk of resamples once and applies it to every column of an (n, p) matrix (a
resample's means are `counts @ values / n`, one BLAS call, instead of a gather per column), and
`StatsBatch` collects the requests of a whole section and answers them with one `Draws` per distinct
n. The scalar functions are one-request batches: one implementation, the same numbers as a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK_CELLS = 4_000_000  # replicates × users per chunk: bounds each chunk's draws at ~32 MB
_FLIP_SLACK = 1e-12  # a flipped mean this close to the observed one counts as extreme (float ties)

Stat = dict[str, float]


def _nan_stat() -> Stat:
    return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")}


class Draws:
    """The resamples of `n` users: bootstrap indices from `seed`, sign flips from `flip_seed` (seed + 1).

    Chunks of `_CHUNK_CELLS // n` replicates are drawn in the order, shape and stream a one-column call
    draws them, so p columns at once give each column exactly its one-column result (up to rounding)."""

    def __init__(self, n: int, n_boot: int, n_perm: int, seed: int, flip_seed: int | None = None) -> None:
        if n < 1:
            raise ValueError("no users to resample")
        self.n, self.n_boot, self.n_perm = n, n_boot, n_perm
        self.seed = seed
        self.flip_seed = seed + 1 if flip_seed is None else flip_seed
        self.per_chunk = max(1, _CHUNK_CELLS // n)

    def _columns(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        v = v[:, None] if v.ndim == 1 else v
        if v.ndim != 2 or v.shape[0] != self.n:
            raise ValueError(f"expected ({self.n}, p) values, got shape {np.shape(values)}")
        return v

    def boot_means(self, values: np.ndarray) -> np.ndarray:
        """(n, p) → (n_boot, p): every column's mean over each bootstrap resample of the users."""
        v, n = self._columns(values), self.n
        rng = np.random.default_rng(self.seed)
        out = np.empty((self.n_boot, v.shape[1]))
        for start in range(0, self.n_boot, self.per_chunk):
            m = min(self.per_chunk, self.n_boot - start)
            idx = rng.integers(0, n, size=(m, n))
            idx += np.arange(0, m * n, n)[:, None]  # replicate r's draws count into cells [r·n, (r+1)·n)
            counts = np.bincount(idx.ravel(), minlength=m * n).reshape(m, n).astype(np.float64)
            del idx
            out[start : start + m] = counts @ v / n
        return out

    def flip_counts(self, diffs: np.ndarray, observed: np.ndarray | None = None) -> np.ndarray:
        """(n, q) → (q,): per column, the sign flips whose |mean| reaches |observed mean| (default:
        the column's mean)."""
        d = self._columns(diffs)
        obs = np.abs(d.mean(axis=0)) if observed is None else np.asarray(observed, dtype=np.float64)
        rng = np.random.default_rng(self.flip_seed)
        extreme = np.zeros(d.shape[1], dtype=np.int64)
        for start in range(0, self.n_perm, self.per_chunk):
            m = min(self.per_chunk, self.n_perm - start)
            signs = (rng.integers(0, 2, size=(m, self.n), dtype=np.int8) * 2 - 1).astype(np.float64)
            extreme += np.sum(np.abs(signs @ d) / self.n >= obs - _FLIP_SLACK, axis=0)
        return extreme


@dataclass
class _Request:
    kind: str  # "ci" | "f1" | "ratio" | "delta"
    cols: tuple[np.ndarray, ...]  # 1-D float64 columns over the same users (delta: run − base)
    out: Stat  # the dict handed to the caller, filled in place by StatsBatch.run
    extra: Stat  # keys appended after the statistics (e.g. n_users)


def _f1(p: np.ndarray, r: np.ndarray) -> np.ndarray:
    s = p + r
    return np.divide(2 * p * r, s, out=np.zeros_like(s), where=s > 0)


class StatsBatch:
    """Requests for statistics over users, answered together by `run()`.

    Each request returns an empty dict at once and `run()` fills it in place ({mean, ci_low, ci_high}
    [, p_value], then the request's extra keys), so a caller builds its nested result as before and
    calls `run()` once before reading it. Requests over the same number of users share one `Draws`."""

    def __init__(self, n_boot: int = 1000, n_perm: int = 2000, seed: int = 0, level: float = 0.95) -> None:
        self.n_boot, self.n_perm, self.seed, self.level = n_boot, n_perm, seed, level
        self._pending: list[_Request] = []

    def _add(self, kind: str, cols: tuple[np.ndarray, ...], extra: Stat) -> Stat:
        arrays = tuple(np.asarray(c, dtype=np.float64) for c in cols)
        if any(a.ndim != 1 for a in arrays):
            raise ValueError("per-user values must be 1-D")
        if any(a.shape != arrays[0].shape for a in arrays):
            raise ValueError("paired arrays must have the same users in the same order")
        out: Stat = {}
        self._pending.append(_Request(kind, arrays, out, extra))
        return out

    def ci(self, values: np.ndarray, **extra: float) -> Stat:
        """Mean with a percentile bootstrap CI (NaNs when no users)."""
        return self._add("ci", (values,), extra)

    def f1_of_means(self, precision: np.ndarray, recall: np.ndarray, **extra: float) -> Stat:
        """2·P̄·R̄/(P̄+R̄) with a bootstrap CI, P and R resampled with the same users."""
        return self._add("f1", (precision, recall), extra)

    def ratio(self, num: np.ndarray, den: np.ndarray, **extra: float) -> Stat:
        """mean(num) / mean(den) with a paired bootstrap CI (NaNs when no users or mean(den) = 0)."""
        return self._add("ratio", (num, den), extra)

    def delta(self, base: np.ndarray, run: np.ndarray, **extra: float) -> Stat:
        """run − base per user: mean, bootstrap CI and sign-flip p-value (flips seeded seed + 1)."""
        a, b = np.asarray(base, dtype=np.float64), np.asarray(run, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError("paired arrays must have the same users in the same order")
        return self._add("delta", (b - a,), extra)

    def run(self) -> None:
        """Fill every pending request: one resampling pass per distinct number of users."""
        groups: dict[int, list[_Request]] = {}
        for req in self._pending:
            groups.setdefault(req.cols[0].size, []).append(req)
        self._pending = []
        for n, reqs in groups.items():
            if n == 0:
                for req in reqs:
                    nan = {"p_value": float("nan")} if req.kind == "delta" else {}
                    req.out.update(_nan_stat() | nan | req.extra)
            else:
                self._run_group(n, reqs)

    def _run_group(self, n: int, reqs: list[_Request]) -> None:
        slot: dict[int, int] = {}  # id(column) → its column in the stacked matrix (shared columns once)
        cols: list[np.ndarray] = []
        for c in (c for req in reqs for c in req.cols):
            if id(c) not in slot:
                slot[id(c)] = len(cols)
                cols.append(c)
        draws = Draws(n, self.n_boot, self.n_perm, self.seed)
        boots = draws.boot_means(np.column_stack(cols))
        del cols
        p_values = self._p_values(draws, [r for r in reqs if r.kind == "delta"])
        for req in reqs:
            stat = self._finish(req, [boots[:, slot[id(c)]] for c in req.cols])
            if req.kind == "delta":
                stat["p_value"] = p_values[id(req)]
            req.out.update(stat | req.extra)

    def _p_values(self, draws: Draws, deltas: list[_Request]) -> dict[int, float]:
        if not deltas:
            return {}
        observed = np.array([abs(r.cols[0].mean()) for r in deltas])
        extreme = draws.flip_counts(np.column_stack([r.cols[0] for r in deltas]), observed)
        return {id(r): float((1 + int(e)) / (1 + self.n_perm)) for r, e in zip(deltas, extreme, strict=True)}

    def _finish(self, req: _Request, boots: list[np.ndarray]) -> Stat:
        """One request's statistics from its columns' bootstrap means."""
        cols = req.cols
        if req.kind == "f1":
            vals = _f1(boots[0], boots[1])
            mean = float(_f1(np.array([cols[0].mean()]), np.array([cols[1].mean()]))[0])
        elif req.kind == "ratio":
            if cols[1].mean() == 0:
                return _nan_stat()
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                vals = boots[0] / boots[1]
            vals = vals[np.isfinite(vals)]
            mean = float(cols[0].mean() / cols[1].mean())
        else:
            vals, mean = boots[0], float(cols[0].mean())
        tail = (1 - self.level) / 2
        lo, hi = np.quantile(vals, [tail, 1 - tail]) if vals.size else (np.nan, np.nan)
        return {"mean": mean, "ci_low": float(lo), "ci_high": float(hi)}


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """Mean with a percentile bootstrap CI: {"mean", "ci_low", "ci_high"} (NaNs when no users)."""
    batch = StatsBatch(n_boot=n_boot, seed=seed, level=level)
    out = batch.ci(values)
    batch.run()
    return out


def bootstrap_f1_of_means(
    precision: np.ndarray, recall: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """2·P̄·R̄/(P̄+R̄) with a bootstrap CI, P and R resampled with the same users."""
    batch = StatsBatch(n_boot=n_boot, seed=seed, level=level)
    out = batch.f1_of_means(precision, recall)
    batch.run()
    return out


def sign_flip_p_value(diff: np.ndarray, n_perm: int = 2000, seed: int = 0) -> float:
    """Two-sided paired permutation (sign-flip) test of mean(diff) = 0.

    Under the null the two runs are exchangeable per user, so each user's difference is equally
    likely to carry either sign. p = (1 + #{|mean flipped| ≥ |mean observed|}) / (1 + n_perm).
    """
    d = np.asarray(diff, dtype=np.float64)
    if d.size == 0:
        return float("nan")
    draws = Draws(d.size, 0, n_perm, seed, flip_seed=seed)
    extreme = draws.flip_counts(d.reshape(-1, 1), np.array([abs(d.mean())]))[0]
    return float((1 + int(extreme)) / (1 + n_perm))


def paired_delta(
    real: np.ndarray, augmented: np.ndarray, n_boot: int = 1000, n_perm: int = 2000, seed: int = 0
) -> dict[str, float]:
    """augmented − real per user: mean, bootstrap CI and sign-flip p-value (flips seeded seed + 1)."""
    batch = StatsBatch(n_boot=n_boot, n_perm=n_perm, seed=seed)
    out = batch.delta(real, augmented)
    batch.run()
    return out


def ratio_ci(
    num: np.ndarray, den: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float]:
    """mean(num) / mean(den) with a paired percentile bootstrap CI (same users resampled in both)."""
    batch = StatsBatch(n_boot=n_boot, seed=seed, level=level)
    out = batch.ratio(num, den)
    batch.run()
    return out


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
