"""A study killed with SIGKILL after its first completed trial resumes: the completed trials are kept
and a re-run reaches the requested count."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.cli import run_cli
from support.tune_world import study_trials, tune_config

from synthdata.registry import Registry

TRIALS = 4


def _count(db: Path, sql: str) -> int:
    """A count read while another process writes the file; 0 before its tables exist."""
    if not db.exists():
        return 0
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        con.close()


def _completed(db: Path) -> int:
    return _count(db, "select count(*) from trials where state = 'COMPLETE'")


def test_killed_study_resumes_with_its_completed_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg, train={"epochs": 20})  # slower trials: a kill lands mid-study
    cmd = [sys.executable, "-c", "from synthdata.cli import main; main()", "tune", str(config)]
    cmd += ["--trials", str(TRIALS), "--registry", reg]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}  # a SIGKILL leaves scratch
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _completed(tmp_path / "r.optuna.db") < 1:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert time.monotonic() < deadline, "no trial completed in time"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.number: t.value for t in study_trials(reg) if t.value is not None}
    assert 1 <= len(before) < TRIALS

    code, _, err = run_cli(["tune", config, "--trials", TRIALS, "--registry", reg], capsys)
    assert code == 0, err
    after = study_trials(reg)
    finished = [t for t in after if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) >= TRIALS
    assert {n: v for n, v in ((t.number, t.value) for t in after) if n in before} == before
    with Registry(reg) as r:
        names = [x.name for x in r.list_runs(limit=None)]
    assert all(f"tune:tiny-multvae-synthetic-only/trial-{n}" in names for n in before)


def test_two_workers_share_one_study(tune_db: str, tmp_path: Path) -> None:
    """Two processes started together on one study: each trial runs once, the study reaches the count."""
    config = tune_config(tmp_path / "w", tune_db)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}  # a SIGKILL leaves scratch
    procs = []
    for seed in (1, 2):
        cmd = [sys.executable, "-c", "from synthdata.cli import main; main()", "tune", str(config)]
        cmd += ["--trials", str(TRIALS), "--registry", tune_db, "--sampler-seed", str(seed)]
        cmd += ["--out", str(tmp_path / f"best{seed}.yaml")]
        procs.append(
            subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        )
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-3000:]
    trials = study_trials(tune_db)
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert TRIALS <= len(finished) <= TRIALS + 1  # a worker finishes the trial it is in
    with Registry(tune_db) as r:
        recorded = {x.id for x in r.list_runs(limit=None)}
    assert {t.user_attrs["registry_run"] for t in trials} == recorded


def _running_runs(db: Path) -> int:
    return _count(db, "select count(*) from runs where status = 'running'")


def test_sigterm_fails_the_running_trial_and_a_rerun_tries_its_settings_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    config = tune_config(tmp_path / "w", reg, train={"epochs": 400})
    cmd = [
        sys.executable,
        "-c",
        "from synthdata.cli import main; main()",
        "tune",
        str(config),
        "--trials",
        "2",
    ]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": str(tmp_path)}  # a SIGKILL leaves scratch
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _running_runs(tmp_path / "r.db") < 1:  # the first trial (the config's settings) is training
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()[-2000:]
    assert "run the same command again" in err.decode()
    (first,) = study_trials(reg)
    assert first.state.name == "FAIL"
    with Registry(reg) as r:
        (run,) = [r.get_run(x.id) for x in r.list_runs()]
    assert run.status == "failed" and run.exit_code == 143

    code, _, err = run_cli(["tune", config, "--trials", 1, "--registry", reg, "--timeout", 3], capsys)
    assert code == 0, err
    retried = study_trials(reg)[1]
    assert retried.state.name == "COMPLETE" and retried.params == first.params
