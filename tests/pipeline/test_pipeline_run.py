"""End-to-end pipeline runs on tiny data: artefacts + registry, skipping by hash, compare, gates, warm start.

The workspace (registry, runs folder, source) is shared by the tests in this module so later runs can
reuse earlier stages, which keeps the module fast; each test still asserts only on runs it started.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.export import read_table
from synthdata.registry import Registry, RunInfo

STAGES = ["ingest", "split", "train", "generate", "evaluate", "gate", "export"]


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("pipeline")
    csv, schema = write_source(d / "src")
    return SimpleNamespace(
        dir=d,
        csv=csv,
        schema=schema,
        registry=f"sqlite:///{d / 'registry.db'}",
        runs=d / "runs",
        target=f"sqlite:///{d / 'target.db'}",
    )


def start(ws: SimpleNamespace, cfg: dict, name: str, capsys, *extra: str) -> tuple[int, RunInfo, str, str]:
    path = write_config(ws.dir / f"{name}.yaml", cfg)
    code, out, err = run_cli(
        ["run", str(path), "--registry", ws.registry, "--runs-dir", str(ws.runs), *extra], capsys
    )
    m = re.search(r"run=(\d{8}T\d{6}-[0-9a-f]{6})", err)
    assert m, err[-3000:]
    with Registry(ws.registry) as reg:
        info = reg.get_run(m.group(1))
    assert info is not None
    return code, info, out, err


def stages(info: RunInfo) -> dict[str, str]:
    return {s.name: s.status for s in info.stages}


def test_run_records_everything_then_rerun_skips_and_compare(ws, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    cfg_a = tiny_config(
        ws.csv,
        ws.schema,
        export={"enabled": True, "url": ws.target, "table": "synth", "if_exists": "replace"},
    )
    code, a, out, err = start(ws, cfg_a, "a", capsys)
    assert code == 0, err[-3000:]
    assert a.status == "succeeded" and a.exit_code == 0
    assert stages(a) == dict.fromkeys(STAGES, "succeeded")
    rd = Path(a.run_dir or "")
    for f in (
        "clean.parquet",
        "rejects.parquet",
        "ingest_report.json",
        "train.parquet",
        "test.parquet",
        "model.ckpt",
        "synth.parquet",
        "metrics.json",
        "report.html",
        "run.log",
        "manifest.json",
    ):
        assert (rd / f).is_file(), f
    assert (rd / "checkpoints" / "last.ckpt").is_file()
    assert a.artefacts["synth"].sha256 == sha(rd / "synth.parquet")
    assert "privacy.exact_copy_rate" in a.metrics and a.params["train.epochs"] == 2
    assert "recsys.delta.cold.recall.mean" in a.metrics
    synth = pd.read_parquet(rd / "synth.parquet")
    assert len(read_table(ws.target, "synth")) == len(synth) > 0
    log = (rd / "run.log").read_text()
    assert "event=stage_done" in log and "stage=export" in log and "event=run_end" in log
    assert "task=train epoch=1 total=2" in log  # unattended (no terminal): plain progress lines, not a bar
    assert "Recommender quality" in out

    # same config again: every file-producing stage after ingest is reused from run a, bit for bit
    code, a2, _, _ = start(ws, cfg_a, "a", capsys)
    assert code == 0 and a2.id != a.id
    st = {s.name: s for s in a2.stages}
    for name in ("ingest", "split", "train", "generate", "evaluate"):
        assert st[name].status == "skipped" and st[name].reused_from == a.id, name
    assert st["gate"].status == "succeeded" and st["export"].status == "succeeded"
    assert sha(Path(a2.run_dir or "") / "synth.parquet") == sha(rd / "synth.parquet")

    # a different generate budget: train is reused, generate and evaluate rerun
    cfg_b = tiny_config(ws.csv, ws.schema, generate={"multiplier": 1.0})
    code, b, _, _ = start(ws, cfg_b, "b", capsys)
    assert code == 0
    st = {s.name: s for s in b.stages}
    assert st["train"].status == "skipped" and st["generate"].status == "succeeded"
    assert st["export"].status == "skipped" and st["export"].message == "export disabled in config"
    assert len(pd.read_parquet(Path(b.run_dir or "") / "synth.parquet")) > len(synth)

    html = ws.dir / "compare.html"
    code, out, _ = run_cli(
        ["runs", "compare", a.id, b.id, "--html", str(html), "--registry", ws.registry], capsys
    )
    assert code == 0
    assert "generate.multiplier" in out and "export.enabled" in out
    # the metric that differs is shown with both runs' values and the delta between them
    n_a, n_b = len(synth), len(pd.read_parquet(Path(b.run_dir or "") / "synth.parquet"))
    (row,) = [line for line in out.splitlines() if "data.synthetic_rows " in line]
    assert re.search(rf"\b{n_a}\b.*\b{n_b}\b.*\+{n_b - n_a}\b", row), row
    doc = html.read_text()
    assert a.id in doc and b.id in doc and doc.count("data:image/png;base64,") == 2
    code, out, _ = run_cli(["runs", "list", "--registry", ws.registry], capsys)
    assert code == 0 and a.id in out and b.id in out


def test_same_data_config_seed_same_synthetic_rows(ws, capsys, tmp_path) -> None:
    """Determinism on CPU: a fresh registry (no reuse possible) reproduces the same synthetic table."""
    cfg = tiny_config(ws.csv, ws.schema)
    outs = []
    for i in range(2):
        path = write_config(tmp_path / f"c{i}.yaml", cfg)
        code, _, err = run_cli(
            [
                "run",
                str(path),
                "--registry",
                f"sqlite:///{tmp_path / f'r{i}.db'}",
                "--runs-dir",
                str(tmp_path / f"runs{i}"),
            ],
            capsys,
        )
        assert code == 0, err[-2000:]
        (synth,) = (tmp_path / f"runs{i}").glob("*/synth.parquet")
        outs.append(pd.read_parquet(synth))
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_failing_gate_exits_3_and_skips_export(ws, capsys) -> None:
    target = f"sqlite:///{ws.dir / 'gated.db'}"
    cfg = tiny_config(
        ws.csv,
        ws.schema,
        gates=[{"name": "impossible", "metric": "privacy.exact_copy_rate", "op": "<", "value": -1}],
        export={"enabled": True, "url": target, "table": "must_not_exist"},
    )
    code, info, out, err = start(ws, cfg, "gated", capsys)
    assert code == 3, err[-2000:]
    assert "quality gate failed" in err and "FAIL impossible" in out
    assert info.status == "gate_failed" and info.exit_code == 3
    st = {s.name: s for s in info.stages}
    assert st["gate"].status == "succeeded" and "FAIL impossible" in (st["gate"].message or "")
    assert st["export"].status == "skipped" and st["export"].message == "gate failed"
    eng = sa.create_engine(target)
    assert "must_not_exist" not in sa.inspect(eng).get_table_names()
    eng.dispose()


def test_warm_start_fine_tunes_previous_model(ws, capsys) -> None:
    cfg = tiny_config(ws.csv, ws.schema)
    code, base, _, _ = start(ws, cfg, "base", capsys)
    assert code == 0
    code, warm, _, err = start(ws, cfg, "warm", capsys, "--warm-start", base.id)
    assert code == 0, err[-2000:]
    st = {s.name: s for s in warm.stages}
    assert st["train"].status == "succeeded" and f"warm-started from {base.id}" in (st["train"].message or "")
    assert st["split"].status == "skipped" and warm.warm_start_from == base.id
    assert "event=warm_start" in err
    code, _, err = run_cli(
        ["run", str(ws.dir / "warm.yaml"), "--registry", ws.registry, "--warm-start", "nope"], capsys
    )
    assert code == 2 and "cannot warm-start" in err


def _reject_constant(c: str) -> None:
    pytest.fail(f"non-strict JSON constant {c} in metrics.json")


def test_metrics_json_is_strict_json(ws) -> None:
    files = list(ws.runs.glob("*/metrics.json"))
    assert files
    for p in files:
        json.loads(p.read_text(), parse_constant=_reject_constant)


def test_demo_command_runs_a_pipeline_and_prints_the_table(ws, capsys, monkeypatch) -> None:
    """`synthdata demo --config` wiring (the shipped demo.yaml is validated in test_pipeline_config)."""
    monkeypatch.setenv("COLUMNS", "200")
    path = write_config(ws.dir / "demo.yaml", tiny_config(ws.csv, ws.schema))
    code, out, err = run_cli(
        ["demo", "--config", str(path), "--registry", ws.registry, "--runs-dir", str(ws.runs)], capsys
    )
    assert code == 0, err[-2000:]
    assert "Recommender quality" in out and "augmented" in out and "demo sample:" in out
    assert "PASS no-copies" in out
    assert "verdict: all=" in out and "ctl.popularity" in out and "ctl.shuffled" in out


def test_shipped_demo_pipeline_end_to_end(tmp_path: Path, capsys, monkeypatch) -> None:
    """`make demo` as users run it: the shipped pipelines/demo.yaml on the bundled sample."""
    monkeypatch.chdir(tmp_path)  # the demo writes ./runs and ./synthdata.db relative to the cwd
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = run_cli(["demo"], capsys)
    assert code == 0, err[-3000:]
    assert "PASS cold-recall-not-worse" in out and "PASS few-exact-copies" in out
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    rep = json.loads((run_dir / "ingest_report.json").read_text())
    assert rep["rows_in"] == rep["rows_kept"] + rep["rows_rejected"] + rep["rows_merged"]
    assert rep["rejected_by_reason"] and rep["rows_merged"] > 0  # the planted dirty rows are caught
    synth = pd.read_parquet(run_dir / "synth.parquet")
    assert (synth["first_ts"] <= synth["last_ts"]).all()
    exported = read_table(f"sqlite:///{tmp_path / 'runs' / 'demo_export.db'}", "synthetic_interactions")
    assert len(exported) == len(synth)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["recsys"]["real"]["all"]["n_users"] > 1000
    # the verdict and the negative controls are printed; one seed never says helps
    assert "PASS cold-not-hurt" in out and "verdict: all=" in out and "needs ≥ 3" in out
    assert all(f"ctl.{c}" in out for c in ("popularity", "uniform", "shuffled"))
    rec = metrics["recsys"]
    assert set(rec["control"]) == {"popularity", "uniform", "shuffled"} and "synthetic_only" in rec
    assert "helps" not in rec["verdict"].values()
    assert metrics["data"]["tuning_synthetic"].startswith("val_synthetic")  # leak-free tuning by default
    assert metrics["data"]["validation_protocol"] == "user-temporal"  # the pipeline's split protocol


def test_default_gates_fail_a_model_that_replays_training_rows(ws, capsys, monkeypatch, tmp_path) -> None:
    """The helpers' default gates can fail: a "model" whose output is its training table is stopped at
    the no-copies gate (exit 3, export skipped) while the same gates pass every honest tiny run above."""
    import shutil

    from synthdata.pipeline import stages

    def replay(p):  # type: ignore[no-untyped-def]
        shutil.copyfile(p.path("train"), p.out("synth"))
        return ["synth"], "replayed the training table"

    monkeypatch.setattr(stages, "generate", replay)
    target = f"sqlite:///{tmp_path / 'leak.db'}"
    cfg = tiny_config(ws.csv, ws.schema, export={"enabled": True, "url": target, "table": "leak"})
    path = write_config(tmp_path / "leak.yaml", cfg)
    code, out, err = run_cli(
        ["run", str(path), "--registry", f"sqlite:///{tmp_path / 'r.db'}", "--runs-dir", str(tmp_path)],
        capsys,
    )
    assert code == 3, err[-2000:]
    assert "FAIL no-copies (actual 1)" in out, out[-2000:]
    assert "PASS column-shapes" in out  # the rows are real ones: their columns are shaped right
    eng = sa.create_engine(target)
    assert "leak" not in sa.inspect(eng).get_table_names()
    eng.dispose()


def test_a_corrupted_earlier_output_is_recomputed_not_linked(ws, capsys) -> None:
    """Reuse verifies sha256: when the only earlier copy of a stage's output was altered on disk, the
    stage runs again (a new file with the right content), it is not hard-linked to the bad one."""
    cfg = tiny_config(ws.csv, ws.schema)
    code, first, _, err = start(ws, cfg, "corrupt_a", capsys)
    assert code == 0, err[-2000:]
    bad = Path(first.run_dir or "") / "train.parquet"
    good_sha = first.artefacts["train"].sha256
    assert sha(bad) == good_sha
    with bad.open("ab") as f:  # in place: every run whose train.parquet is this inode is corrupted
        f.write(b"garbage")
    code, again, _, err = start(ws, cfg, "corrupt_b", capsys)
    assert code == 0, err[-2000:]
    st = {s.name: s for s in again.stages}
    assert st["split"].status == "succeeded" and st["split"].reused_from is None, st["split"]
    new = Path(again.run_dir or "") / "train.parquet"
    assert not new.samefile(bad) and sha(new) == good_sha == again.artefacts["train"].sha256
    assert st["train"].status == "skipped"  # its input (train.parquet's sha) is unchanged: reused
