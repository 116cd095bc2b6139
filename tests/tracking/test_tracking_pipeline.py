"""Pipeline runs mirrored into a real `mlflow server` (SQLite backend store), read back with MLflow's client.

One gate-failing run, its resume (an edited config without that gate; every stage is reused), and one
run against an unreachable URI: the MLflow run carries the flattened config and typed hyperparameters,
the registry's metrics, per-epoch training curves, the tags and the artefacts; the resume continues it;
an unreachable server is one WARNING and changes nothing else.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.cli import run_cli
from support.pipeline_world import DEFAULT_GATES, tiny_config, write_config, write_source

from synthdata.model.checkpoint import read_model
from synthdata.registry import Registry, RunInfo
from synthdata.tracking.mlflow import mlflow_key
from synthdata.tracking.pipeline import RUN_ID_PARAM

IMPOSSIBLE = {"name": "impossible", "metric": "fidelity.column_shapes", "op": ">=", "value": 2}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    d = tmp_path_factory.mktemp("tracking")
    csv, schema = write_source(d / "src")
    return SimpleNamespace(dir=d, csv=csv, schema=schema, runs=d / "runs")


def start(
    ws: SimpleNamespace, cfg: dict, registry: str, capsys, *extra: str
) -> tuple[int, RunInfo, str, str]:
    path = write_config(ws.dir / f"{cfg['name']}.yaml", cfg)
    code, out, err = run_cli(["run", path, "--registry", registry, "--runs-dir", ws.runs, *extra], capsys)
    m = re.search(r"run=(\d{8}T\d{6}-[0-9a-f]{6})", err)
    assert m, err[-3000:]
    with Registry(registry) as reg:
        info = reg.get_run(m.group(1))
    assert info is not None
    return code, info, out, err


def only_run(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no MLflow experiment {experiment!r}"
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def git_head() -> str | None:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else None


def test_run_is_mirrored_and_resume_continues_it(ws, mlflow_sqlite: str, capsys) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_sqlite)
    registry = f"sqlite:///{ws.dir / 'registry.db'}"
    tracking = {"mlflow": {"uri": mlflow_sqlite, "experiment": "tiny-sqlite"}}
    cfg = tiny_config(
        ws.csv, ws.schema, name="mirrored", tracking=tracking, gates=[*DEFAULT_GATES, IMPOSSIBLE]
    )
    code, info, _, err = start(ws, cfg, registry, capsys)
    assert code == 3 and info.status == "gate_failed", err[-3000:]

    run = only_run(client, "tiny-sqlite")
    rid = run.info.run_id
    assert run.info.status == "FAILED" and run.info.run_name == info.id
    assert info.params[RUN_ID_PARAM] == rid  # the registry links its run to the MLflow run
    assert run.data.metrics["gate.impossible"] == 0.0 and run.data.metrics["gate.no-copies"] == 1.0
    assert run.data.metrics["exit_code"] == 3.0
    check_content(client, run, info, epochs=cfg["train"]["epochs"], registry=registry)

    # --resume with the gate removed: every stage is reused, the same MLflow run is continued
    cfg["gates"] = DEFAULT_GATES
    code, resumed, out, err = start(ws, cfg, registry, capsys, "--resume", info.id, "--json")
    assert json.loads(out)["run_id"] == info.id  # with tracking on, stdout is still one JSON line
    assert code == 0 and resumed.id == info.id and resumed.status == "succeeded", err[-3000:]
    assert f"mlflow_run={rid} continued=True" in err
    run = only_run(client, "tiny-sqlite")
    assert run.info.run_id == rid and run.info.status == "FINISHED"
    assert run.data.metrics["exit_code"] == 0.0 and run.data.tags["synthdata.status"] == "succeeded"
    assert [m.value for m in client.get_metric_history(rid, "exit_code")] == [3.0, 0.0]
    assert "gates" in run.data.tags["synthdata.params_changed"]  # params never change in MLflow
    assert resumed.params[RUN_ID_PARAM] == rid


def check_content(client, run, info: RunInfo, *, epochs: int, registry: str) -> None:
    """Params, metrics, training curves, tags and artefacts of one mirrored run."""
    p, m, tags = run.data.params, run.data.metrics, run.data.tags
    # the flattened config, and every typed hyperparameter (defaults filled in)
    assert p["name"] == "mirrored" and p["train.model"] == "gan" and p["train.epochs"] == str(epochs)
    assert p["evaluate.k"] == "5" and p["train.hp.z_dim"] == "16" and p["hp.z_dim"] == "16"
    assert {"hp.lr_g", "hp.lr_d", "hp.pac", "hp.gp_lambda"} <= set(p)  # not in the config: defaults
    # every registry metric (recsys, fidelity, privacy, verdict codes), same value
    mirrored = {
        k: v.value for k, v in info.metrics.items() if v.value is not None and not k.startswith("config.")
    }
    assert {"recsys.verdict_code.all", "fidelity.column_shapes", "privacy.exact_copy_rate"} <= set(mirrored)
    for k, v in mirrored.items():
        assert m[mlflow_key(k)] == pytest.approx(v), k
    # training curves, one point per epoch (losses), the model-selection score at least once
    for curve in ("train/loss_g", "train/loss_d"):
        assert len(client.get_metric_history(run.info.run_id, curve)) >= epochs, curve
    assert client.get_metric_history(run.info.run_id, "train/val_fidelity")
    # tags
    doc, _ = read_model(Path(info.run_dir or "") / "model.ckpt")
    assert tags["synthdata.run_id"] == info.id
    assert tags["synthdata.data_fingerprint"] == doc["meta"]["data_fingerprint"]
    assert tags["synthdata.family"] == "rows" and tags["synthdata.model"] == "gan"
    assert tags["synthdata.registry"] == registry
    head = git_head()
    if head is not None:
        assert tags["mlflow.source.git.commit"] == head
    # artefacts: the report, metrics.json (byte for byte), the schema and the report's plots
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "metrics.json", "clean.schema.yaml", "plots"} <= names
    plots = [a.path for a in client.list_artifacts(run.info.run_id, "plots")]
    assert len(plots) >= 2 and all(x.endswith(".png") for x in plots)
    got = Path(
        client.download_artifacts(run.info.run_id, "metrics.json", str(Path(info.run_dir or "") / "dl"))
    )
    assert json.loads(got.read_text()) == json.loads((Path(info.run_dir or "") / "metrics.json").read_text())


def test_unreachable_mlflow_is_one_warning_and_changes_nothing(ws, capsys) -> None:
    registry = f"sqlite:///{ws.dir / 'unreachable.db'}"
    cfg = tiny_config(ws.csv, ws.schema, name="unreachable")
    code, info, _, err = start(ws, cfg, registry, capsys, "--mlflow", "http://127.0.0.1:9")
    assert code == 0, err[-3000:]
    warnings = [line for line in err.splitlines() if "WARNING" in line and "tracking_failed" in line]
    assert len(warnings) == 1 and "uri=http://127.0.0.1:9" in warnings[0]
    assert info.status == "succeeded" and info.exit_code == 0
    assert {s.name: s.status for s in info.stages} == {
        **dict.fromkeys(["ingest", "split", "train", "generate", "evaluate", "gate"], "succeeded"),
        "export": "skipped",
    }
    assert "recsys.verdict_code.all" in info.metrics and RUN_ID_PARAM not in info.params
    assert info.params["tracking.mlflow.uri"] == "http://127.0.0.1:9"  # the flag is recorded
