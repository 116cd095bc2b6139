"""Every trial as a run in the registry, so `synthdata runs list/show/compare` show a study's trials.

A trial's run is named ``tune:<study>/trial-<n>``; its parameters are the pipeline config the trial
trained with (the searched settings filled in, plus ``tune.*``: study, trial, objective), its metrics
``tune.objective`` (the validation score), ``tune.pruned`` (1 when the pruner stopped it) and the
validation figures behind the score. It beats like a pipeline run, so a killed worker's trial shows
as `stale`. The registry has no `pruned` status: a pruned trial is `succeeded` with ``tune.pruned = 1``.

With ``tracking.mlflow`` configured (or ``--mlflow URI``), each trial is also an MLflow run in the
pipeline's experiment (synthdata.tracking: a failure there is one WARNING, never a failed trial), with
the same params and metrics plus the pruning score per validation epoch as a curve.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from synthdata.log import get_logger, kv
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.manifest import new_run_id
from synthdata.registry import Registry
from synthdata.registry.liveness import Heartbeat
from synthdata.tracking import NullTracker, Tracker, open_tracker
from synthdata.tracking.content import metrics_of, params_of
from synthdata.tune.space import as_yaml

log = get_logger("tune")


@dataclass
class TrialRun:
    """A trial's registry run; the objective fills `metrics` before the run is closed."""

    run_id: str
    name: str
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: list[tuple[int, float]] = field(default_factory=list)  # (epoch, score) the pruner saw
    monitor: str = "score"


def trial_config(cfg: PipelineConfig, params: dict[str, Any], tune: dict[str, Any]) -> dict[str, Any]:
    """The config a trial trained with, as the registry stores parameters."""
    d = cfg.model_dump(mode="json", by_alias=True)
    d["train"]["hp"] = {**d["train"]["hp"], **as_yaml(params)}
    return {**d, "tune": tune}


class TrialRecorder:
    """Opens, beats and closes one registry run (and MLflow run) per trial. Registry writes are one short
    transaction each (registry/store.py), so several workers can record into one registry."""

    def __init__(self, registry: Registry, study: str, objective: str) -> None:
        self.registry = registry
        self.study = study
        self.objective = objective

    @contextmanager
    def trial(self, number: int, cfg: PipelineConfig, params: dict[str, Any]) -> Iterator[TrialRun]:
        import optuna

        run = TrialRun(new_run_id(), f"tune:{self.study}/trial-{number}")
        config = trial_config(
            cfg, params, {"study": self.study, "trial": number, "objective": self.objective}
        )
        reg = self.registry
        reg.create_run(run.run_id, name=run.name[:200], config=config)
        tracker = self._tracker(cfg, run, number, config)
        try:
            with Heartbeat(lambda: reg.heartbeat(run.run_id)).running():
                yield run
        except optuna.TrialPruned:
            self._close(run, tracker, {"pruned": 1, **run.metrics}, "succeeded")
            raise
        except BaseException as e:
            code = getattr(e, "exit_code", 130 if isinstance(e, KeyboardInterrupt) else 1)
            self._close(
                run, tracker, {"pruned": 0, **run.metrics}, "failed", code, f"{type(e).__name__}: {e}"
            )
            raise
        self._close(run, tracker, {"pruned": 0, **run.metrics}, "succeeded")

    def _close(
        self,
        run: TrialRun,
        tracker: Tracker,
        metrics: dict[str, Any],
        status: str,
        code: int = 0,
        error: str | None = None,
    ) -> None:
        self.registry.log_metrics(run.run_id, {"tune": metrics})
        self.registry.finish_run(run.run_id, status, exit_code=code, error=error)
        try:
            tracker.log_metrics(metrics_of({"tune": metrics}))
            for epoch, score in run.curve:
                tracker.log_metrics({f"tune.{run.monitor}": score}, step=epoch + 1)
        except Exception as e:  # the registry holds the truth; the mirror must not fail a trial
            log.warning(kv(event="tracking_incomplete", run=run.run_id, error=f"{type(e).__name__}: {e}"))
        killed = code in (130, 143)
        tracker.end("KILLED" if killed else "FINISHED" if status == "succeeded" else "FAILED")

    def _tracker(self, cfg: PipelineConfig, run: TrialRun, number: int, config: dict[str, Any]) -> Tracker:
        settings = cfg.tracking.mlflow
        if settings is None:
            return NullTracker()
        tags = {
            "synthdata.run_id": run.run_id,
            "synthdata.study": self.study,
            "synthdata.trial": str(number),
            "synthdata.model": cfg.train.model,
            "mlflow.source.name": "synthdata tune",
        }
        url = self.registry.url.render_as_string(hide_password=False)
        tracker = open_tracker(settings, experiment=cfg.name, run_name=run.name, tags=tags, registry_url=url)
        try:
            tracker.log_params(params_of(config))
        except Exception as e:
            log.warning(kv(event="tracking_incomplete", run=run.run_id, error=f"{type(e).__name__}: {e}"))
        return tracker
