"""`synthdata tune` end to end on both registry backends: trials recorded as registry runs, the best
trial written as a config that `synthdata run` takes unchanged, and a re-run that adds nothing."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml
from support.cli import run_cli
from support.tune_world import study_trials, tune_config

from synthdata.model.registry import backend
from synthdata.registry import Registry

STUDY = "tiny-multvae-synthetic-only"


def test_tune_records_trials_and_writes_a_config_run_takes(
    tune_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tune_config(tmp_path / "w", tune_db)
    best = tmp_path / "out" / "best.yaml"
    best.parent.mkdir()
    code, out, err = run_cli(["tune", config, "--trials", 2, "--registry", tune_db, "--out", best], capsys)
    assert code == 0, err
    assert "best trial" in out

    trials = study_trials(tune_db, STUDY)
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2
    with Registry(tune_db) as reg:
        runs = {r.name: reg.get_run(r.id) for r in reg.list_runs()}
    assert set(runs) == {f"tune:{STUDY}/trial-0", f"tune:{STUDY}/trial-1"}
    for t in trials:
        run = runs[f"tune:{STUDY}/trial-{t.number}"]
        assert run.status == "succeeded" and run.id == t.user_attrs["registry_run"]
        assert run.metrics["tune.objective"].value == pytest.approx(t.value)
        assert run.params["tune.objective"] == "synthetic-only"

    written = yaml.safe_load(best.read_text())
    space = backend("multvae").Hyper.hyperparameter_space()
    winner = max(trials, key=lambda t: t.value)
    assert written["name"] == "tiny-tuned"
    assert set(space) <= set(written["train"]["hp"])
    assert written["train"]["hp"]["latent_dim"] == winner.params["latent_dim"]
    assert written["train"]["hp"]["num_threads"] == 1  # the config's own settings are kept
    assert Path(written["source"]["path"]).is_absolute()
    assert f"best trial {winner.number}" in best.read_text()

    code, _, err = run_cli(["run", best, "--registry", tune_db, "--runs-dir", tmp_path / "runs"], capsys)
    assert code == 0, err

    code, _, err = run_cli(["tune", config, "--trials", 2, "--registry", tune_db, "--out", best], capsys)
    assert code == 0, err
    assert len(study_trials(tune_db, STUDY)) == 2  # the study already holds what was asked


def test_bad_options_exit_2_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg)
    code, _, err = run_cli(["tune", config, "--objective", "speed"], capsys)
    assert code == 2 and "unknown objective" in err
    code, _, err = run_cli(["tune", config, "--trials", 0], capsys)
    assert code == 2 and "--trials" in err
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "r.optuna.db").exists()
