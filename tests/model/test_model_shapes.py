"""Training's model selection and evaluate's reported fidelity score column shapes with one
implementation (synthdata.shapes); before, they disagreed on missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.gan_world import SCHEMA, make_table

from synthdata.evaluate import fidelity
from synthdata.shapes import column_shapes, shape_score


def test_fidelity_reports_the_scores_training_selects_on() -> None:
    real, synth = make_table(seed=0), make_table(seed=1)
    synth.loc[synth.index[:300], "price_paid"] = np.nan  # more missing values than the real table
    scores = fidelity.column_scores(real, synth, SCHEMA, max_rows=10**9)
    numeric, categorical = fidelity.split_columns(SCHEMA, real, synth)
    assert "price_paid" in numeric
    mine = column_shapes(real, synth, numeric + categorical)
    for c in numeric + categorical:
        assert scores["columns"][c]["score"] == pytest.approx(mine[c]), c
    assert scores["column_shapes"] == pytest.approx(np.nanmean(list(mine.values())))


def test_missing_values_are_dropped_not_scored_as_a_category() -> None:
    real = pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan], "c": ["a", "b", None, None]})
    synth = pd.DataFrame({"x": [1.0, 2.0, 3.0, 3.0], "c": ["a", "b", "a", "b"]})
    s = column_shapes(real, synth)
    assert s["c"] == pytest.approx(1.0)  # same frequencies once missing values are dropped
    assert s["x"] == pytest.approx(1 - (2 / 3 - 2 / 4))  # KS on the observed values only
    empty = pd.DataFrame({"x": [np.nan, np.nan]})
    assert np.isnan(column_shapes(empty, synth[["x"]])["x"])
    assert shape_score(empty, synth[["x"]]) == 0.0
