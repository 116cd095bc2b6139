"""The contract schedulers rely on (docs/scheduling.md, pipelines/examples/): `--run-date`, one JSON
summary line on stdout with `--json`, exit codes, and `--skip-unchanged` on a re-run of the same date.

Two full pipeline runs (the tiny world) carry the module; every other run here is cut short (a gate
failure on reused stages, a failure at ingest, a stub where the run would start).
"""

from __future__ import annotations

import ast
import json
import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.cli.app import app
from synthdata.cli.summary import CONTRACT
from synthdata.errors import EXIT_SKIPPED, SynthdataError
from synthdata.pipeline import load_config
from synthdata.pipeline.lifecycle import Pipeline
from synthdata.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "pipelines" / "examples"
DAY = "2026-12-01"
FIELDS = {
    "contract", "run_id", "status", "exit_code", "name", "run_date", "config_hash", "source_fingerprint",
    "run_dir", "verdict", "gates", "outputs", "export", "error", "seconds",
}  # fmt: skip


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("sched")
    csv, schema = write_source(d / "src")
    cfg = write_config(d / "daily.yaml", tiny_config(csv, schema, name="daily"))
    return SimpleNamespace(
        dir=d, csv=csv, schema=schema, cfg=cfg, registry=f"sqlite:///{d / 'r.db'}", runs=d / "runs"
    )


def sched(ws: SimpleNamespace, capsys, *extra: object, cfg: Path | None = None) -> tuple[int, dict, str]:
    """`synthdata run CFG --json` as a scheduler calls it: (exit code, the summary, stderr)."""
    args = ["run", cfg or ws.cfg, "--json", "--registry", ws.registry, "--runs-dir", ws.runs, *extra]
    code, out, err = run_cli(args, capsys)
    lines = out.splitlines()
    assert len(lines) == 1, f"stdout must be exactly one JSON line, got {out[:2000]!r}\n{err[-3000:]}"
    doc = json.loads(lines[0])
    assert set(doc) == FIELDS and doc["contract"] == CONTRACT and doc["exit_code"] == code, doc
    return code, doc, err


def run_dirs(ws: SimpleNamespace) -> set[str]:
    return {p.name for p in ws.runs.iterdir()} if ws.runs.is_dir() else set()


