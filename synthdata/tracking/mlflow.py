"""The MLflow backend of `Tracker`: one MLflow run per synthdata run, every call guarded.

MLflow keeps its own schema (its tables live where the tracking URI points: an `mlflow server`'s
backend store, never the registry's Alembic tables). The first failing call (unreachable server,
timeout, a rejected value) logs one WARNING and turns the tracker off for the rest of the run, so a
nightly job never fails or slows down because of tracking. HTTP retries and timeouts are kept short
(`MLFLOW_HTTP_REQUEST_*`, only where the environment does not set them already).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from synthdata.log import get_logger, kv
from synthdata.masking import mask_text, mask_url

T = TypeVar("T")
log = get_logger("tracking.mlflow")

# MLflow's defaults (7 retries, 120 s timeout) would stall a nightly job for minutes per call; its
# "View run at" lines would land among the command's stdout output: our log line names the run instead.
ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- :]")  # what MLflow accepts in param and metric names
_MAX_KEY, _MAX_PARAM, _MAX_TAG = 250, 6000, 8000
_PARAMS_PER_BATCH, _METRICS_PER_BATCH = 100, 1000


def first_line(e: BaseException) -> str:
    """An exception as one masked line (MLflow errors can be long and may echo URLs)."""
    text = mask_text(str(e)).strip().splitlines()
    return f"{type(e).__name__}: {text[0][:300] if text else ''}"


def mlflow_key(key: str) -> str:
    """A metric/param name MLflow accepts: `recall@10` becomes `recall_10`."""
    return _BAD_KEY_CHARS.sub("_", key).strip("/")[:_MAX_KEY]


def _not_found(e: MlflowException) -> bool:
    return getattr(e, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


class MlflowTracker:
    """A `Tracker` writing into one MLflow run (see the module docstring for failure handling)."""

    def __init__(self, uri: str) -> None:
        for k, v in ENV_DEFAULTS.items():
            os.environ.setdefault(k, v)
        self.uri = uri
        self.masked_uri = mask_url(uri)
        self.failed = False
        self.continued = False  # an existing MLflow run was taken up (a resumed synthdata run)
        self.experiment_id: str | None = None
        self._run_id: str | None = None
        self._client: MlflowClient | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.failed else self._run_id

    @property
    def client(self) -> MlflowClient:
        if self._client is None:
            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def guard(self, what: str, fn: Callable[[], T]) -> T | None:
        """Run one MLflow call; the first failure is one WARNING and switches tracking off."""
        if self.failed:
            return None
        try:
            return fn()
        except Exception as e:  # any failure of a mirror must leave the run itself alone
            self.failed = True
            log.warning(
                kv(
                    event="tracking_failed",
                    uri=self.masked_uri,
                    during=what,
                    error=first_line(e),
                    effect="MLflow tracking off for the rest of this run; the run itself goes on",
                )
            )
            return None

    # -- the run --------------------------------------------------------------------------------
    def start(
        self,
        experiment: str,
        *,
        run_name: str,
        tags: Mapping[str, str],
        continue_run: str | None,
        find_by: Mapping[str, str],
    ) -> bool:
        """Create the run, or continue `continue_run` (else the run `find_by` tags find)."""

        def go() -> str:
            exp_id = self.experiment_id = self._experiment(experiment)
            rid = self._existing(exp_id, continue_run, find_by)
            if rid is None:
                return self.client.create_run(exp_id, run_name=run_name, tags=dict(tags)).info.run_id
            self.continued = True
            self.client.update_run(rid, status="RUNNING")
            self._tag(rid, tags)
            return rid

        self._run_id = self.guard("start", go)
        if self._run_id is not None:
            log.info(
                kv(
                    event="tracking",
                    backend="mlflow",
                    uri=self.masked_uri,
                    experiment=experiment,
                    mlflow_run=self._run_id,
                    continued=self.continued,
                    page=f"#/experiments/{self.experiment_id}/runs/{self._run_id}",  # of the MLflow UI
                )
            )
        return self._run_id is not None

    def _experiment(self, name: str) -> str:
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            return self.client.create_experiment(name)
        if exp.lifecycle_stage == "deleted":  # a name stays taken while deleted: bring it back
            self.client.restore_experiment(exp.experiment_id)
        return exp.experiment_id

    def _existing(self, exp_id: str, run_id: str | None, find_by: Mapping[str, str]) -> str | None:
        if run_id is not None:
            try:
                run = self.client.get_run(run_id)
                if run.info.lifecycle_stage != "deleted":
                    return run_id
            except MlflowException as e:
                if not _not_found(e):
                    raise
            log.info(kv(event="tracking_new_run", reason=f"MLflow run {run_id} is gone"))
        if not find_by:
            return None
        query = " and ".join(f"tags.`{k}` = '{v.replace(chr(39), '')}'" for k, v in find_by.items())
        runs = self.client.search_runs(
            [exp_id], filter_string=query, max_results=1, order_by=["attributes.start_time DESC"]
        )
        return runs[0].info.run_id if runs else None

    def _tag(self, rid: str, tags: Mapping[str, str]) -> None:
        items = [RunTag(k, str(v)[:_MAX_TAG]) for k, v in tags.items()]
        for i in range(0, len(items), _PARAMS_PER_BATCH):
            self.client.log_batch(rid, tags=items[i : i + _PARAMS_PER_BATCH])

    # -- Tracker --------------------------------------------------------------------------------
    def log_params(self, params: Mapping[str, str]) -> None:
        """Log params; a continued run keeps the values it has (MLflow params never change) and
        names the keys whose value differs in the tag `synthdata.params_changed`."""
        rid = self.run_id
        if rid is None:
            return

        def go() -> None:
            have = self.client.get_run(rid).data.params
            clean = {mlflow_key(k): str(v)[:_MAX_PARAM] for k, v in params.items()}
            new = [Param(k, v) for k, v in clean.items() if k not in have]
            for i in range(0, len(new), _PARAMS_PER_BATCH):
                self.client.log_batch(rid, params=new[i : i + _PARAMS_PER_BATCH])
            changed = sorted(k for k, v in clean.items() if k in have and have[k] != v)
            if changed:
                self._tag(rid, {"synthdata.params_changed": ",".join(changed)})

        self.guard("log_params", go)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        rid = self.run_id
        if rid is not None:
            self.guard("set_tags", lambda: self._tag(rid, tags))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        rid = self.run_id
        if rid is None:
            return
        now = int(time.time() * 1000)
        items: dict[str, Metric] = {}
        for k, v in metrics.items():
            key = mlflow_key(k)
            if v is not None and not math.isnan(v) and key not in items:
                items[key] = Metric(key, float(v), now, step or 0)
        batch = list(items.values())

        def go() -> None:
            for i in range(0, len(batch), _METRICS_PER_BATCH):
                self.client.log_batch(rid, metrics=batch[i : i + _METRICS_PER_BATCH])

        self.guard("log_metrics", go)

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        rid = self.run_id
        if rid is not None and Path(path).is_file():
            self.guard("log_artifact", lambda: self.client.log_artifact(rid, str(path), folder))

    def training_loggers(self) -> list[Any]:
        if self.run_id is None:
            return []
        from synthdata.tracking.lightning import TrackerLogger  # imports Lightning: training only

        return [TrackerLogger(self)]

    def end(self, status: str) -> None:
        rid = self.run_id
        if rid is not None:
            self.guard("end", lambda: self.client.set_terminated(rid, status))
