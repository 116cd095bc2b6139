"""No run touches another: a resumed run whose reused (hard-linked) stages re-run never changes the
files of the runs they were linked from, and a failed re-run leaves no stale or partial outputs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from support.pipeline_world import tiny_config, write_source

from synthdata.pipeline import parse_config, run_pipeline


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "run.log"  # run.log belongs to the run; it is never linked
    }


def test_resumed_run_never_changes_files_of_the_run_it_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv, schema = write_source(tmp_path / "src")
    reg, runs = f"sqlite:///{tmp_path / 'reg.db'}", tmp_path / "runs"
    base = tiny_config(csv, schema)
    a = run_pipeline(parse_config(base), registry_url=reg, runs_dir=runs)
    before = snapshot(a.run_dir)

    b = run_pipeline(parse_config(base), registry_url=reg, runs_dir=runs)  # every stage reused
    assert {n: r.reused_from for n, r in b.stages.items() if n != "gate" and n != "export"} == {
        n: a.run_id for n in ("ingest", "split", "train", "generate", "evaluate")
    }
    shared = [p for p in b.run_dir.iterdir() if p.is_file() and os.stat(p).st_nlink > 1]
    assert {p.name for p in shared} >= {"synth.parquet", "metrics.json", "report.html", "model.ckpt"}

    # edit the config and resume B: generate and evaluate re-run inside B
    edited = tiny_config(csv, schema, generate={"multiplier": 0.3}, evaluate={"k": 3})
    b2 = run_pipeline(parse_config(edited), registry_url=reg, resume=b.run_id)
    assert b2.stages["generate"].status == "succeeded" and b2.stages["evaluate"].status == "succeeded"
    assert snapshot(a.run_dir) == before, "resuming run B changed files of run A"
    assert (b.run_dir / "synth.parquet").read_bytes() != (a.run_dir / "synth.parquet").read_bytes()
    assert os.stat(b.run_dir / "synth.parquet").st_ino != os.stat(a.run_dir / "synth.parquet").st_ino

    # a re-run that dies half-way: A untouched, B keeps no stale metrics and no staging folder
    from synthdata.pipeline import stages as stage_bodies
    from synthdata.pipeline.cache import STAGING_PREFIX

    b3_cfg = tiny_config(csv, schema, generate={"multiplier": 0.3}, evaluate={"k": 4})
    real = stage_bodies.evaluate

    def dies(p):  # type: ignore[no-untyped-def]
        p.out("metrics").write_text("{half")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(stage_bodies, "evaluate", dies)
    with pytest.raises(RuntimeError):
        run_pipeline(parse_config(b3_cfg), registry_url=reg, resume=b.run_id)
    monkeypatch.setattr(stage_bodies, "evaluate", real)
    assert snapshot(a.run_dir) == before
    assert not (b.run_dir / "metrics.json").exists()  # the old config's metrics are not left looking current
    assert not list(b.run_dir.glob(f"{STAGING_PREFIX}*"))
