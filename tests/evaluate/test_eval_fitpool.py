"""Tuning fits in worker processes (evaluate/fitpool.py) change nothing but the wall time: a fit in a
worker gives the same lists, a batch of candidates chooses what one worker would, and `evaluate` with
two workers reports the same numbers as with one."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from support.eval_world import FAST_EVAL, SCHEMA

from synthdata.evaluate import EvalConfig, evaluate, fitpool, runs
from synthdata.evaluate.arms import Arm, Role
from synthdata.evaluate.fitpool import FitTask, fit_all, fit_workers
from synthdata.evaluate.recommend import ModelParams
from synthdata.evaluate.runs import Matrices, Runner
from synthdata.evaluate.tuning import Candidate, Target


def _tasks(n: int = 3) -> list[FitTask]:
    rng = np.random.default_rng(0)
    m = sp.random(300, 120, density=0.08, random_state=1, format="csr", dtype=np.float32)
    m.data[:] = 1
    users = np.sort(rng.choice(300, 200, replace=False))
    return [FitTask(m, m, users, 10, ModelParams(factors=8, iterations=5), seed) for seed in range(n)]


def test_a_fit_in_a_worker_gives_the_same_lists() -> None:
    tasks = _tasks()
    here = [t.run() for t in tasks]
    assert not np.array_equal(here[0], here[1])  # seeds differ, so the comparison below has teeth
    for a, b in zip(here, [t.run(num_threads=1) for t in tasks], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(here, fit_all(tasks, workers=2), strict=True):
        np.testing.assert_array_equal(a, b)


def test_workers_auto_only_for_sampled_tuning_on_cpu(monkeypatch) -> None:
    monkeypatch.setattr(fitpool, "has_cuda", lambda: False)
    assert fit_workers(3, sampled=False) == 3  # an explicit setting wins
    assert fit_workers(0, sampled=False) == 1
    assert fit_workers(0, sampled=True) >= 1
    monkeypatch.setattr(fitpool, "has_cuda", lambda: True)
    assert fit_workers(0, sampled=True) == 1


def _mats(n_users: int = 60) -> Matrices:
    m = sp.random(n_users, 40, density=0.2, random_state=0, format="csr", dtype=np.float32)
    m.data[:] = 1
    t = Target.from_codes(np.repeat(np.arange(n_users), 2), np.tile(np.arange(2), n_users))
    return Matrices(m, m, m, m, t, t)


def _search(monkeypatch, workers: int, cap: int, values: dict) -> tuple[Candidate, list, int]:
    """(chosen, grid, validation fits) of the real arm then the augmented arm, with validation scores
    looked up by (factors, α) instead of fitted."""
    monkeypatch.setattr(runs, "TUNE_MAX_USERS", cap)
    alphas = sorted({a for _, a in values if a is not None})
    cfg = EvalConfig(factors_grid=[8, 16], regularization_grid=[0.1], alpha_grid=alphas, workers=workers)
    runner = Runner(_mats(), cfg)
    fitted: list = []

    def scores(self, arm, batch):
        fitted.extend(batch)
        return [{"ndcg": np.full(3, values[(c.params.factors, c.alpha or None)])} for c in batch]

    monkeypatch.setattr(Runner, "_validation_scores", scores)
    real, _ = runner.tune(Arm(Role.REAL))
    runner.chosen["real"] = real
    aug = Arm(Role.AUGMENTED, extra=_mats().real_pos, alphas=tuple(cfg.alpha_grid), params_from=Role.REAL)
    chosen, grid = runner.tune(aug)
    return chosen, grid, len(fitted)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=7, max_size=7),
    st.integers(2, 4),
    st.booleans(),
)
def test_a_batch_chooses_what_one_worker_chooses(draws, workers, past_cap) -> None:
    """Speculative batches past the point where the α search stops are read in order: the same chosen
    candidate and the same grid, at the cost of at most workers − 1 unused fits per stop."""
    keys = [(8, None), (16, None), (8, 0.1), (8, 0.3), (8, 1.0), (16, 0.1), (16, 0.3)]
    values = {k: v / 10 for k, v in zip(keys, draws, strict=True)}
    values |= {(16, 1.0): 0.25}
    cap = 20 if past_cap else 10_000  # _mats() has 60 validation users
    with pytest.MonkeyPatch.context() as mp:
        one = _search(mp, 1, cap, values)
        many = _search(mp, workers, cap, values)
    assert many[0] == one[0] and many[1] == one[1]
    assert one[2] <= many[2] <= one[2] + 2 * (workers - 1)


def test_evaluate_with_two_workers_reports_the_same_numbers(eval_data, monkeypatch) -> None:
    monkeypatch.setattr(runs, "TUNE_MAX_USERS", 20)  # tuning on a user sample, α search stops early
    cfg = {**FAST_EVAL, "factors_grid": [8, 16], "alpha_grid": [0.1, 0.5, 1.0]}
    one = evaluate(*eval_data, SCHEMA, EvalConfig(**cfg, workers=1))["recsys"]
    batches: list[int] = []

    def spy(tasks, workers):
        batches.append(len(tasks))
        return fit_all(tasks, workers)

    monkeypatch.setattr(runs, "fit_all", spy)
    two = evaluate(*eval_data, SCHEMA, EvalConfig(**cfg, workers=2))["recsys"]
    assert batches and max(batches) == 2  # candidates were fitted side by side
    assert one["recommender_fits"] <= two["recommender_fits"]
    for key in ("tuning", "real", "augmented", "delta", "delta_control", "verdict", "per_seed"):
        assert two[key] == one[key], key
