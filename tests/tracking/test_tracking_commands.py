"""`synthdata train --mlflow` and `synthdata evaluate --mlflow`: one MLflow run per command."""

from __future__ import annotations

import json

import yaml
from support.cli import run_cli
from support.pipeline_world import SCHEMA, TINY_EVAL, TINY_TRAIN, interactions

from synthdata.model.checkpoint import read_model
from synthdata.registry import flatten_metrics
from synthdata.schema import Schema, schema_path_for
from synthdata.split import split
from synthdata.tracking.mlflow import mlflow_key


def latest_run(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no MLflow experiment {experiment!r}"
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)
    assert runs
    return runs[0]


def test_train_and_evaluate_commands_are_tracked(mlflow_sqlite: str, tmp_path, capsys) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(mlflow_sqlite)
    schema = Schema.from_dict(SCHEMA)
    train, test = split(interactions(), schema, "user-temporal", 0.25, seed=0)
    for name, df in (("train", train), ("test", test)):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    schema.to_yaml(schema_path_for(tmp_path / "train.parquet"))
    hp = [f"{k}={json.dumps(v)}" for k, v in TINY_TRAIN["hp"].items()]
    model = tmp_path / "tiny.ckpt"
    args = ["train", tmp_path / "train.parquet", "--out", model, "--epochs", 3, "--batch-size", 200]
    code, _, err = run_cli([*args, *(x for h in hp for x in ("--hp", h)), "--mlflow", mlflow_sqlite], capsys)
    assert code == 0, err[-3000:]

    run = latest_run(client, "synthdata-train")
    meta = read_model(model)[0]["meta"]
    assert run.info.status == "FINISHED" and run.info.run_name == "tiny"
    assert (
        run.data.params["model"] == "gan"
        and run.data.params["hp.z_dim"] == "16"
        and "hp.lr_g" in run.data.params
    )
    assert run.data.tags["synthdata.data_fingerprint"] == meta["data_fingerprint"]
    assert run.data.metrics["model.epochs_trained"] == meta["epochs_trained"] == 3
    assert len(client.get_metric_history(run.info.run_id, "train/loss_g")) == 3

    code, _, err = run_cli(["generate", model, "--rows", 300, "--out", tmp_path / "synth.parquet"], capsys)
    assert code == 0, err[-3000:]
    cfg = tmp_path / "eval.yaml"
    cfg.write_text(yaml.safe_dump(TINY_EVAL))
    files = ["--train", tmp_path / "train.parquet", "--test", tmp_path / "test.parquet"]
    files += ["--synthetic", tmp_path / "synth.parquet", "--config", cfg]
    out, html = tmp_path / "metrics.json", tmp_path / "report.html"
    code, _, err = run_cli(
        ["evaluate", *files, "--out", out, "--html", html, "--mlflow", mlflow_sqlite], capsys
    )
    assert code == 0, err[-3000:]

    run = latest_run(client, "synthdata-evaluate")
    assert run.info.status == "FINISHED" and run.data.params["evaluate.k"] == "5"
    expected = {
        k: v for k, (v, _, _) in flatten_metrics(json.loads(out.read_text())).items() if v is not None
    }
    expected = {k: v for k, v in expected.items() if not k.startswith("config.")}
    assert "recsys.verdict_code.all" in expected
    assert {k: run.data.metrics[mlflow_key(k)] for k in expected} == expected
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "report.html", "train.schema.yaml", "plots"} <= names
