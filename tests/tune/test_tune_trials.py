"""One trial: pruned while it trains, failed without stopping the study, mirrored to MLflow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from support.tune_world import study_trials, tune_config

import synthdata.tune.objective as objective
from synthdata.model.registry import backend
from synthdata.registry import Registry
from synthdata.tune.api import tune
from synthdata.tune.study import NoTrialCompleted


def _runs(reg: str) -> dict[str, Any]:
    with Registry(reg) as r:
        return {x.name: r.get_run(x.id) for x in r.list_runs(limit=None)}


def test_a_pruner_stops_training_at_the_first_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg, train={"epochs": 6})
    always = optuna.pruners.ThresholdPruner(lower=2.0)  # val_recall is at most 1: every report prunes
    with pytest.raises(NoTrialCompleted):
        tune(config, trials=2, registry_url=reg, pruner=always, out=tmp_path / "best.yaml")
    trials = study_trials(reg)
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert all(list(t.intermediate_values) == [0] for t in trials)  # reported once, after epoch 1
    for run in _runs(reg).values():
        assert run.status == "succeeded"
        assert run.metrics["tune.pruned"].value == 1 and run.metrics["tune.last_epoch"].value == 1
    assert not (tmp_path / "best.yaml").exists()


def test_a_failing_trial_is_recorded_and_the_study_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg)
    real, calls = objective.synthesize, []

    def flaky(*a: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("sampling diverged")
        return real(*a, **kw)

    monkeypatch.setattr(objective, "synthesize", flaky)
    res = tune(config, trials=2, registry_url=reg, out=tmp_path / "best.yaml")
    states = [t.state.name for t in study_trials(reg)]
    assert states == ["FAIL", "COMPLETE"] and res.best_number == 1
    runs = _runs(reg)
    failed = runs["tune:tiny-multvae-synthetic-only/trial-0"]
    assert failed.status == "failed" and "sampling diverged" in (failed.error or "")
    assert runs["tune:tiny-multvae-synthetic-only/trial-1"].status == "succeeded"


def test_trials_are_mirrored_to_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = tune_config(tmp_path / "w", reg)
    tune(config, trials=2, registry_url=reg, out=tmp_path / "best.yaml", mlflow_uri=uri)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("tiny")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    registry_ids = {r.id for r in _runs(reg).values()}
    assert {r.data.tags["synthdata.run_id"] for r in runs} == registry_ids
    for r in runs:
        assert r.info.status == "FINISHED"
        assert (
            "tune.objective" in r.data.metrics
            and r.data.params["tune.study"] == "tiny-multvae-synthetic-only"
        )
        curve = client.get_metric_history(r.info.run_id, "tune.val_recall")
        assert [m.step for m in curve] == [1, 2, 3, 4]  # the score the pruner saw, per epoch


def test_a_row_model_is_tuned_on_its_own_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GAN: its space, its pruning score (val_fidelity) and the fidelity objective."""
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    train = {"model": "gan", "epochs": 2, "batch_size": 200, "hp": {"num_threads": 1, "val_every": 1}}
    config = tune_config(tmp_path / "w", reg, train=train)
    res = tune(config, trials=2, objective="fidelity", registry_url=reg, out=tmp_path / "best.yaml")
    trials = study_trials(reg, "tiny-gan-fidelity")
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(0 < t.value <= 1 and list(t.intermediate_values) == [0, 1] for t in trials)
    assert set(res.best_params) == set(backend("gan").Hyper.hyperparameter_space())
    runs = _runs(reg).values()
    assert all("tune.best_val_fidelity" in r.metrics and "tune.column_shapes" in r.metrics for r in runs)
