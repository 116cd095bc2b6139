"""A run killed (SIGKILL) during training continues with --resume from its last Lightning checkpoint;
a SIGTERM (scheduler timeout) is recorded as a failed run with exit code 143 and is resumable too."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pandas as pd
import pytest
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.registry import Registry

EPOCHS = 20
FIRST_CHECKPOINT_S = 240  # phase 1: start, ingest, split and train until last.ckpt exists
RESUME_START_S = 180  # phase 2: a fresh interpreter resumes and reaches train_start
SIGTERM_STOP_S = 120  # phase 3: the resumed run stops after SIGTERM


def _pump(stream: IO[str], q: queue.Queue[str]) -> None:
    for line in stream:
        q.put(line)


def _drain(q: queue.Queue[str]) -> list[str]:
    out = []
    while True:
        try:
            out.append(q.get_nowait())
        except queue.Empty:
            return out


def test_resume_after_kill_during_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, schema = write_source(tmp_path / "src")
    # small batches: several optimiser steps per epoch, so training outlives the first checkpoint
    cfg = tiny_config(csv, schema, train={"epochs": EPOCHS, "batch_size": 32})
    path = write_config(tmp_path / "cfg.yaml", cfg)
    registry, runs = f"sqlite:///{tmp_path / 'reg.db'}", tmp_path / "runs"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    # a subprocess, not run_cli: it is killed (SIGKILL, later SIGTERM) mid-run
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from synthdata.cli import main; main()",
            "run",
            str(path),
            "--registry",
            registry,
            "--runs-dir",
            str(runs),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Each phase has its own deadline, so a slow first phase cannot eat the time of the next one.
    deadline = time.time() + FIRST_CHECKPOINT_S
    ckpt = None
    while time.time() < deadline and proc.poll() is None:
        found = list(runs.glob("*/checkpoints/last.ckpt"))
        if found:
            ckpt = found[0]
            break
        time.sleep(0.05)
    if ckpt is None:
        state = "still running" if proc.poll() is None else f"exited {proc.poll()}"
        proc.kill()
        pytest.fail(f"phase 1 (run until the first checkpoint): none within {FIRST_CHECKPOINT_S} s ({state})")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    run_id = ckpt.parent.parent.name
    run_dir = ckpt.parent.parent
    assert not (run_dir / "model.ckpt").exists(), "training finished before the kill; raise EPOCHS"
    with Registry(registry) as reg:
        killed = reg.get_run(run_id)
    assert killed is not None and killed.status == "running"
    assert {s.name: s.status for s in killed.stages}["train"] == "running"

    # resume in a subprocess and stop it politely (SIGTERM) once training restarted
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from synthdata.cli import main; main()",
            "run",
            str(path),
            "--resume",
            run_id,
            "--registry",
            registry,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()  # read on a thread: a silent process cannot block the wait
    reader = threading.Thread(target=_pump, args=(proc.stderr, lines), daemon=True)
    reader.start()
    seen, deadline = "", time.time() + RESUME_START_S
    while "event=train_start" not in seen and time.time() < deadline:
        try:
            seen += lines.get(timeout=0.2)
        except queue.Empty:
            if proc.poll() is not None and not reader.is_alive():
                break
    if "event=train_start" not in seen:
        code = proc.poll()
        proc.kill()
        pytest.fail(
            f"phase 2 (resume until training restarts): no train_start within {RESUME_START_S} s "
            f"(exit code {code}):\n{seen[-3000:]}"
        )
    assert "resume=True" in seen, seen[-3000:]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=SIGTERM_STOP_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"phase 3 (SIGTERM during the resumed training): still running after {SIGTERM_STOP_S} s")
    reader.join(timeout=10)
    rest = "".join(_drain(lines))
    assert proc.returncode == 143, (seen + rest)[-3000:]
    assert "Traceback" not in rest and "terminated by signal" in rest
    with Registry(registry) as reg:
        stopped = reg.get_run(run_id)
    assert stopped is not None and stopped.status == "failed" and stopped.exit_code == 143
    assert "Terminated" in (stopped.error or "")
    assert {s.name: s.status for s in stopped.stages}["train"] == "failed"

    # a unique id prefix works
    code, _, err = run_cli(["run", path, "--resume", run_id[:17], "--registry", registry], capsys)
    assert code == 0, err[-3000:]
    assert "resume=True" in err
    with Registry(registry) as reg:
        done = reg.get_run(run_id)
        assert [r.id for r in reg.list_runs()] == [run_id]  # resumed in place, no new run
    assert done is not None and done.status == "succeeded" and done.exit_code == 0
    st = {s.name: s for s in done.stages}
    assert st["ingest"].status == st["split"].status == "skipped"
    assert st["ingest"].message == "up to date in this run"
    assert st["train"].status == "succeeded"
    assert (st["train"].message or "").startswith("resumed from last checkpoint")
    assert f"epochs_trained={EPOCHS}" in (st["train"].message or "")
    assert (run_dir / "synth.parquet").is_file() and (run_dir / "metrics.json").is_file()
    # Lightning's own log of the resumed fit starts after epoch 0: it continued, it did not restart
    logs = sorted((run_dir / "checkpoints" / "logs").glob("version_*/metrics.csv"))
    assert len(logs) >= 2
    assert pd.read_csv(logs[-1])["epoch"].min() >= 1
