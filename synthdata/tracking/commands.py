"""`synthdata train --mlflow URI` and `synthdata evaluate --mlflow URI`: one MLflow run per command.

The same content as a pipeline run's (synthdata.tracking.pipeline) for the part the command does:
`train` logs the typed hyperparameters, the training curves (Lightning's MLFlowLogger) and the fit's
numbers and data fingerprint; `evaluate` logs the evaluation config, the flattened metrics (verdict
codes included) and metrics.json, the HTML report with its plots, and the schema. The experiment is
``$MLFLOW_EXPERIMENT_NAME``, else ``synthdata-train`` / ``synthdata-evaluate``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synthdata.tracking import MlflowConfig, NullTracker, Tracker, open_tracker
from synthdata.tracking import content as c


def _open(uri: str, command: str, run_name: str, params: Mapping[str, str]) -> Tracker:
    tags = {"mlflow.source.name": f"synthdata {command}", "synthdata.command": command}
    commit = c.git_commit()
    if commit is not None:
        tags["mlflow.source.git.commit"] = commit
    tracker = open_tracker(
        MlflowConfig(uri=uri), experiment=f"synthdata-{command}", run_name=run_name, tags=tags
    )
    tracker.log_params(params)
    return tracker


@contextmanager
def tracked_training(uri: str | None, syn: Any, table: Path, out: Path) -> Iterator[Tracker]:
    """An MLflow run around a fit: params first, the curves during it, the fit's numbers after it.

    Ends FINISHED, FAILED (an exception) or KILLED (Ctrl-C); a no-op tracker when `uri` is None."""
    if uri is None:
        yield NullTracker()
        return
    params = {
        "model": syn.model,
        "table": str(table),
        "epochs": str(syn.epochs),
        "batch_size": str(syn.batch_size),
        "max_minutes": str(syn.max_minutes),
        "seed": str(syn.seed),
        **c.params_of(syn.hyper.model_dump(mode="json"), "hp."),
    }
    tracker = _open(uri, "train", out.stem, params)
    status = "FAILED"
    try:
        yield tracker
        tracker.set_tags(c.model_tags(syn.meta))
        tracker.log_metrics(c.model_metrics(syn.meta))
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        tracker.end(status)


def track_evaluation(
    uri: str,
    config: Any,
    metrics: Mapping[str, Any],
    *,
    out: Path,
    html: Path | None,
    schema: Path | None,
) -> None:
    """Mirror a finished evaluation as one MLflow run (metrics, metrics.json, report, plots, schema)."""
    tracker = _open(uri, "evaluate", out.stem, c.params_of(config.model_dump(mode="json"), "evaluate."))
    tracker.log_metrics(c.metrics_of(metrics))
    for path in (out, html, schema):
        if path is not None:
            tracker.log_artifact(path)
    if html is not None:
        with tempfile.TemporaryDirectory(prefix="synthdata-plots-") as tmp:
            for png in c.report_plots(html, Path(tmp)):
                tracker.log_artifact(png, "plots")
    tracker.end("FINISHED")
