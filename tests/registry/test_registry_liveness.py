"""A killed run shows as `stale`, not `running` forever; `run --resume` takes a stale run over and
refuses a live one (pid/host + heartbeat, migration 0002, on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_source

from synthdata.db import create_engine
from synthdata.pipeline import parse_config, run_pipeline
from synthdata.registry import STALE, Registry, RunBusy, migrate
from synthdata.registry.liveness import HOST, Heartbeat
from synthdata.registry.models import Run


def _set(url: str, run_id: str, **values: object) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(sa.update(Run.__table__).where(Run.__table__.c.id == run_id).values(**values))
    eng.dispose()


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_migration_0002_upgrades_old_registries_keeping_rows(db_url: str) -> None:
    eng = create_engine(db_url)
    migrate.upgrade(eng, "0001")
    with eng.begin() as c:
        c.execute(
            sa.text("INSERT INTO runs (id, status, created_at) VALUES ('old', 'running', :t)"),
            {"t": datetime.now(UTC) - timedelta(days=2)},
        )
    eng.dispose()
    with Registry(db_url) as reg:  # opening upgrades to head
        assert migrate.current_revision(reg.engine) == migrate.head_revision()  # 0002 and every later one
        old = reg.get_run("old")
        assert old is not None and old.pid is None and old.shown_status == STALE  # silent for 2 days
        migrate.downgrade(reg.engine, "0001")
        assert "pid" not in {c["name"] for c in sa.inspect(reg.engine).get_columns("runs")}
        migrate.upgrade(reg.engine)
        assert reg.get_run("old") is not None


def test_dead_pid_or_silent_heartbeat_is_stale(db_url: str) -> None:
    with Registry(db_url) as reg:
        reg.create_run("alive")
        reg.create_run("killed")
        reg.create_run("other-host-silent")
        reg.create_run("other-host-beating")
        reg.create_run("done")
        reg.finish_run("done", "succeeded", exit_code=0)
        _set(db_url, "killed", pid=_dead_pid())
        old = datetime.now(UTC) - timedelta(hours=1)
        _set(db_url, "other-host-silent", host="elsewhere", pid=1, heartbeat_at=old)
        _set(db_url, "other-host-beating", host="elsewhere", pid=1, heartbeat_at=datetime.now(UTC))
        shown = {r.id: r.shown_status for r in reg.list_runs()}
        assert shown == {
            "alive": "running",
            "killed": STALE,
            "other-host-silent": STALE,
            "other-host-beating": "running",
            "done": "succeeded",
        }
        assert {r.id for r in reg.list_runs(status=STALE)} == {"killed", "other-host-silent"}
        assert {r.id for r in reg.list_runs(status="running")} == {"alive", "other-host-beating"}
        assert reg.get_run("killed").status == "running"  # stored status untouched: stale is derived


def test_runs_list_cli_shows_stale(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    with Registry(sqlite_url) as reg:
        reg.create_run("killed-run")
    _set(sqlite_url, "killed-run", pid=_dead_pid())
    code, out, _ = run_cli(["runs", "list", "--registry", sqlite_url], capsys)
    assert code == 0
    line = next(ln for ln in out.splitlines() if "killed-run" in ln)
    assert " stale " in line and "running" not in line


def test_claim_takes_over_stale_runs_once_and_refuses_live_ones(db_url: str) -> None:
    with Registry(db_url) as reg:
        reg.create_run("live")
        with pytest.raises(RunBusy, match=f"still running \\(pid {os.getpid()} on {HOST}"):
            reg.claim_run("live")
        reg.create_run("stale")
        dead = _dead_pid()
        _set(db_url, "stale", pid=dead)
        # another process takes it over between our read and our update: the compare-and-swap loses
        real_get = reg.get_run
        calls = []

        def racing_get(rid: str):  # type: ignore[no-untyped-def]
            info = real_get(rid)
            if not calls:
                _set(db_url, rid, pid=_dead_pid() + 100_000, host="rival-host")
            calls.append(rid)
            return info

        reg.get_run = racing_get  # type: ignore[method-assign]
        with pytest.raises(RunBusy, match="taken over by another process"):
            reg.claim_run("stale")
        reg.get_run = real_get  # type: ignore[method-assign]
        _set(db_url, "stale", pid=dead, host=HOST)
        taken = reg.claim_run("stale")
        assert (taken.pid, taken.host, taken.shown_status) == (os.getpid(), HOST, "running")
        reg.finish_run("stale", "failed", exit_code=1)
        assert reg.claim_run("stale").status == "running"  # ended runs are resumable as before


def test_heartbeat_thread_refreshes_only_runs_it_owns(sqlite_url: str) -> None:
    with Registry(sqlite_url) as reg:
        reg.create_run("mine")
        reg.create_run("theirs")
        long_ago = datetime.now(UTC) - timedelta(hours=2)
        _set(sqlite_url, "mine", heartbeat_at=long_ago)
        _set(sqlite_url, "theirs", heartbeat_at=long_ago, pid=1, host="elsewhere")
        with Heartbeat(lambda: (reg.heartbeat("mine"), reg.heartbeat("theirs")), interval_s=0.05).running():
            import time

            deadline = time.time() + 10
            while time.time() < deadline and reg.get_run("mine").liveness.age_s() > 60:
                time.sleep(0.05)
        assert reg.get_run("mine").liveness.age_s() < 60
        assert reg.get_run("theirs").liveness.age_s() > 3600


def test_run_resume_refuses_a_live_run_before_writing_anything(tmp_path: Path) -> None:
    csv, schema = write_source(tmp_path / "src")
    cfg = parse_config(tiny_config(csv, schema))
    reg_url = f"sqlite:///{tmp_path / 'reg.db'}"
    run_dir = tmp_path / "runs" / "r-live"
    run_dir.mkdir(parents=True)
    with Registry(reg_url) as reg:
        reg.create_run("r-live", run_dir=str(run_dir))  # "running" in this (alive) process
    with pytest.raises(RunBusy, match="still running"):
        run_pipeline(cfg, registry_url=reg_url, resume="r-live")
    assert list(run_dir.iterdir()) == []  # no run.log, no manifest: nothing written
