"""The loop every arm (arms.py) goes through: tune on the validation split → refit on full train over
the seeds → score on test.

One tuning pass per model family (`EvalConfig.tuning = "shared"`, the default): the real-only arm
tunes factors × regularisation; every arm with extra rows (augmented and each control alike, so the
comparison between them is symmetric) takes those and tunes its α over the α grid. `"joint"` gives
every such arm the whole factors × regularisation × α grid instead (about 4× the recommender fits).
Fits are cached by what they train on: every α = 0 cell *is* the real-only model, so it is computed
once, and an arm whose chosen α is 0 reuses the real-only refits.

Two economies for large data, both only past `TUNE_MAX_USERS` validation users (below it — MovieLens-100K,
the sample, every test set — tuning is exhaustive). They keep the comparison fair: every arm, real-only,
augmented and each control alike, is tuned by the same procedure on the same rows.
- tuning on a user sample: when more than `TUNE_MAX_USERS` users have validation positives, the
  tuning fits train on the rows of a seeded sample of users only (each user, real or virtual, kept with
  probability TUNE_MAX_USERS / validation users; the real inner-train rows, the tuning synthetic rows and
  every control's tuning rows are restricted to the same users) and are scored on the sampled users'
  validation positives. The refits scored on test always use every row and every user, so the
  statistical definitions are unchanged; only which candidate tuning picks can differ (a noisier
  validation mean), and not at all below the cap (MovieLens-100K and every test set).
- the α grid stops early (past the cap only): α is tried in ascending order (0 first) and, per
  factors × regularisation
  cell, two α in a row each scoring below the α before it end that cell's α search (the grid in the
  result lists the candidates tried). Synthetic rows of no use score worse from the first α > 0 on, so
  a null control usually costs two tuning fits instead of four; one dip (validation noise at a small α)
  does not stop the search.

Validation fits past the cap also run side by side, one per core in worker processes (fitpool.py:
implicit's small fits do not scale with threads). A batch takes the next candidates still to fit; past
a point where the α search stops, its results are read in candidate order and the rest left unused, so
the choice is the one a single worker makes (at most workers − 1 extra fits per stop). An arm with a
single candidate of its own (a control refitted at the augmented α) has nothing to choose and is not
fitted on validation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate.arms import Arm, ArmResult
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.fitpool import FitTask, fit_all, fit_workers
from synthdata.evaluate.recommend import ModelParams, augmented_matrix, fit_recommend
from synthdata.evaluate.tuning import Candidate, Target
from synthdata.log import get_logger, kv

log = get_logger("evaluate.runs")

TUNE_MAX_USERS = 10_000  # tuning fits use a user sample above this many validation users (module doc)


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
    """Executes arms; shares fits between arms that train on the same matrix (see module doc)."""

    def __init__(self, m: Matrices, cfg: EvalConfig) -> None:
        self.m = m
        self.cfg = cfg
        self._val: dict[tuple, float] = {}
        self._fits: dict[tuple, tuple[dict[str, np.ndarray], np.ndarray]] = {}
        self.n_fits = 0
        self.chosen: dict[str, Candidate] = {}
        self._tune_keep = _tune_sample(m, cfg.seed)
        if self._tune_keep is None:
            self._inner_pos, self._inner_seen, self._val_target = m.inner_pos, m.inner_seen, m.val_target
        else:
            keep = self._tune_keep
            self._inner_pos, self._inner_seen = _rows(m.inner_pos, keep), _rows(m.inner_seen, keep)
            t = m.val_target
            ku, kp = keep[t.users], keep[t.pair_users]
            self._val_target = Target(t.users[ku], t.n_pos[ku], t.pair_users[kp], t.pair_items[kp])
            log.info(kv(stage="tune", sample_users=int(keep.sum()), validation_users=int(t.users.size)))
        self._tune_extra: dict[int, sp.csr_matrix | None] = {}
        self.workers = fit_workers(cfg.workers, sampled=self._tune_keep is not None)

    def tune_extra(self, arm: Arm) -> sp.csr_matrix | None:
        """The arm's tuning rows, restricted to the tuning user sample (computed once per matrix)."""
        x = arm.tune_extra
        if x is None or self._tune_keep is None:
            return x
        if id(x) not in self._tune_extra:
            self._tune_extra[id(x)] = _rows(x, self._tune_keep)
        return self._tune_extra[id(x)]

    def candidates(self, arm: Arm) -> list[Candidate]:
        base = ModelParams(
            model=self.cfg.model,
            iterations=self.cfg.iterations,
            als_alpha=self.cfg.als_alpha,
            learning_rate=self.cfg.bpr_learning_rate,
        )
        alphas: tuple[float | None, ...] = arm.alphas or (None,)
        if arm.params_from is not None and self.cfg.tuning == "shared":
            return [Candidate(self.chosen[arm.params_from.value].params, a) for a in alphas]
        return [
            Candidate(replace(base, factors=f, regularization=r), a)
            for f, r, a in itertools.product(self.cfg.factors_grid, self.cfg.regularization_grid, alphas)
        ]

    @staticmethod
    def _key(arm: Arm, c: Candidate) -> tuple:
        """Fits with equal keys train on the same matrix: every α = 0 / None cell is the real-only model."""
        if not arm.only_extra and not c.alpha:
            return ("real", c.params)
        return (arm.name, c.params, c.alpha)

    def _matrix(self, real: sp.csr_matrix, extra: sp.csr_matrix | None, arm: Arm, c: Candidate, seed: int):
        if arm.only_extra:
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

    def tune(self, arm: Arm) -> tuple[Candidate, list[dict]]:
        """Best candidate by mean validation `tune_metric` (first seed); ties go to the smaller α.
        Past the user cap, per factors × regularisation cell the ascending α search stops after two
        declines in a row (module doc). A single candidate of its own is not fitted on validation."""
        cfg = self.cfg
        table: list[dict] = []
        best: tuple[float, int] | None = None
        cands = self.candidates(arm)
        prev: dict[object, float] = {}  # last score per factors × regularisation cell
        declines: dict[object, int] = {}  # consecutive declines per cell
        stopped: set[object] = set()
        if len(cands) == 1 and self._key(arm, cands[0])[0] != "real":
            return cands[0], [{**cands[0].as_dict(), f"val_{cfg.tune_metric}": None}]  # nothing to choose
        for n, c in enumerate(cands):
            if c.params in stopped:
                continue
            key = self._key(arm, c)
            if key not in self._val:
                self._validate(arm, self._batch(arm, cands[n:], stopped))
            value = self._val[key]
            table.append({**c.as_dict(), f"val_{cfg.tune_metric}": value})
            log.debug(kv(stage="tune", arm=arm.name, candidate=n + 1, of=len(cands), score=round(value, 5)))
            if best is None or value > best[0] + 1e-12:
                best = (value, n)
            if c.alpha is not None and self._tune_keep is not None:  # large data only (module doc)
                worse = c.params in prev and value < prev[c.params] - 1e-12
                declines[c.params] = declines.get(c.params, 0) + 1 if worse else 0
                if declines[c.params] >= 2:
                    stopped.add(c.params)
                prev[c.params] = value
        assert best is not None
        return cands[best[1]], table

    def _batch(self, arm: Arm, rest: list[Candidate], stopped: set) -> list[Candidate]:
        """The next candidates to fit on validation: the first of `rest` and, with several workers, the
        ones after it still to fit. Past a point where the α search may stop, that is speculative: the
        loop in `tune` reads the results in candidate order, so it chooses as one worker would."""
        out: list[Candidate] = []
        keys: set[tuple] = set()
        for c in rest:
            key = self._key(arm, c)
            if c.params in stopped or key in self._val or key in keys:
                continue
            out.append(c)
            keys.add(key)
            if len(out) == self.workers:
                break
        return out

    def _validate(self, arm: Arm, batch: list[Candidate]) -> None:
        """Store each candidate's mean validation `tune_metric`."""
        for c, scores in zip(batch, self._validation_scores(arm, batch), strict=True):
            v = scores[self.cfg.tune_metric]
            self._val[self._key(arm, c)] = float(v.mean()) if v.size else 0.0

    def _validation_scores(self, arm: Arm, batch: list[Candidate]) -> list[dict[str, np.ndarray]]:
        """Per-user validation metrics of each candidate fitted on the tuning rows (a batch of several
        in worker processes, fitpool.py)."""
        cfg = self.cfg
        fold = self._inner_pos if arm.fold_in else None
        mats = [self._matrix(self._inner_pos, self.tune_extra(arm), arm, c, cfg.seed) for c in batch]
        if len(batch) == 1:
            return [self._fit(mats[0], self._inner_seen, self._val_target, batch[0], cfg.seed, fold)[0]]
        tasks = [
            FitTask(m, self._inner_seen, self._val_target.users, cfg.k, c.params, cfg.seed, fold)
            for m, c in zip(mats, batch, strict=True)
        ]
        self.n_fits += len(tasks)
        return [self._val_target.score(r, cfg.k) for r in fit_all(tasks, self.workers)]

    def refit(self, arm: Arm, chosen: Candidate) -> tuple[dict[str, np.ndarray], np.ndarray, list[dict]]:
        """Refit on full train once per seed: per-user metrics (mean over seeds), first recs, per seed."""
        cfg, m = self.cfg, self.m
        per_seed: list[dict[str, np.ndarray]] = []
        first = np.empty((0, cfg.k), dtype=np.int64)
        for s in range(cfg.seeds):
            seed = cfg.seed + s
            key = (*self._key(arm, chosen), seed)
            if key not in self._fits:
                train_m = self._matrix(m.real_pos, arm.extra_for(s), arm, chosen, seed)
                fold = m.real_pos if arm.fold_in else None
                self._fits[key] = self._fit(train_m, m.seen, m.target, chosen, seed, fold)
            scores, recs = self._fits[key]
            per_seed.append(scores)
            if s == 0:
                first = recs
        mean = {name: np.mean([p[name] for p in per_seed], axis=0) for name in per_seed[0]}
        return mean, first, per_seed

    def execute(self, arm: Arm) -> ArmResult:
        chosen, grid = self.tune(arm)
        self.chosen[arm.name] = chosen
        user, recs, per_seed = self.refit(arm, chosen)
        log.info(kv(stage="run", arm=arm.name, chosen=chosen.as_dict(), fits_so_far=self.n_fits))
        return ArmResult(arm, chosen, grid, user, recs, per_seed)


def _rows(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """`m` with the rows of users outside `keep` emptied (same shape: codes stay valid)."""
    out = sp.diags(keep.astype(m.dtype)) @ m
    out = sp.csr_matrix(out)
    out.eliminate_zeros()
    return out


def _tune_sample(m: Matrices, seed: int) -> np.ndarray | None:
    """Users (real and virtual) the tuning fits keep: None (all) up to TUNE_MAX_USERS validation users."""
    n_val = int(m.val_target.users.size)
    if n_val <= TUNE_MAX_USERS:
        return None
    rng = np.random.default_rng([seed, 0x7E5E])
    return rng.random(m.inner_pos.shape[0]) < TUNE_MAX_USERS / n_val
