"""Pipeline config validation (errors name the key), env-var expansion, gates; CLI exit code 2."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from support.cli import run_cli

from synthdata.errors import ConfigError
from synthdata.pipeline import evaluate_gates, load_config, parse_config
from synthdata.pipeline.config import GateConfig
from synthdata.pipeline.gates import lookup

ROOT = Path(__file__).resolve().parents[2]
BASE = {"source": {"path": "data.csv"}}


@pytest.mark.parametrize(
    ("patch", "key"),
    [
        ({"sourse": {"path": "x"}}, "sourse"),
        ({"train": {"epochz": 3}}, "train.epochz"),
        ({"train": {"epochs": 0}}, "train.epochs"),
        ({"evaluate": {"seedz": 1}}, "evaluate.seedz"),
        ({"split": {"test_fraction": 1.5}}, "split.test_fraction"),
        ({"gates": [{"metric": "a.b", "op": "=>", "value": 1}]}, "gates.0.op"),
        ({"gates": [{"metric": "a.b", "op": ">=", "value": 1, "colour": "red"}]}, "gates.0.colour"),
        ({"export": {"enabled": True, "table": "t"}}, "export"),
        ({"export": {"enabled": True, "url": "sqlite:///x.db", "table": "x; DROP TABLE y"}}, "export"),
        ({"source": {"path": "a", "url": "sqlite:///b"}}, "source"),
        ({"source": {"url": "sqlite:///b"}}, "source"),
        ({"registry": "not a url"}, "registry"),
    ],
)
def test_bad_config_names_the_key(patch: dict, key: str) -> None:
    with pytest.raises(ConfigError) as ei:
        parse_config({**BASE, **patch})
    assert f"{key}:" in str(ei.value)


def test_env_vars_expand_and_missing_ones_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SRC_URL", "postgresql+psycopg://u:pw@h/db")
    cfg = parse_config(
        {"source": {"url": "${SRC_URL}", "table": "${SRC_TABLE:-events}"}, "seed": "${SEED:-7}"}
    )
    assert (
        cfg.source.url == "postgresql+psycopg://u:pw@h/db" and cfg.source.table == "events" and cfg.seed == 7
    )
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match=r"export\.url: environment variable \$\{NOPE_NOT_SET\} is not set"):
        parse_config({**BASE, "export": {"url": "${NOPE_NOT_SET}"}})


def test_relative_source_paths_follow_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "p.yaml"
    p.write_text(yaml.safe_dump({"source": {"path": "../data/x.csv", "schema": "s.yaml"}}))
    cfg = load_config(p)
    assert cfg.source.path == str((tmp_path / "data" / "x.csv").resolve())
    assert cfg.source.schema_file == str((tmp_path / "sub" / "s.yaml").resolve())


def test_config_hash_ignores_where_results_go_but_not_what_is_computed() -> None:
    a = parse_config({**BASE, "runs_dir": "a", "registry": "sqlite:///a.db"})
    b = parse_config({**BASE, "runs_dir": "b", "registry": "sqlite:///b.db"})
    c = parse_config({**BASE, "train": {"epochs": 11}})
    assert a.config_hash() == b.config_hash() != c.config_hash()
    assert a.stage_config("ingest") == c.stage_config("ingest") and a.stage_config("train") != c.stage_config(
        "train"
    )


def test_shipped_pipelines_validate(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = load_config(ROOT / "pipelines" / "demo.yaml")
    assert demo.export.enabled and demo.gates and Path(demo.source.path or "").is_dir()
    monkeypatch.setenv("SYNTHDATA_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("SOURCE_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("EXPORT_DB_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    nightly = load_config(ROOT / "pipelines" / "nightly.yaml")
    assert nightly.source.url and nightly.export.enabled and nightly.gates


METRICS = {
    "recsys": {"delta": {"cold": {"recall": {"mean": -0.02, "ci_low": -0.05, "ci_high": 0.01}}}},
    "privacy": {"exact_copy_rate": 0.0, "dcr": float("nan")},
}


def gate(metric: str, op: str, value: float) -> GateConfig:
    return GateConfig(metric=metric, op=op, value=value)  # type: ignore[arg-type]


def test_gates_pass_fail_and_nan() -> None:
    res = evaluate_gates(
        [
            gate("recsys.delta.cold.recall.mean", ">=", -0.01),  # -0.02 < -0.01: fail
            gate("recsys.delta.cold.recall", ">=", -0.03),  # dict with mean: uses the mean
            gate("recsys.delta.cold.recall.ci_high", ">", 0.0),
            gate("privacy.exact_copy_rate", "<=", 0.0),
            gate("privacy.dcr", ">=", 0.0),  # NaN never passes
        ],
        METRICS,
    )
    assert [r.passed for r in res] == [False, True, True, True, False]
    assert math.isclose(res[0].actual or 0, -0.02) and "FAIL" in res[0].describe()


def test_unknown_gate_metric_is_a_config_error_with_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"did you mean privacy\.exact_copy_rate"):
        evaluate_gates([gate("privacy.exact_copy_rat", "<=", 0.0)], METRICS)
    with pytest.raises(ConfigError, match="not a number"):
        evaluate_gates([gate("recsys.delta", "<=", 0.0)], METRICS)
    assert lookup({"recall@10": {"a.b": 1}}, "recall@10.a.b") == 1  # keys containing dots


def test_cli_bad_config_exit_2_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump({"source": {"path": "x.csv"}, "train": {"epochz": 1}}))
    code, _, err = run_cli(["run", p, "--registry", f"sqlite:///{tmp_path / 'r.db'}"], capsys)
    assert code == 2 and "train.epochz" in err and "Traceback" not in err
    code, _, err = run_cli(["run", tmp_path / "missing.yaml"], capsys)
    assert code == 2 and "not found" in err
    p.write_text("source: [unclosed")
    code, _, err = run_cli(["run", p], capsys)
    assert code == 2 and "not valid YAML" in err


def test_optional_gates_skip_only_when_the_metric_is_absent() -> None:
    users = GateConfig(metric="privacy.users.identical_to_train", op="<=", value=0, optional=True)
    [res] = evaluate_gates([users], METRICS)  # a row model: no privacy.users section
    assert res.skipped and res.passed and res.describe().startswith("SKIP")
    [res] = evaluate_gates([users], {**METRICS, "privacy": {"users": {"identical_to_train": 3}}})
    assert not res.skipped and not res.passed  # present: it gates like any other
    with pytest.raises(ConfigError, match="not found"):
        evaluate_gates([users.model_copy(update={"optional": False})], METRICS)


def test_nightly_privacy_gate_stops_a_leaking_model(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SYNTHDATA_DB_URL", "SOURCE_DB_URL", "EXPORT_DB_URL"):
        monkeypatch.setenv(var, "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    gates = [
        g for g in load_config(ROOT / "pipelines" / "nightly.yaml").gates if g.metric.startswith("privacy")
    ]
    assert {g.metric for g in gates} >= {
        "privacy.exact_copy_rate",
        "privacy.mia_auc_excess",
        "privacy.users.identical_to_train",
        "privacy.users.nn_jaccard_train_p95",
        "privacy.users.mia_auc_excess",
    }
    safe = {"exact_copy_rate": 0.0, "mia_auc": 0.61, "mia_auc_excess": 0.01}  # shift, not memory
    assert all(r.passed for r in evaluate_gates(gates, {"privacy": safe}))  # a row model: user gates skip
    leaky = {"exact_copy_rate": 0.0, "mia_auc": 0.71, "mia_auc_excess": 0.12}  # closer to its members
    assert [r.gate.name for r in evaluate_gates(gates, {"privacy": leaky}) if not r.passed] == [
        "membership-inference"
    ]
    copying = {**safe, "users": {"identical_to_train": 2, "nn_jaccard_train_p95": 1.0, "mia_auc_excess": 0.0}}
    failed = {r.gate.name for r in evaluate_gates(gates, {"privacy": copying}) if not r.passed}
    assert failed == {"identical-histories", "near-copy-histories"}