def test_same_date_is_skipped_until_the_source_or_config_changes(ws, capsys) -> None:
    code, a, err = sched(ws, capsys, "--run-date", DAY, "--skip-unchanged")
    assert code == 0, err[-3000:]
    assert a["status"] == "succeeded" and a["run_date"] == DAY and a["name"] == "daily" and a["error"] is None
    assert f"run {a['run_id']} (succeeded)" in err and "event=run_end" in err  # tables and logs: stderr
    assert Path(a["run_dir"]).name == a["run_id"]
    for name in ("clean", "model", "synth", "metrics", "report"):
        assert Path(a["outputs"][name]).is_file() and Path(a["outputs"][name]).parent == Path(a["run_dir"])
    assert [(g["name"], g["passed"]) for g in a["gates"]] == [("no-copies", True), ("column-shapes", True)]
    assert isinstance(a["verdict"], dict) and a["verdict"], a["verdict"]
    with Registry(ws.registry) as reg:
        info = reg.get_run(a["run_id"])
    assert info is not None and info.status == "succeeded" and info.run_date == date(2026, 12, 1)
    assert (info.config_hash, info.source_fingerprint) == (a["config_hash"], a["source_fingerprint"])
    assert len(a["source_fingerprint"]) == 64
    code, out, _ = run_cli(["runs", "list", "--run-date", DAY, "--registry", ws.registry], capsys)
    assert code == 0 and a["run_id"] in out and DAY in out
    code, out, _ = run_cli(["runs", "list", "--run-date", "2026-12-02", "--registry", ws.registry], capsys)
    assert code == 0 and a["run_id"] not in out
    code, out, _ = run_cli(["runs", "show", a["run_id"], "--registry", ws.registry], capsys)
    assert code == 0 and f"run_date={DAY}" in out

    # the same date again: nothing to do, the earlier run named, no new run or run folder
    before = run_dirs(ws)
    summary_file = ws.dir / "summary.json"
    code, b, err = sched(ws, capsys, "--run-date", DAY, "--skip-unchanged", "--summary-file", summary_file)
    assert code == EXIT_SKIPPED == 4, err[-3000:]
    assert b["status"] == "skipped" and b["run_id"] == a["run_id"] and b["outputs"] == a["outputs"]
    assert b["gates"] == a["gates"] and b["source_fingerprint"] == a["source_fingerprint"]
    assert json.loads(summary_file.read_text()) == b  # --summary-file: the same object, for Dagster Pipes
    assert run_dirs(ws) == before and f"same_as={a['run_id']}" in err
    with Registry(ws.registry) as reg:
        assert [r.id for r in reg.list_runs(run_date=date(2026, 12, 1))] == [a["run_id"]]

    # a changed config (a gate nobody passes) runs again: every stage is reused, the gate fails, exit 3
    strict = tiny_config(ws.csv, ws.schema, name="daily")
    strict["gates"].append({"name": "impossible", "metric": "fidelity.column_shapes", "op": ">", "value": 2})
    code, g, err = sched(
        ws, capsys, "--run-date", DAY, "--skip-unchanged", cfg=write_config(ws.dir / "s.yaml", strict)
    )
    assert code == 3 and g["status"] == "gate_failed" and g["run_id"] not in (None, a["run_id"]), err[-3000:]
    assert "why=config_changed" in err and g["config_hash"] != a["config_hash"]
    assert [x["name"] for x in g["gates"] if not x["passed"]] == ["impossible"]
    assert Path(g["outputs"]["metrics"]).is_file() and "quality gate failed" in g["error"]
    # ... and a gate failure never stands for the date: the original config still skips, naming run a
    code, b2, _ = sched(ws, capsys, "--run-date", DAY, "--skip-unchanged")
    assert code == EXIT_SKIPPED and b2["run_id"] == a["run_id"]

    # a changed source runs again (second full run), and from then on that run is the one skipped to
    write_source(ws.dir / "src", seed=1)
    code, c, err = sched(ws, capsys, "--run-date", DAY, "--skip-unchanged")
    assert code == 0 and c["status"] == "succeeded", err[-3000:]
    assert "why=source_changed" in err and c["run_id"] != a["run_id"]
    assert c["source_fingerprint"] != a["source_fingerprint"] and c["config_hash"] == a["config_hash"]
    code, b3, _ = sched(ws, capsys, "--run-date", DAY, "--skip-unchanged")
    assert code == EXIT_SKIPPED and b3["run_id"] == c["run_id"]


def test_another_date_or_no_skip_flag_runs(ws, capsys, monkeypatch) -> None:
    """Whether a run starts, without running it: the pipeline is stubbed where the run would begin."""
    started: list[str | None] = []

    def stub(self: Pipeline) -> None:
        started.append(self.cfg.run_date.isoformat() if self.cfg.run_date else None)
        raise SynthdataError("stopped by the test")

    monkeypatch.setattr(Pipeline, "run", stub)
    for extra in (["--run-date", "2026-12-02", "--skip-unchanged"], ["--run-date", DAY], []):
        code, doc, err = sched(ws, capsys, *extra)
        assert code == 1 and doc["status"] == "failed" and doc["error"] == "stopped by the test", err[-2000:]
    assert started == ["2026-12-02", DAY, None]  # no --run-date: no date, never today's


