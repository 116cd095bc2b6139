"""Every model `evaluate` scores is a `Run` value, and every run goes through the same loop:
tune on the validation split → refit on full train over the seeds → score on test.

A run is its name, the extra rows it trains on (for the test-time fit and for tuning) and its α grid
(the weight of those rows). The real-only model is the run with no extra rows; the augmented model,
each negative control and the synthetic-only model differ only in their extra rows, so adding a control
is one more `Run(...)`.

One tuning pass per model family (`EvalConfig.tuning = "shared"`, the default): the real-only run
tunes factors × regularisation; every run with extra rows (augmented and each control alike, so the
comparison between them is symmetric) takes those and tunes its α over the α grid. `"joint"` gives
every such run the whole factors × regularisation × α grid instead (about 4× the recommender fits).
Fits are cached by what they train on: every α = 0 cell *is* the real-only model, so it is computed
once, and a run whose chosen α is 0 reuses the real-only refits.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.recommend import ModelParams, augmented_matrix, fit_recommend
from synthdata.evaluate.tuning import Candidate, Target
from synthdata.log import get_logger, kv

log = get_logger("evaluate.runs")


@dataclass(frozen=True)
class Run:
    """One model to score. `alphas` empty: trains on real rows only; `only_extra`: on the extra rows alone."""

    name: str
    extra: sp.csr_matrix | None = None  # extra positives for the fit scored on test
    tune_extra: sp.csr_matrix | None = None  # extra positives for the fits scored on validation
    alphas: tuple[float, ...] = ()
    only_extra: bool = False
    params_from: str | None = None  # take factors/regularisation chosen by this run, tune only α
    extra_per_seed: tuple[sp.csr_matrix, ...] = ()  # a fresh draw per recommender seed (controls)
    fold_in: bool = False  # only_extra on virtual users: real users' factors come from their real rows

    def extra_for(self, s: int) -> sp.csr_matrix | None:
        """The extra rows of refit `s`: a control is a random process, so each seed gets its own draw."""
        return self.extra_per_seed[s % len(self.extra_per_seed)] if self.extra_per_seed else self.extra


@dataclass
class RunResult:
    name: str
    chosen: Candidate
    grid: list[dict]
    user: dict[str, np.ndarray]  # per-user metrics averaged over seeds
    recs: np.ndarray  # first seed's top-k lists
    per_seed: list[dict[str, np.ndarray]] = field(default_factory=list)  # per-user metrics per seed


@dataclass
class Matrices:
    """Real training positives / exclusion masks for the test-time fit and for the validation fit."""

    real_pos: sp.csr_matrix
    seen: sp.csr_matrix
    inner_pos: sp.csr_matrix
    inner_seen: sp.csr_matrix
    target: Target
    val_target: Target


class Runner:
    """Executes runs; shares fits between runs that train on the same matrix (see module doc)."""

    def __init__(self, m: Matrices, cfg: EvalConfig) -> None:
        self.m = m
        self.cfg = cfg
        self._val: dict[tuple, float] = {}
        self._fits: dict[tuple, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self.n_fits = 0
        self.chosen: dict[str, Candidate] = {}

    def candidates(self, run: Run) -> list[Candidate]:
        base = ModelParams(
            model=self.cfg.model,
            iterations=self.cfg.iterations,
            als_alpha=self.cfg.als_alpha,
            learning_rate=self.cfg.bpr_learning_rate,
        )
        alphas: tuple[float | None, ...] = run.alphas or (None,)
        if run.params_from is not None and self.cfg.tuning == "shared":
            return [Candidate(self.chosen[run.params_from].params, a) for a in alphas]
        return [
            Candidate(replace(base, factors=f, regularization=r), a)
            for f, r, a in itertools.product(self.cfg.factors_grid, self.cfg.regularization_grid, alphas)
        ]

    @staticmethod
    def _key(run: Run, c: Candidate) -> tuple:
        """Fits with equal keys train on the same matrix: every α = 0 / None cell is the real-only model."""
        if not run.only_extra and not c.alpha:
            return ("real", c.params)
        return (run.name, c.params, c.alpha)

    def _matrix(self, real: sp.csr_matrix, extra: sp.csr_matrix | None, run: Run, c: Candidate, seed: int):
        if run.only_extra:
            return extra if extra is not None else sp.csr_matrix(real.shape, dtype=np.float32)
        if not c.alpha or extra is None:
            return real
        return augmented_matrix(real, extra, c.alpha, c.params.model, seed)

    def _fit(
        self,
        train_m: sp.csr_matrix,
        exclude: sp.csr_matrix,
        target: Target,
        c: Candidate,
        seed: int,
        fold: sp.csr_matrix | None = None,
    ):
        self.n_fits += 1
        recs = fit_recommend(train_m, exclude, target.users, self.cfg.k, c.params, seed, fold_in=fold)
        return target.score(recs, self.cfg.k), recs

    def tune(self, run: Run) -> tuple[Candidate, list[dict]]:
        """Best candidate by mean validation `tune_metric` (first seed); ties go to the smaller α."""
        cfg, m = self.cfg, self.m
        table: list[dict] = []
        best: tuple[float, int] | None = None
        cands = self.candidates(run)
        for n, c in enumerate(cands):
            key = self._key(run, c)
            if key not in self._val:
                train_m = self._matrix(m.inner_pos, run.tune_extra, run, c, cfg.seed)
                fold = m.inner_pos if run.fold_in else None
                scores, _ = self._fit(train_m, m.inner_seen, m.val_target, c, cfg.seed, fold)
                v = scores[cfg.tune_metric]
                self._val[key] = float(v.mean()) if v.size else 0.0
            value = self._val[key]
            table.append({**c.as_dict(), f"val_{cfg.tune_metric}": value})
            log.debug(kv(stage="tune", run=run.name, candidate=n + 1, of=len(cands), score=round(value, 5)))
            if best is None or value > best[0] + 1e-12:
                best = (value, n)
        assert best is not None
        return cands[best[1]], table

    def refit(self, run: Run, chosen: Candidate) -> tuple[dict[str, np.ndarray], np.ndarray, list[dict]]:
        """Refit on full train once per seed: per-user metrics (mean over seeds), first recs, per seed."""
        cfg, m = self.cfg, self.m
        per_seed: list[dict[str, np.ndarray]] = []
        first = np.empty((0, cfg.k), dtype=np.int64)
        for s in range(cfg.seeds):
            seed = cfg.seed + s
            key = (*self._key(run, chosen), seed)
            if key not in self._fits:
                train_m = self._matrix(m.real_pos, run.extra_for(s), run, chosen, seed)
                fold = m.real_pos if run.fold_in else None
                self._fits[key] = self._fit(train_m, m.seen, m.target, chosen, seed, fold)
            scores, recs = self._fits[key]
            per_seed.append(scores)
            if s == 0:
                first = recs
        mean = {name: np.mean([p[name] for p in per_seed], axis=0) for name in per_seed[0]}
        return mean, first, per_seed

    def execute(self, run: Run) -> RunResult:
        chosen, grid = self.tune(run)
        self.chosen[run.name] = chosen
        user, recs, per_seed = self.refit(run, chosen)
        log.info(kv(stage="run", run=run.name, chosen=chosen.as_dict(), fits_so_far=self.n_fits))
        return RunResult(run.name, chosen, grid, user, recs, per_seed)
