"""Bootstrap CIs and the paired augmented − real test."""

from __future__ import annotations

import numpy as np
import pytest

from synthdata.evaluate.stats import bootstrap_ci, bootstrap_f1_of_means, paired_delta, sign_flip_p_value


def test_ci_covers_true_mean_at_about_nominal_rate() -> None:
    rng = np.random.default_rng(0)
    covered = 0
    for rep in range(200):
        v = rng.exponential(1.0, 150)  # true mean 1, skewed like per-user recall
        ci = bootstrap_ci(v, n_boot=400, seed=rep)
        covered += ci["ci_low"] <= 1.0 <= ci["ci_high"]
        assert ci["ci_low"] <= ci["mean"] <= ci["ci_high"]
    assert 0.88 <= covered / 200 <= 0.99


def test_ci_narrows_with_more_users() -> None:
    rng = np.random.default_rng(1)
    small = bootstrap_ci(rng.random(50), seed=0)
    large = bootstrap_ci(rng.random(5000), seed=0)
    width = lambda c: c["ci_high"] - c["ci_low"]  # noqa: E731
    assert width(large) < width(small) / 5  # ≈ √100 = 10× narrower


def test_ci_is_seeded_and_handles_empty() -> None:
    v = np.random.default_rng(2).random(100)
    assert bootstrap_ci(v, seed=3) == bootstrap_ci(v, seed=3)
    assert np.isnan(bootstrap_ci(np.array([]))["mean"])


def test_paired_delta_sign_and_significance() -> None:
    rng = np.random.default_rng(3)
    real = rng.random(400)
    better = paired_delta(real, real + 0.05 + rng.normal(0, 0.02, 400), seed=0)
    worse = paired_delta(real, real - 0.05 + rng.normal(0, 0.02, 400), seed=0)
    assert better["mean"] > 0 and better["ci_low"] > 0 and better["p_value"] < 0.01
    assert worse["mean"] < 0 and worse["ci_high"] < 0 and worse["p_value"] < 0.01


def test_paired_delta_detects_what_unpaired_cis_miss() -> None:
    # Large between-user spread, small consistent gain: marginal CIs overlap, the paired CI excludes 0.
    rng = np.random.default_rng(4)
    real = rng.random(300)
    aug = real + 0.01
    a, b = bootstrap_ci(real, seed=0), bootstrap_ci(aug, seed=0)
    assert a["ci_high"] > b["ci_low"]
    d = paired_delta(real, aug, seed=0)
    assert d["ci_low"] > 0 and d["p_value"] < 0.01


def test_null_difference_has_large_p_value() -> None:
    rng = np.random.default_rng(5)
    pvals = np.array([sign_flip_p_value(rng.normal(0, 1, 200), n_perm=500, seed=s) for s in range(60)])
    # Under the null p is ~uniform on (0, 1): mean ≈ 0.5 and about 5% below 0.05.
    assert 0.35 < pvals.mean() < 0.65
    assert np.mean(pvals < 0.05) <= 0.15


def test_paired_arrays_must_match() -> None:
    with pytest.raises(ValueError):
        paired_delta(np.zeros(3), np.zeros(4))


def test_f1_of_means_ci() -> None:
    rng = np.random.default_rng(6)
    p, r = rng.random(300) * 0.3, rng.random(300)
    ci = bootstrap_f1_of_means(p, r, seed=0)
    assert ci["mean"] == pytest.approx(2 * p.mean() * r.mean() / (p.mean() + r.mean()))
    assert ci["ci_low"] < ci["mean"] < ci["ci_high"]