def test_failure_after_the_run_started_still_prints_the_summary(tmp_path: Path, capsys) -> None:
    csv, schema = write_source(tmp_path / "src")
    csv.write_text("user_id,rating,timestamp\n1,5,2026-01-01\n")  # item_id missing: ingest fails
    cfg = write_config(tmp_path / "c.yaml", tiny_config(csv, schema))
    reg_url = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["run", cfg, "--json", "--registry", reg_url, "--runs-dir", tmp_path / "runs"]
    code, out, err = run_cli(args, capsys)
    (line,) = out.splitlines()
    doc = json.loads(line)
    assert code == 2 and doc["exit_code"] == 2 and doc["status"] == "failed", err[-2000:]
    assert "item_id" in doc["error"] and doc["run_date"] is None and doc["outputs"] == {}
    with Registry(reg_url) as reg:
        info = reg.get_run(doc["run_id"])
    assert info is not None and info.status == "failed" and info.exit_code == 2 and info.run_date is None


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-02-30", "yesterday", "2026-1-1"])
def test_a_bad_run_date_is_one_line_exit_2_naming_it(bad: str, tmp_path: Path, capsys) -> None:
    csv, schema = write_source(tmp_path / "src")
    cfg = write_config(tmp_path / "c.yaml", tiny_config(csv, schema))
    reg = tmp_path / "r.db"
    code, out, err = run_cli(
        ["run", cfg, "--run-date", bad, "--json", "--registry", f"sqlite:///{reg}"], capsys
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"--run-date '{bad}'" in err, err
    doc = json.loads(out)
    assert (
        doc["status"] == "failed" and doc["run_id"] is None and doc["exit_code"] == 2 and bad in doc["error"]
    )
    assert not reg.exists()  # nothing was written


def test_skip_unchanged_with_resume_is_refused(ws, capsys) -> None:
    code, doc, err = sched(ws, capsys, "--resume", "whatever", "--skip-unchanged")
    assert code == 2 and "--skip-unchanged does not apply to --resume" in err and doc["run_id"] is None


def test_run_date_in_the_config_and_in_source_fields(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "dt=2026-12-01").mkdir()
    text = "run_date: 2026-11-30\nsource:\n  path: dt=${run_date}\n"
    p = tmp_path / "c.yaml"
    p.write_text(text)
    assert load_config(p).source.path == str(tmp_path / "dt=2026-11-30")  # YAML date in the config
    flag = load_config(p, run_date=date(2026, 12, 1))  # --run-date wins
    assert flag.run_date == date(2026, 12, 1) and flag.source.path == str(tmp_path / "dt=2026-12-01")
    p.write_text(text.replace("run_date: 2026-11-30\n", ""))
    with pytest.raises(SynthdataError, match=r"source.path uses \$\{run_date\} but no run date"):
        load_config(p)
    p.write_text("name: n-${run_date}\nsource: {path: x}\n")
    with pytest.raises(SynthdataError, match=r"name: \$\{run_date\} .*only replaced in source.path"):
        load_config(p, run_date=date(2026, 12, 1))
    # the date is a partition key, not a setting: the same config on two days has one config hash
    p.write_text("source: {path: x}\n")
    assert load_config(p, run_date=date(2026, 12, 1)).config_hash() == load_config(p).config_hash()
    # the shipped daily example resolves its partition folder from the date
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(tmp_path))
    daily = load_config(EXAMPLES / "daily.yaml", run_date=date(2026, 12, 1))
    assert daily.source.path == str(tmp_path / "dt=2026-12-01") and daily.run_date == date(2026, 12, 1)


def _run_options() -> set[str]:
    cmd = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    return {o for p in cmd.params for o in p.opts}


@pytest.mark.parametrize("example", ["airflow_dag.py", "dagster_asset.py", "prefect_flow.py"])
def test_examples_compile_and_use_only_the_documented_contract(example: str) -> None:
    import synthdata.cli  # registers the commands on `app`

    synthdata.cli._register([])
    src = (EXAMPLES / example).read_text()
    tree = ast.parse(compile(src, example, "exec", flags=ast.PyCF_ONLY_AST))
    consts = {
        t.id: n.value.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    assert consts["SKIPPED_EXIT_CODE"] == EXIT_SKIPPED
    assert Path(consts["CONFIG"]).name == "daily.yaml"
    flags = set(re.findall(r"""["' ](--[a-z][a-z-]+)""", src))
    assert {"--run-date", "--skip-unchanged"} <= flags and flags <= _run_options(), flags
    if example == "airflow_dag.py":
        assert (
            "--run-date {{ ds }}" in src
            and "skip_on_exit_code=SKIPPED_EXIT_CODE" in src
            and "--json" in flags
        )
    elif example == "dagster_asset.py":
        assert "PipesSubprocessClient" in src and "context.partition_key" in src and "--summary-file" in flags
    else:
        assert "json.loads" in src and "--json" in flags and "@flow" in src and "@task" in src
