"""Fair comparison: the real-only and the augmented recommender get the same tuning budget.

Each is tuned on a validation split carved from train (same protocol as the test split) over the
same grid of factors × regularisation (× synthetic weight α for the augmented run), then refitted on
the full training split with several seeds and scored once on test.

Synthetic rows for tuning: the test situation is "synthesizer fitted on train, scored on unseen
pairs". Its exact analogue on validation is a synthesizer fitted on the inner training split
(`val_synthetic`, which `run_experiment(tune_synthesizer=True)` provides). Without one, the final
synthetic table is used minus every pair of the full training split: that synthesizer saw the
validation pairs, so keeping them would leak; dropping them is leak-free but pessimistic (the
synthetic pairs left can never hit a validation pair), so the augmented run is then tuned towards
small α. The test comparison itself is leak-free either way.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, replace

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.metrics import hit_matrix, per_user_metrics
from synthdata.evaluate.recommend import ModelParams, augmented_matrix, fit_recommend
from synthdata.log import get_logger, kv

log = get_logger("evaluate.tuning")


@dataclass(frozen=True)
class Target:
    """Held-out positives to score against: evaluated users (codes), their positive counts, the pairs."""

    users: np.ndarray
    n_pos: np.ndarray
    pair_users: np.ndarray
    pair_items: np.ndarray

    @classmethod
    def from_codes(cls, u: np.ndarray, i: np.ndarray) -> Target:
        """Users with ≥1 held-out positive; pairs whose item is unknown (-1) still count in n_pos."""
        keep_u = u >= 0
        u, i = u[keep_u], i[keep_u]
        key = np.unique(u * (int(i.max(initial=0)) + 2) + (i + 1))  # distinct pairs, -1 items kept
        width = int(i.max(initial=0)) + 2
        pu, pi = key // width, key % width - 1
        users, n_pos = np.unique(pu, return_counts=True)
        known = pi >= 0
        return cls(users=users, n_pos=n_pos, pair_users=pu[known], pair_items=pi[known])

    def score(self, recs: np.ndarray, k: int) -> dict[str, np.ndarray]:
        hits = hit_matrix(recs, self.users, self.pair_users, self.pair_items)
        return per_user_metrics(hits, self.n_pos, k)


@dataclass(frozen=True)
class Candidate:
    params: ModelParams
    alpha: float | None  # None: real-only

    def as_dict(self) -> dict:
        d = asdict(self.params)
        if self.params.model == "als":
            d.pop("learning_rate")
        else:
            d.pop("als_alpha")
        if self.alpha is not None:
            d["synthetic_alpha"] = self.alpha
        return d


def candidates(cfg: EvalConfig, augmented: bool) -> list[Candidate]:
    base = ModelParams(
        model=cfg.model,
        iterations=cfg.iterations,
        als_alpha=cfg.als_alpha,
        learning_rate=cfg.bpr_learning_rate,
    )
    alphas: list[float | None] = list(cfg.alpha_grid) if augmented else [None]
    return [
        Candidate(replace(base, factors=f, regularization=r), a)
        for f, r, a in itertools.product(cfg.factors_grid, cfg.regularization_grid, alphas)
    ]


def training_matrix(
    real_pos: sp.csr_matrix, synth: sp.csr_matrix | None, c: Candidate, seed: int
) -> sp.csr_matrix:
    if c.alpha is None or synth is None:
        return real_pos
    return augmented_matrix(real_pos, synth, c.alpha, c.params.model, seed)


def tune(
    real_pos: sp.csr_matrix,
    exclude: sp.csr_matrix,
    synth: sp.csr_matrix | None,
    target: Target,
    cfg: EvalConfig,
    augmented: bool,
) -> tuple[Candidate, list[dict]]:
    """Best candidate by mean validation `cfg.tune_metric` (first seed), and the whole grid's scores."""
    table: list[dict] = []
    best: tuple[float, int] | None = None
    cands = candidates(cfg, augmented)
    for n, c in enumerate(cands):
        recs = fit_recommend(
            training_matrix(real_pos, synth, c, cfg.seed), exclude, target.users, cfg.k, c.params, cfg.seed
        )
        value = float(target.score(recs, cfg.k)[cfg.tune_metric].mean()) if target.users.size else 0.0
        table.append({**c.as_dict(), f"val_{cfg.tune_metric}": value})
        log.info(
            kv(
                stage="tune",
                run="augmented" if augmented else "real",
                candidate=n + 1,
                of=len(cands),
                score=round(value, 5),
            )
        )
        if best is None or value > best[0] + 1e-12:
            best = (value, n)
    assert best is not None
    return cands[best[1]], table


def score_seeds(
    real_pos: sp.csr_matrix,
    exclude: sp.csr_matrix,
    synth: sp.csr_matrix | None,
    target: Target,
    cfg: EvalConfig,
    chosen: Candidate,
) -> tuple[dict[str, np.ndarray], np.ndarray, list[dict[str, float]]]:
    """Refit on full train once per seed.

    Returns per-user metrics averaged over seeds, the first seed's top-k lists and per-seed means.
    """
    acc: dict[str, np.ndarray] = {}
    per_seed: list[dict[str, float]] = []
    first_recs = np.empty((0, cfg.k), dtype=np.int64)
    for s in range(cfg.seeds):
        seed = cfg.seed + s
        recs = fit_recommend(
            training_matrix(real_pos, synth, chosen, seed), exclude, target.users, cfg.k, chosen.params, seed
        )
        m = target.score(recs, cfg.k)
        per_seed.append({name: float(v.mean()) if v.size else float("nan") for name, v in m.items()})
        for name, v in m.items():
            acc[name] = acc.get(name, 0) + v / cfg.seeds
        if s == 0:
            first_recs = recs
    return acc, first_recs, per_seed
