"""README promises about every command: exit code 1 for failures that are neither bad input (2) nor a
failed gate (3), and `SYNTHDATA_LOG_LEVEL` deciding which log lines reach stderr."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli
from support.eval_world import SCHEMA, world
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.errors import SynthdataError
from synthdata.registry import Registry


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    """train/test/synth Parquet files with their schema beside them, a model file, a pipeline config."""
    df = world(n_users=20)
    for name in ("train", "test", "synth"):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
        SCHEMA.to_yaml(tmp_path / f"{name}.schema.yaml")
    (tmp_path / "model.ckpt").write_bytes(b"not read: loading is patched")
    csv, schema = write_source(tmp_path / "src")
    write_config(tmp_path / "cfg.yaml", tiny_config(csv, schema))
    return tmp_path


# (command line, the function the command reaches once its arguments are checked)
COMMANDS = {
    "ingest": (
        ["ingest", "{d}/src/interactions.csv", "--out", "{d}/c.parquet"],
        "synthdata.cli.ingest.ingest",
    ),
    "split": (
        ["split", "{d}/train.parquet", "--out-train", "{d}/a.parquet", "--out-test", "{d}/b.parquet"],
        "synthdata.cli.split.split",
    ),
    "train": (["train", "{d}/train.parquet", "--out", "{d}/m.ckpt"], "synthdata.cli.train.read_table"),
    "generate": (
        ["generate", "{d}/model.ckpt", "--rows", "5", "--out", "{d}/g.parquet"],
        "synthdata.model.synthesizer.Synthesizer.load",
    ),
    "evaluate": (
        ["evaluate", "--train", "{d}/train.parquet", "--test", "{d}/test.parquet", "--out", "{d}/m.json"],
        "synthdata.evaluate.evaluate",
    ),
    "run": (["run", "{d}/cfg.yaml", "--registry", "sqlite:///{d}/r.db"], "synthdata.cli.run.run_pipeline"),
    "runs": (["runs", "list", "--registry", "sqlite:///{d}/r.db"], "synthdata.cli.runs._open"),
    "tune": (["tune", "{d}/cfg.yaml", "--registry", "sqlite:///{d}/r.db"], "synthdata.tune.api.tune"),
}

FAILURES = {
    "other-failure": SynthdataError("the job could not finish"),  # the base class: exit code 1
    "disk-full": OSError(errno.ENOSPC, "No space left on device", "/data/out.parquet"),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_exits_1_on_a_failure_that_is_not_bad_input(
    command: str, failure: str, tables: Path, capsys, monkeypatch
) -> None:
    args, target = COMMANDS[command]
    exc = FAILURES[failure]
    reached: list[str] = []

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        reached.append(command)
        raise exc

    monkeypatch.setattr(target, boom)
    code, _, err = run_cli([a.format(d=tables) for a in args], capsys)
    assert reached == [command], err[-2000:]  # the failure came from inside the command
    assert code == 1, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err[-2000:]
    want = "No space left on device: /data/out.parquet" if failure == "disk-full" else str(exc)
    assert want in lines[0]


# Run in a fresh interpreter, not through run_cli: the process's own exit status is what is checked.
DRIVER = """
import sys
from synthdata.pipeline import stages
def broken(p, h):
    raise RuntimeError("a bug in the train stage")
stages.train = broken
from synthdata.cli import main
main(sys.argv[1:])
"""


def test_an_unexpected_exception_exits_1_and_is_recorded(tmp_path: Path) -> None:
    """A bug (no SynthdataError) in a stage: the process exits 1 and the registry says so."""
    csv, schema = write_source(tmp_path / "src")
    cfg = write_config(tmp_path / "cfg.yaml", tiny_config(csv, schema))
    reg = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["run", str(cfg), "--registry", reg, "--runs-dir", str(tmp_path / "runs")]
    r = subprocess.run(
        [sys.executable, "-c", DRIVER, *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert r.returncode == 1, r.stderr[-3000:]
    assert "a bug in the train stage" in r.stderr
    with Registry(reg) as registry:
        (run,) = registry.list_runs()
        info = registry.get_run(run.id)
    assert info is not None and info.status == "failed" and info.exit_code == 1
    assert {s.name: s.status for s in info.stages}["train"] == "failed"


@pytest.mark.parametrize(
    ("level", "shown"), [(None, True), ("INFO", True), ("WARNING", False), ("error", False)]
)
def test_log_level_decides_which_lines_reach_stderr(
    level: str | None, shown: bool, tables: Path, capsys, monkeypatch
) -> None:
    if level is None:
        monkeypatch.delenv("SYNTHDATA_LOG_LEVEL", raising=False)  # default: INFO
    else:
        monkeypatch.setenv("SYNTHDATA_LOG_LEVEL", level)
    d = tables
    code, out, err = run_cli(
        ["split", f"{d}/train.parquet", "--out-train", f"{d}/a.parquet", "--out-test", f"{d}/b.parquet"],
        capsys,
    )
    assert code == 0 and "split user-temporal" in out, err
    assert ("INFO" in err and "stage=split" in err) is shown, err
    # export sets up its own console: the level must hold there too
    code, _, err = run_cli(
        ["export", "--file", f"{d}/a.parquet", "--to", f"sqlite:///{d}/t.db", "--table", "t"], capsys
    )
    assert code == 0, err
    assert ("event=export_start" in err) is shown, err
    assert os.environ.get("SYNTHDATA_LOG_LEVEL") == level


def test_an_unknown_log_level_is_one_line_exit_2(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SYNTHDATA_LOG_LEVEL", "LOUD")
    code, _, err = run_cli(["runs", "list", "--registry", f"sqlite:///{tmp_path / 'none.db'}"], capsys)
    assert code == 2 and "SYNTHDATA_LOG_LEVEL='LOUD' is not a log level" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
