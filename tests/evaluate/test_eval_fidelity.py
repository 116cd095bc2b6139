"""Fidelity metrics: equal to sdmetrics' definitions on random frames; detection and recsys figures behave."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from support.eval_world import SCHEMA, world

from synthdata.evaluate.fidelity import (
    column_scores,
    contingency_similarity,
    correlation_similarity,
    detection_auc,
    distribution_distances,
    gini,
    ks_complement,
    recsys_fidelity,
    tv_complement,
)

try:  # sdmetrics comes with the `bench` extra, which `make test` (and so CI) installs
    from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
    from sdmetrics.single_column import KSComplement, TVComplement
except ImportError:  # pragma: no cover - depends on the install
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        raise
    pytest.skip("sdmetrics (bench extra) not installed", allow_module_level=True)


def frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(rng.random(), 1 + rng.random(), n)
    df = pd.DataFrame(
        {
            "x": x,
            "y": 0.5 * x + rng.normal(0, 1, n),
            "count": rng.poisson(3, n),
            "when": pd.to_datetime(rng.integers(1_500_000_000, 1_600_000_000, n), unit="s", utc=True),
            "cat": rng.choice(list("abcde"), n, p=rng.dirichlet(np.ones(5))),
            "flag": rng.random(n) < rng.random(),
        }
    )
    df.loc[rng.random(n) < 0.05, "x"] = np.nan
    df.loc[rng.random(n) < 0.05, "cat"] = None
    return df


@pytest.mark.parametrize("seed", range(6))
def test_single_column_metrics_match_sdmetrics(seed: int) -> None:
    real, syn = frame(seed, 300), frame(seed + 100, 200)
    for col in ("x", "count", "when"):
        assert ks_complement(real[col], syn[col]) == pytest.approx(
            KSComplement.compute(real[col], syn[col]), abs=1e-9
        )
    for col in ("cat", "flag", "count"):
        assert tv_complement(real[col], syn[col]) == pytest.approx(
            TVComplement.compute(real[col], syn[col]), abs=1e-5
        )


@pytest.mark.parametrize("seed", range(6))
def test_column_pair_metrics_match_sdmetrics(seed: int) -> None:
    real, syn = frame(seed, 300), frame(seed + 100, 250)
    for a, b in (("x", "y"), ("x", "count"), ("when", "y")):
        ours = correlation_similarity(real[[a, b]], syn[[a, b]])
        assert ours == pytest.approx(CorrelationSimilarity.compute(real[[a, b]], syn[[a, b]]), abs=1e-9)
    for a, b in (("cat", "flag"), ("cat", "count")):
        ours = contingency_similarity(real[[a, b]], syn[[a, b]])
        assert ours == pytest.approx(ContingencySimilarity.compute(real[[a, b]], syn[[a, b]]), abs=1e-9)
    # numeric column discretised into 10 bins on the real range, as sdmetrics does
    r2, s2 = real[["cat", "y"]], syn[["cat", "y"]]
    ours = contingency_similarity(r2, s2, continuous=["y"])
    theirs = ContingencySimilarity.compute(r2, s2, continuous_column_names=["y"], num_discrete_bins=10)
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_identical_tables_score_one_and_shifted_tables_lower() -> None:
    df = world(seed=0)
    same = column_scores(df, df, SCHEMA)
    assert same["column_shapes"] == pytest.approx(1.0)
    assert same["column_pair_trends"] == pytest.approx(1.0)
    assert set(same["columns"]) == {"rating", "timestamp", "age", "gender", "genre"}  # ids excluded
    shifted = df.assign(rating=6 - df.rating, age=df.age + 30)
    worse = column_scores(df, shifted, SCHEMA)
    assert worse["columns"]["rating"]["score"] < 0.9 and worse["columns"]["age"]["score"] < 0.5
    assert worse["column_shapes"] < same["column_shapes"]


def test_detection_auc_separates_only_different_tables() -> None:
    df = world(n_users=150, seed=1)
    half = df.sample(frac=0.5, random_state=0)
    a, b = half, df.drop(index=half.index)  # two random halves of one table: same distribution
    same = detection_auc(a, b, SCHEMA, seed=0)
    assert 0.4 < same["detection_auc"] < 0.6
    fake = a.assign(age=np.random.default_rng(0).integers(80, 90, len(a)))
    diff = detection_auc(a, fake, SCHEMA, seed=0)
    assert diff["detection_auc"] > 0.95 and diff["detection_score"] < 0.1


def test_recsys_fidelity_distances_and_novel_pairs() -> None:
    df = world(seed=2)
    same = recsys_fidelity(df, df, SCHEMA)
    assert same["novel_pair_share"] == 0.0
    assert same["item_popularity"]["js"] == pytest.approx(0.0, abs=1e-7)
    assert same["user_coverage"] == 1.0
    uniform = df.assign(item_id=np.resize(np.sort(df.item_id.unique()), len(df)))
    skew = recsys_fidelity(df, uniform, SCHEMA)
    assert skew["item_popularity"]["js"] > 0.1
    assert skew["item_popularity"]["gini_synthetic"] < skew["item_popularity"]["gini_real"]
    assert 0 < skew["novel_pair_share"] <= 1


def test_gini_and_distances_on_known_vectors() -> None:
    assert gini(np.ones(10)) == pytest.approx(0.0)
    assert gini(np.r_[np.zeros(9), 1.0]) == pytest.approx(0.9)
    d = distribution_distances(pd.Series([1, 1, 2]), pd.Series([3, 3, 3]))
    assert d["js"] == pytest.approx(1.0)  # disjoint supports: maximal base-2 JS distance
