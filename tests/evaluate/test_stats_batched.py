"""The batched resampling engine gives every column exactly what a one-column call gives.

Each statistic over n users with one seed draws the same resamples, which is what lets `StatsBatch`
draw them once: these tests hold the batch to the scalar functions and to the former gather-based
implementation (kept below as the reference), with chunks small enough to split the draws."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from synthdata.evaluate import stats
from synthdata.evaluate.assemble import deltas, summaries
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.metrics import PER_USER_METRICS
from synthdata.evaluate.stats import (
    Draws,
    StatsBatch,
    bootstrap_ci,
    bootstrap_f1_of_means,
    paired_delta,
    ratio_ci,
    sign_flip_p_value,
)

TOL = {"rtol": 1e-9, "atol": 1e-12}
KEYS = ("mean", "ci_low", "ci_high")

# ---- the former implementation (one gather per column), the reference -------------------------------


def _ref_boot_means(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    n = values.shape[0]
    per_chunk = max(1, stats._CHUNK_CELLS // max(n, 1))
    out = np.empty((n_boot, *values.shape[1:]))
    for start in range(0, n_boot, per_chunk):
        m = min(per_chunk, n_boot - start)
        idx = rng.integers(0, n, size=(m, n))
        out[start : start + m] = values[idx].mean(axis=1)
    return out


def _ref_ci(v: np.ndarray, n_boot: int, seed: int) -> dict[str, float]:
    if v.size == 0:
        return dict.fromkeys(KEYS, float("nan"))
    lo, hi = np.quantile(_ref_boot_means(v, n_boot, np.random.default_rng(seed)), [0.025, 0.975])
    return {"mean": float(v.mean()), "ci_low": float(lo), "ci_high": float(hi)}


def _ref_p(d: np.ndarray, n_perm: int, seed: int) -> float:
    n = d.size
    if n == 0:
        return float("nan")
    observed, rng, extreme = abs(d.mean()), np.random.default_rng(seed), 0
    per_chunk = max(1, stats._CHUNK_CELLS // n)
    for start in range(0, n_perm, per_chunk):
        m = min(per_chunk, n_perm - start)
        signs = rng.integers(0, 2, size=(m, n), dtype=np.int8) * 2 - 1
        extreme += int(np.sum(np.abs(signs @ d) / n >= observed - 1e-12))
    return float((1 + extreme) / (1 + n_perm))


def _ref_pair(num: np.ndarray, den: np.ndarray, n_boot: int, seed: int, kind: str) -> dict[str, float]:
    pair = np.column_stack([num, den])
    if pair.shape[0] == 0 or (kind == "ratio" and den.mean() == 0):
        return dict.fromkeys(KEYS, float("nan"))
    b = _ref_boot_means(pair, n_boot, np.random.default_rng(seed))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        vals = stats._f1(b[:, 0], b[:, 1]) if kind == "f1" else b[:, 0] / b[:, 1]
    vals = vals[np.isfinite(vals)]
    lo, hi = np.quantile(vals, [0.025, 0.975]) if vals.size else (np.nan, np.nan)
    mean = stats._f1(num.mean(keepdims=True), den.mean(keepdims=True))[0] if kind == "f1" else None
    mean = num.mean() / den.mean() if mean is None else mean
    return {"mean": float(mean), "ci_low": float(lo), "ci_high": float(hi)}


# ---- strategies -------------------------------------------------------------------------------------

USERS = st.sampled_from([0, 1, 2, 3, 5, 17, 40])
CHUNKS = st.sampled_from([4_000_000, 64, 7])  # 7: fewer cells than users, one replicate per chunk
SEEDS = st.integers(0, 2**32 - 1)


def _values(n: int, p: int) -> st.SearchStrategy[np.ndarray]:
    """Per-user values in [0, 1] like the metrics; sometimes on a 1/4 grid (ties, exact flips)."""
    smooth = hnp.arrays(np.float64, (n, p), elements=st.floats(0, 1))
    grid = hnp.arrays(np.float64, (n, p), elements=st.integers(0, 4).map(lambda x: x / 4))
    return st.one_of(smooth, grid)


@contextmanager
def _chunk(cells: int) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stats, "_CHUNK_CELLS", cells)
        yield


def _close(got: dict[str, float], want: dict[str, float]) -> None:
    np.testing.assert_allclose([got[k] for k in KEYS], [want[k] for k in KEYS], **TOL)


# ---- the batch against the scalar functions and the reference ---------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=USERS, p=st.integers(1, 5), n_boot=st.integers(1, 60), seed=SEEDS, cells=CHUNKS)
def test_bootstrap_cis_equal_scalar_and_reference(
    data: st.DataObject, n: int, p: int, n_boot: int, seed: int, cells: int
) -> None:
    v = data.draw(_values(n, p))
    with _chunk(cells):
        batch = StatsBatch(n_boot=n_boot, seed=seed)
        batched = [batch.ci(v[:, j]) for j in range(p)]
        batch.run()
        for j in range(p):
            _close(batched[j], bootstrap_ci(v[:, j], n_boot=n_boot, seed=seed))
            _close(batched[j], _ref_ci(v[:, j], n_boot, seed))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=USERS,
    p=st.integers(1, 4),
    n_boot=st.integers(1, 40),
    n_perm=st.integers(1, 80),
    seed=SEEDS,
    cells=CHUNKS,
)
def test_paired_deltas_equal_scalar_and_reference(
    data: st.DataObject, n: int, p: int, n_boot: int, n_perm: int, seed: int, cells: int
) -> None:
    a, b = data.draw(_values(n, p)), data.draw(_values(n, p))
    kw = {"n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    with _chunk(cells):
        batch = StatsBatch(**kw)
        batched = [batch.delta(a[:, j], b[:, j]) for j in range(p)]
        batch.run()
        for j in range(p):
            one = paired_delta(a[:, j], b[:, j], **kw)
            d = b[:, j] - a[:, j]
            _close(batched[j], one)
            _close(batched[j], _ref_ci(d, n_boot, seed))
            assert list(batched[j]) == [*KEYS, "p_value"]
            np.testing.assert_equal(batched[j]["p_value"], one["p_value"])
            np.testing.assert_equal(batched[j]["p_value"], _ref_p(d, n_perm, seed + 1))
            np.testing.assert_equal(sign_flip_p_value(d, n_perm, seed + 1), _ref_p(d, n_perm, seed + 1))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), sizes=st.lists(USERS, min_size=1, max_size=3), seed=SEEDS, cells=CHUNKS)
def test_one_batch_of_every_kind_and_size(
    data: st.DataObject, sizes: list[int], seed: int, cells: int
) -> None:
    """Mixed kinds over several user counts in one batch: each equals its own one-request call."""
    nb, npm = 30, 50
    batch, want = StatsBatch(n_boot=nb, n_perm=npm, seed=seed), []
    pairs = [data.draw(_values(n, 2)).T for n in sizes]
    with _chunk(cells):
        for x, y in pairs:
            want += [
                (batch.ci(x, n_users=x.size), bootstrap_ci(x, nb, seed), _ref_ci(x, nb, seed)),
                (
                    batch.f1_of_means(x, y),
                    bootstrap_f1_of_means(x, y, nb, seed),
                    _ref_pair(x, y, nb, seed, "f1"),
                ),
                (batch.ratio(x, y), ratio_ci(x, y, nb, seed), _ref_pair(x, y, nb, seed, "ratio")),
                (batch.delta(x, y), paired_delta(x, y, nb, npm, seed), _ref_ci(y - x, nb, seed)),
            ]
        batch.run()
    for got, one, ref in want:
        _close(got, one)
        _close(got, ref)
        if "p_value" in got:
            np.testing.assert_equal(got["p_value"], one["p_value"])
    assert want[0][0]["n_users"] == sizes[0] and list(want[0][0]) == [*KEYS, "n_users"]


def test_no_users_gives_nans_for_every_kind() -> None:
    e = np.array([])
    batch = StatsBatch(n_boot=50, n_perm=50)
    out = [batch.ci(e, n_users=0), batch.f1_of_means(e, e), batch.ratio(e, e), batch.delta(e, e)]
    batch.run()
    assert all(np.isnan(d[k]) for d in out for k in KEYS)
    assert np.isnan(out[3]["p_value"]) and out[0]["n_users"] == 0
    assert np.isnan(sign_flip_p_value(e)) and np.isnan(ratio_ci(e, e)["mean"])


def test_zero_denominator_ratio_is_nan_and_shared_columns_count_once() -> None:
    v = np.linspace(0, 1, 30)
    batch = StatsBatch(n_boot=40)
    r, c1, c2 = batch.ratio(v, np.zeros(30)), batch.ci(v), batch.ci(v)  # v stacked once
    batch.run()
    assert np.isnan(r["mean"]) and c1 == c2
    _close(c1, bootstrap_ci(v, n_boot=40))  # BLAS may round a 2-column product differently


def test_draws_match_reference_streams() -> None:
    rng = np.random.default_rng(3)
    v = rng.random((500, 3))
    with _chunk(2_000):  # 4 replicates per chunk
        got = Draws(500, 30, 45, seed=9).boot_means(v)
        want = _ref_boot_means(v, 30, np.random.default_rng(9))
        np.testing.assert_allclose(got, want, **TOL)
        d = v - 0.5
        counts = Draws(500, 0, 45, seed=9).flip_counts(d)
        assert [(1 + c) / 46 for c in counts] == [_ref_p(d[:, j], 45, 10) for j in range(3)]


def test_mismatched_pairs_raise() -> None:
    batch = StatsBatch()
    with pytest.raises(ValueError, match="same users"):
        batch.delta(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="same users"):
        batch.ratio(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="no users"):
        Draws(0, 10, 10, 0)


# ---- assemble: one batch for the section, the numbers of one call per statistic ---------------------


def test_assemble_summaries_and_deltas_equal_per_call_statistics() -> None:
    rng = np.random.default_rng(5)
    n, cfg = 120, EvalConfig(n_bootstrap=100, n_permutations=100, seed=4)
    arms = [
        SimpleNamespace(
            user={m: rng.random(n) for m in PER_USER_METRICS}, recs=rng.integers(0, 30, size=(n, 5))
        )
        for _ in range(2)
    ]
    masks = {"all": np.ones(n, bool), "cold": rng.random(n) < 0.3, "none": np.zeros(n, bool)}
    batch = StatsBatch(n_boot=100, n_perm=100, seed=4)
    s = summaries(arms[0], masks, 30, cfg, batch)  # type: ignore[arg-type]
    d = deltas(arms[0], arms[1], masks, cfg, batch)  # type: ignore[arg-type]
    batch.run()
    alone = summaries(arms[0], masks, 30, cfg)  # type: ignore[arg-type]
    for seg, m in masks.items():
        u0, u1 = arms[0].user, arms[1].user
        assert list(s[seg]) == list(alone[seg]) == [*PER_USER_METRICS, "f1_of_means", "coverage", "n_users"]
        np.testing.assert_equal(s[seg]["coverage"], alone[seg]["coverage"])  # NaN on the empty segment
        assert s[seg]["n_users"] == int(m.sum())
        _close(s[seg]["f1_of_means"], bootstrap_f1_of_means(u0["precision"][m], u0["recall"][m], 100, 4))
        for name in PER_USER_METRICS:
            _close(s[seg][name], bootstrap_ci(u0[name][m], 100, 4))
            _close(s[seg][name], alone[seg][name])
            one = paired_delta(u0[name][m], u1[name][m], 100, 100, 4)
            _close(d[seg][name], one)
            np.testing.assert_equal(d[seg][name]["p_value"], one["p_value"])
