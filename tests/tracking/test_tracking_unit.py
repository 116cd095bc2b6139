"""The tracking switch and its guards, without a server: config, URL checks, failure once, lazy import."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from support.pipeline_world import tiny_config, write_source

from synthdata.errors import ConfigError
from synthdata.pipeline import parse_config
from synthdata.tracking import (
    MlflowConfig,
    NullTracker,
    TrackingConfig,
    open_tracker,
    same_database,
    with_mlflow_uri,
)
from synthdata.tracking.mlflow import MlflowTracker, mlflow_key


@pytest.fixture
def warnings_logged() -> Iterator[list[logging.LogRecord]]:
    """WARNING records of synthdata.tracking (its own handler: synthdata's logger may not propagate)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    lg = logging.getLogger("synthdata.tracking")
    lg.addHandler(handler)
    yield records
    lg.removeHandler(handler)


def test_tracking_config_is_off_by_default_and_outside_the_config_hash(tmp_path) -> None:
    csv, schema = write_source(tmp_path)
    plain = parse_config(tiny_config(csv, schema))
    tracked = parse_config(tiny_config(csv, schema, tracking={"mlflow": {"uri": "http://mlflow:5000"}}))
    assert plain.tracking.mlflow is None
    assert tracked.tracking.mlflow is not None and tracked.tracking.mlflow.uri == "http://mlflow:5000"
    assert plain.config_hash() == tracked.config_hash()  # tracking changes no output: stages are reused
    with pytest.raises(ConfigError, match=r"tracking\.mlflow\.url"):
        parse_config(tiny_config(csv, schema, tracking={"mlflow": {"url": "http://x"}}))


def test_flag_wins_over_the_config_uri_and_keeps_its_experiment() -> None:
    cfg = TrackingConfig(mlflow=MlflowConfig(uri="http://a:5000", experiment="nightly"))
    assert with_mlflow_uri(cfg, None) is cfg
    flagged = with_mlflow_uri(cfg, "http://b:5000")
    assert flagged.mlflow is not None and (flagged.mlflow.uri, flagged.mlflow.experiment) == (
        "http://b:5000",
        "nightly",
    )
    assert with_mlflow_uri(TrackingConfig(), "http://b:5000").mlflow == MlflowConfig(uri="http://b:5000")


def test_mlflow_tables_never_go_into_the_registry_database(tmp_path, warnings_logged) -> None:
    reg = f"sqlite:///{tmp_path / 'registry.db'}"
    assert same_database(f"sqlite:///{tmp_path / '.' / 'registry.db'}", reg)
    assert not same_database(f"sqlite:///{tmp_path / 'mlflow.db'}", reg)
    pg = "postgresql+psycopg://u:pw@db:5432/synth"
    assert same_database("postgresql://u@db:5432/synth", pg)
    assert not same_database("postgresql://u@db:5432/mlflow", pg)
    assert not same_database("postgresql://u@db:5432/synth?options=-csearch_path%3Dmlflow", pg)
    assert not same_database("http://db:5000", pg)
    tracker = open_tracker(MlflowConfig(uri=reg), experiment="x", run_name="r", registry_url=reg)
    assert isinstance(tracker, NullTracker)
    assert len(warnings_logged) == 1 and "registry's database" in warnings_logged[0].getMessage()


def test_a_failing_server_is_one_warning_then_nothing(monkeypatch, warnings_logged) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracker = MlflowTracker("http://user:pw-not-shown@127.0.0.1:9")
    assert not tracker.start("x", run_name="r", tags={}, continue_run=None, find_by={})
    tracker.log_params({"a": "1"})
    tracker.log_metrics({"m": 1.0})
    tracker.end("FINISHED")
    assert tracker.run_id is None and tracker.training_loggers() == []
    (record,) = warnings_logged
    text = record.getMessage()
    assert "during=start" in text and "127.0.0.1:9" in text and "pw-not-shown" not in text


def test_only_rank_zero_tracks(monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert isinstance(
        open_tracker(MlflowConfig(uri="http://127.0.0.1:9"), experiment="x", run_name="r"), NullTracker
    )


def test_metric_names_are_made_acceptable_to_mlflow() -> None:
    assert mlflow_key("recsys.augmented.all.recall@10.mean") == "recsys.augmented.all.recall_10.mean"
    assert mlflow_key("gate.recall >= 0.1") == "gate.recall __ 0.1"


def test_importing_synthdata_never_imports_mlflow() -> None:
    code = "import sys, synthdata, synthdata.cli, synthdata.pipeline; "
    code += "print(any(m.startswith('mlflow') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_server_lost_during_training_stops_the_curves_with_one_warning(
    monkeypatch, warnings_logged
) -> None:
    from synthdata.tracking.lightning import TrackerLogger

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    tracker = MlflowTracker("http://127.0.0.1:9")
    tracker._run_id = "0123456789abcdef"  # as if the run had started before the server went away
    logger = TrackerLogger(tracker)
    for epoch in range(3):  # what Lightning does at each epoch's end: must not raise
        logger.log_metrics({"loss_g": 1.0 / (epoch + 1)}, step=epoch)
    logger.finalize("success")
    (record,) = warnings_logged
    assert "during=training curves" in record.getMessage() and tracker.run_id is None


def test_mlflow_not_installed_is_a_warning(monkeypatch, warnings_logged) -> None:
    monkeypatch.delitem(sys.modules, "synthdata.tracking.mlflow", raising=False)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError
    tracker = open_tracker(MlflowConfig(uri="http://127.0.0.1:9"), experiment="x", run_name="r")
    assert isinstance(tracker, NullTracker)
    (record,) = warnings_logged
    assert "mlflow is not installed" in record.getMessage() and "synthdata[tracking]" in record.getMessage()
