"""The two tuning economies of runs.Runner: the α grid stops after two declines in a row, and tuning
fits use a user sample past TUNE_MAX_USERS validation users (test-time refits never do)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate import runs
from synthdata.evaluate.arms import Arm, Role
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.runs import Matrices, Runner
from synthdata.evaluate.tuning import Target


def _mats(n_users: int = 60, n_items: int = 40, seed: int = 0) -> Matrices:
    rng = np.random.default_rng(seed)
    m = sp.random(n_users, n_items, density=0.2, random_state=seed, format="csr", dtype=np.float32)
    m.data[:] = 1
    u = np.repeat(np.arange(n_users), 2)
    i = rng.integers(0, n_items, u.size)
    t = Target.from_codes(u, i)
    return Matrices(m, m, m, m, t, t)


def _aug(extra: sp.csr_matrix, alphas: tuple[float, ...]) -> Arm:
    return Arm(Role.AUGMENTED, extra=extra, tune_extra=extra, alphas=alphas, params_from=Role.REAL)


def _alpha_search(monkeypatch, cap: int, scores: list[float], alphas: list[float]) -> tuple[float, list]:
    """(chosen α, α tried) when validation scores come out as `scores`: real's tuning fit and refit
    first, then the augmented arm's α > 0 in ascending order."""
    monkeypatch.setattr(runs, "TUNE_MAX_USERS", cap)
    cfg = EvalConfig(factors_grid=[8], regularization_grid=[0.1], alpha_grid=alphas, seeds=1, workers=1)
    runner = Runner(_mats(), cfg)
    values = iter(scores)

    def fake_fit(self, train_m, exclude, target, c, seed, fold=None):
        self.n_fits += 1
        v = next(values)
        return {"ndcg": np.full(target.users.size, v)}, np.zeros((target.users.size, cfg.k), np.int64)

    monkeypatch.setattr(Runner, "_fit", fake_fit)
    runner.execute(Arm(Role.REAL))
    chosen, grid = runner.tune(_aug(_mats().real_pos, tuple(cfg.alpha_grid)))
    return chosen.alpha, [row["synthetic_alpha"] for row in grid]


PAST_CAP = 20  # _mats() has 60 validation users


def test_alpha_search_is_exhaustive_below_the_user_cap(monkeypatch) -> None:
    scores = [0.5, 0.5, 0.4, 0.3, 0.9, 0.2]
    assert _alpha_search(monkeypatch, 10_000, scores, [0.1, 0.3, 1.0, 3.0]) == (
        1.0,
        [0.0, 0.1, 0.3, 1.0, 3.0],
    )


def test_alpha_search_stops_after_two_declines_past_the_cap(monkeypatch) -> None:
    scores = [0.5, 0.5, 0.4, 0.3, 0.9]  # α = 0.1, 0.3 decline twice: 1.0 and 3.0 never fitted
    assert _alpha_search(monkeypatch, PAST_CAP, scores, [0.1, 0.3, 1.0, 3.0]) == (0.0, [0.0, 0.1, 0.3])


def test_one_dip_does_not_stop_the_alpha_search(monkeypatch) -> None:
    scores = [0.5, 0.5, 0.4, 0.6, 0.7]
    assert _alpha_search(monkeypatch, PAST_CAP, scores, [0.1, 0.3, 1.0]) == (1.0, [0.0, 0.1, 0.3, 1.0])


def test_tuning_uses_a_user_sample_past_the_cap(monkeypatch) -> None:
    m = _mats(n_users=400)
    cfg = EvalConfig(factors_grid=[8], regularization_grid=[0.1], alpha_grid=[0.5], seeds=1)
    assert Runner(m, cfg)._tune_keep is None  # below the cap: every user
    monkeypatch.setattr(runs, "TUNE_MAX_USERS", 100)
    r = Runner(m, cfg)
    keep = r._tune_keep
    assert keep is not None and 50 < keep.sum() < 200
    assert np.all(np.diff(r._inner_pos.indptr)[~keep] == 0)  # other users' rows emptied …
    assert set(r._val_target.users) <= set(np.flatnonzero(keep))  # … and not scored in tuning
    extra = m.real_pos
    arm = Arm(Role.AUGMENTED, extra=extra, tune_extra=extra, alphas=(0.0, 0.5), params_from=Role.REAL)
    assert np.all(np.diff(r.tune_extra(arm).indptr)[~keep] == 0)  # synthetic tuning rows too
    r.execute(Arm(Role.REAL))
    user, _, _ = r.refit(Arm(Role.REAL), r.chosen["real"])
    assert user["ndcg"].size == m.target.users.size  # the test-time refit scores every user
    again = Runner(m, cfg)._tune_keep
    assert np.array_equal(again, keep)  # seeded


def test_target_sample_keeps_whole_users_uniformly() -> None:
    """max_eval_users: a seeded subset of users, each with every one of its pairs and its n_pos."""
    rng = np.random.default_rng(3)
    u = rng.integers(0, 500, 4000)
    i = rng.integers(0, 300, 4000)
    t = Target.from_codes(u, i)
    s = t.sample(120, seed=0)
    assert s.users.size == 120 and np.isin(s.users, t.users).all()
    assert np.array_equal(s.users, np.sort(s.users))
    full_pairs = set(zip(t.pair_users.tolist(), t.pair_items.tolist(), strict=True))
    pairs = set(zip(s.pair_users.tolist(), s.pair_items.tolist(), strict=True))
    assert pairs == {p for p in full_pairs if p[0] in set(s.users.tolist())}
    n_pos = dict(zip(t.users.tolist(), t.n_pos.tolist(), strict=True))
    assert s.n_pos.tolist() == [n_pos[x] for x in s.users.tolist()]
    assert np.array_equal(t.sample(120, seed=0).users, s.users)  # seeded
    assert not np.array_equal(t.sample(120, seed=1).users, s.users)
    assert t.sample(None, seed=0) is t and t.sample(10_000, seed=0) is t


def test_max_eval_users_scores_the_same_sample_for_every_arm() -> None:
    from support.eval_world import FAST_EVAL, SCHEMA, FakeSynthesizer, world

    from synthdata.evaluate import evaluate
    from synthdata.split import split

    train, test = split(world(n_users=260, n_items=60, seed=5), SCHEMA)
    synthetic = FakeSynthesizer(SCHEMA).fit(train).sample(len(train), seed=1)
    cfg = EvalConfig(**{**FAST_EVAL, "max_eval_users": 100, "privacy": False, "synthetic_only": False})
    m = evaluate(train, test, synthetic, SCHEMA, cfg)
    assert m["data"]["evaluated_users"] == 100 < m["data"]["test_users_with_positives"]
    rec = m["recsys"]
    assert rec["real"]["all"]["n_users"] == rec["augmented"]["all"]["n_users"] == 100
    assert all(c["all"]["n_users"] == 100 for c in rec["control"].values())
    again = evaluate(train, test, synthetic, SCHEMA, cfg)
    assert again["recsys"]["delta"] == rec["delta"]  # the same users every time
