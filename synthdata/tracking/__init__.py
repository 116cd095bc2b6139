"""Experiment tracking: every run mirrored into MLflow for comparison; the run registry stays the truth.

Why a package of its own: all MLflow calls go through one `Tracker`, so the pipeline and the CLI
never touch MLflow directly, and every failure (MLflow not installed, server unreachable, a rejected
call) ends in one WARNING and a no-op tracker, never in a failed or changed run. The MLflow backend
(`synthdata.tracking.mlflow`) is imported only when tracking is on: `import synthdata` and
`synthdata generate` never import mlflow.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from synthdata.log import get_logger, kv
from synthdata.masking import mask_url
from synthdata.tracking.config import MlflowConfig, TrackingConfig, with_mlflow_uri

__all__ = [
    "MlflowConfig",
    "NullTracker",
    "Tracker",
    "TrackingConfig",
    "open_tracker",
    "with_mlflow_uri",
]

log = get_logger("tracking")


class Tracker(Protocol):
    """One tracked run. Every method is safe to call: a failure is logged once and ignored."""

    @property
    def run_id(self) -> str | None:
        """The tracking backend's run id (None when tracking is off or failed to start)."""
        ...

    def log_params(self, params: Mapping[str, str]) -> None: ...
    def set_tags(self, tags: Mapping[str, str]) -> None: ...
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None: ...
    def log_artifact(self, path: Path, folder: str | None = None) -> None: ...
    def training_loggers(self) -> list[Any]:
        """Lightning loggers that stream training curves into this run (none when off)."""
        ...

    def end(self, status: str) -> None:
        """Close the run: FINISHED, FAILED or KILLED."""
        ...


class NullTracker:
    """Tracking off: every call does nothing."""

    run_id: str | None = None

    def log_params(self, params: Mapping[str, str]) -> None:
        return None

    def set_tags(self, tags: Mapping[str, str]) -> None:
        return None

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        return None

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        return None

    def training_loggers(self) -> list[Any]:
        return []

    def end(self, status: str) -> None:
        return None


def open_tracker(
    settings: MlflowConfig | None,
    *,
    experiment: str,
    run_name: str,
    tags: Mapping[str, str] | None = None,
    continue_run: str | None = None,
    find_by: Mapping[str, str] | None = None,
    registry_url: str | None = None,
) -> Tracker:
    """Start (or continue) a tracked run; a `NullTracker` when tracking is off or cannot start.

    The experiment: the config's, else ``$MLFLOW_EXPERIMENT_NAME``, else `experiment`.
    `continue_run`: the MLflow run id to continue (a resumed run); else `find_by` tags find the run
    an earlier attempt started; else a new run. `registry_url`: MLflow's tables never go into the
    registry's database, so a tracking URI naming that very database turns tracking off.
    """
    if settings is None or secondary_rank():
        return NullTracker()
    where = mask_url(settings.uri)
    if registry_url is not None and same_database(settings.uri, registry_url):
        log.warning(
            kv(
                event="tracking_off",
                uri=where,
                reason="MLflow's tables must not go into the registry's database; give MLflow a "
                "database (or schema) of its own, or an `mlflow server` URL",
            )
        )
        return NullTracker()
    try:
        from synthdata.tracking.mlflow import MlflowTracker
    except ImportError as e:
        log.warning(
            kv(
                event="tracking_off",
                uri=where,
                reason=f"mlflow is not installed ({e.name}); pip install 'synthdata[tracking]'",
            )
        )
        return NullTracker()
    tracker = MlflowTracker(settings.uri)
    started = tracker.start(
        settings.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or experiment,
        run_name=run_name,
        tags=dict(tags or {}),
        continue_run=continue_run,
        find_by=dict(find_by or {}),
    )
    return tracker if started else NullTracker()


def secondary_rank() -> bool:
    """Whether this process is not rank 0 of a distributed fit (Lightning and torchrun re-run the
    command per rank): only rank 0 tracks, or every rank would open its own MLflow run."""
    return any(os.environ.get(v, "0") not in ("", "0") for v in ("RANK", "LOCAL_RANK", "NODE_RANK"))


def same_database(uri: str, registry_url: str) -> bool:
    """Whether a database tracking URI names the registry's own database (and no schema of its own)."""
    from sqlalchemy.engine import make_url

    from synthdata.db import sqlite_file

    try:
        a, b = make_url(uri), make_url(registry_url)
    except Exception:
        return False  # http(s)://, file:, databricks: not a database URL
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        fa, fb = sqlite_file(a), sqlite_file(b)
        return fa is not None and fb is not None and fa.resolve() == fb.resolve()
    own_schema = "search_path" in str(a.query.get("options", "")) and a.query != b.query
    return (a.host, a.port, a.database) == (b.host, b.port, b.database) and not own_schema
