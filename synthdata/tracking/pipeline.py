"""What a pipeline run mirrors into MLflow, and when (the lifecycle calls these three points).

- `start` (after the registry run is opened): the flattened config and the model's typed
  hyperparameters as params; tags for the run id, pipeline, config hash, model family, git commit and
  the masked registry URL. A resumed run continues its MLflow run: the id is kept in the registry as
  the param ``tracking.mlflow.run_id`` (read before the resume rewrites the run's params), and failing
  that, found by its ``synthdata.run_id`` tag.
- during training: `training_loggers` (Lightning's MLFlowLogger: losses and the model-selection score
  per epoch).
- `finish` (after the registry recorded the end): metrics.json flattened (recsys, fidelity, privacy and
  the verdict codes), gate results, the model's fit numbers and data fingerprint, and the artefacts
  report.html, metrics.json, the plots and the schema; then the MLflow status.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from synthdata.log import get_logger, kv
from synthdata.tracking import NullTracker, Tracker, open_tracker
from synthdata.tracking import content as c

if TYPE_CHECKING:
    from synthdata.pipeline.config import PipelineConfig
    from synthdata.registry import Registry

log = get_logger("tracking")

RUN_ID_PARAM = "tracking.mlflow.run_id"
RUN_TAG = "synthdata.run_id"
# How the registry's run status ends in MLflow; Ctrl-C (130) and SIGTERM (143) end KILLED (resumable).
MLFLOW_STATUS = {"succeeded": "FINISHED", "gate_failed": "FAILED", "failed": "FAILED"}
INTERRUPTED = (130, 143)


class TrackedRun(Protocol):
    """The running pipeline as tracking sees it (implemented by `lifecycle.Pipeline`)."""

    cfg: PipelineConfig
    run_id: str
    run_dir: Path
    resumed: bool
    registry: Registry
    config_hash: str
    source_fp: str | None  # content hash of the source files (None for a database source)

    def path(self, artefact: str) -> Path: ...


class PipelineTracking:
    """The MLflow mirror of one pipeline run; a no-op when `tracking.mlflow` is not configured."""

    def __init__(self, p: TrackedRun) -> None:
        self.p = p
        self.tracker: Tracker = NullTracker()
        self.settings = p.cfg.tracking.mlflow
        self.previous: str | None = None
        if self.settings is not None and p.resumed:  # before the resume rewrites the run's params
            info = p.registry.get_run(p.run_id)
            prev = info.params.get(RUN_ID_PARAM) if info is not None else None
            self.previous = prev if isinstance(prev, str) else None

    def start(self) -> None:
        """Open the MLflow run and log what is known before any stage runs; never raises."""
        if self.settings is None:
            return
        try:
            self._start()
        except Exception as e:  # a bug here must not cost the nightly run
            log.warning(kv(event="tracking_failed", during="start", error=f"{type(e).__name__}: {e}"))
            self.tracker.end("FAILED")
            self.tracker = NullTracker()

    def _start(self) -> None:
        assert self.settings is not None
        p = self.p
        tags = {
            RUN_TAG: p.run_id,
            "synthdata.pipeline": p.cfg.name,
            "synthdata.config_hash": p.config_hash,
            "synthdata.registry": p.registry.masked_url,
            "synthdata.model": p.cfg.train.model,
            "synthdata.family": _family(p.cfg.train.model),
            "mlflow.source.name": "synthdata run",
        }
        if p.source_fp is not None:
            tags["synthdata.source_fingerprint"] = p.source_fp
        commit = c.git_commit()
        if commit is not None:
            tags["mlflow.source.git.commit"] = commit
        self.tracker = open_tracker(
            self.settings,
            experiment=p.cfg.name,
            run_name=p.run_id,
            tags=tags,
            continue_run=self.previous,
            find_by={RUN_TAG: p.run_id} if p.resumed else None,
            registry_url=p.registry.url.render_as_string(hide_password=False),
        )
        rid = self.tracker.run_id or self.previous
        if rid is not None:  # the link survives a resume that could not reach MLflow
            p.registry.add_params(p.run_id, {RUN_ID_PARAM: rid})
        dump = p.cfg.model_dump(mode="json", by_alias=True)
        self.tracker.log_params({**c.params_of(dump), **c.typed_hp(p.cfg.train.model, p.cfg.train.hp)})

    def training_loggers(self) -> list[Any]:
        return self.tracker.training_loggers()

    def finish(self, status: str, exit_code: int, metrics: dict[str, Any] | None, gates: list[Any]) -> None:
        """Mirror the outcome; never raises (the registry already holds the truth)."""
        if self.tracker.run_id is None:
            return
        try:
            self._outcome(status, exit_code, metrics, gates)
            self._artefacts()
        except Exception as e:  # reading the run's own files failed: still close the MLflow run
            log.warning(kv(event="tracking_incomplete", error=f"{type(e).__name__}: {e}"))
        self.tracker.end("KILLED" if exit_code in INTERRUPTED else MLFLOW_STATUS.get(status, "FAILED"))

    def _outcome(self, status: str, exit_code: int, metrics: dict[str, Any] | None, gates: list[Any]) -> None:
        meta = c.model_meta(self.p.path("model"))
        self.tracker.set_tags(
            {"synthdata.status": status, "synthdata.exit_code": str(exit_code), **c.model_tags(meta)}
        )
        values = {**c.model_metrics(meta), **(c.metrics_of(metrics) if metrics else {})}
        values.update({f"gate.{g.gate.label}": float(g.passed) for g in gates if not g.skipped})
        values["exit_code"] = float(exit_code)
        self.tracker.log_metrics(values)

    def _artefacts(self) -> None:
        p = self.p
        for name in ("report", "metrics", "schema"):
            self.tracker.log_artifact(p.path(name))
        with tempfile.TemporaryDirectory(prefix="synthdata-plots-") as tmp:
            for png in c.report_plots(p.path("report"), Path(tmp)):
                self.tracker.log_artifact(png, "plots")


def _family(model: str) -> str:
    from synthdata.model.registry import backend

    return backend(model).family
