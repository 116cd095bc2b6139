"""Tuning never reads the test split: the rows the pipeline's split sends to test carry poisoned item ids,
and no table a trial fits on or is scored on holds one; the test file is never opened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from support.pipeline_world import SCHEMA, interactions
from support.tune_world import study_trials, tune_config

import synthdata.evaluate.api as evaluate_api
from synthdata.model.synthesizer import Synthesizer
from synthdata.schema import Schema
from synthdata.split import holdout_mask
from synthdata.tune.api import tune

POISON = 900_000


def poisoned_source() -> pd.DataFrame:
    """The tiny world with every row of the pipeline's test split moved to an item of its own."""
    df = interactions()
    assert not df.duplicated(["user_id", "timestamp"]).any()  # the split depends on (user, time) only
    test = holdout_mask(df, Schema.from_dict(SCHEMA), "user-temporal", 0.25, seed=0)
    df.loc[test, "item_id"] = POISON + np.arange(int(test.sum()))
    df["category"] = np.array(["a", "b", "c", "d"])[df["item_id"].to_numpy() % 4]
    return df


def _poisoned(df: pd.DataFrame) -> int:
    return int((df["item_id"] >= POISON).sum()) if "item_id" in df.columns else 0


@pytest.mark.parametrize("objective", ["synthetic-only", "augmented", "fidelity"])
def test_no_trial_sees_a_test_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, objective: str) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg, df=poisoned_source())
    seen: dict[str, list[int]] = {"fit": [], "evaluate": [], "fidelity": [], "rows": []}
    opened: list[str] = []

    fit, ev, read = Synthesizer.fit, evaluate_api.evaluate, pd.read_parquet
    import synthdata.evaluate.fidelity as fidelity

    scores = fidelity.column_scores

    def spy_fit(self: Synthesizer, df: pd.DataFrame, **kw: Any) -> Synthesizer:
        seen["fit"].append(_poisoned(df))
        seen["rows"].append(len(df))
        return fit(self, df, **kw)

    def spy_evaluate(train: pd.DataFrame, test: pd.DataFrame, *a: Any, **kw: Any) -> dict:
        seen["evaluate"] += [_poisoned(train), _poisoned(test)]
        return ev(train, test, *a, **kw)

    def spy_scores(real: pd.DataFrame, *a: Any, **kw: Any) -> dict:
        seen["fidelity"].append(_poisoned(real))
        return scores(real, *a, **kw)

    def spy_read(path: Any, *a: Any, **kw: Any) -> pd.DataFrame:
        opened.append(str(path))
        return read(path, *a, **kw)

    monkeypatch.setattr(Synthesizer, "fit", spy_fit)
    monkeypatch.setattr(evaluate_api, "evaluate", spy_evaluate)
    monkeypatch.setattr(fidelity, "column_scores", spy_scores)
    monkeypatch.setattr(pd, "read_parquet", spy_read)
    tune(config, trials=2, objective=objective, registry_url=reg, out=tmp_path / "best.yaml")

    assert len(seen["fit"]) == 2 and min(seen["rows"]) > 0  # the spies saw every trial's tables
    scored = seen["fidelity"] if objective == "fidelity" else seen["evaluate"]
    assert len(scored) == (2 if objective == "fidelity" else 4)
    assert sum(seen["fit"]) == 0 and sum(scored) == 0, seen
    assert opened and not [p for p in opened if p.endswith("test.parquet")], opened
    assert len([t for t in study_trials(reg, f"tiny-multvae-{objective}") if t.value is not None]) == 2

    # the poison is real: the pipeline's own split puts every poisoned row, and only those, in test
    cfg = yaml.safe_load(config.read_text())
    src = pd.read_csv(cfg["source"]["path"])
    test = holdout_mask(src, Schema.from_dict(SCHEMA), "user-temporal", 0.25, seed=0)
    assert (src.loc[test, "item_id"] >= POISON).all() and (src.loc[~test, "item_id"] < POISON).all()
