"""Training curves into the tracked run through Lightning's own `MLFlowLogger`.

The logger writes into the run the tracker opened (``run_id``), names the curves ``train/<metric>``
(the MLflow UI groups charts by the part before ``/``), and hands its failures to the tracker's guard:
a server that goes away mid-training turns tracking off with one WARNING and training goes on.
Lightning neither logs hyperparameters here (the tracker logs the typed ones) nor ends the run (the
pipeline does, with the run's real status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytorch_lightning.loggers import MLFlowLogger
from pytorch_lightning.utilities import rank_zero_only

if TYPE_CHECKING:
    from synthdata.tracking.mlflow import MlflowTracker

PREFIX = "train/"


class TrackerLogger(MLFlowLogger):
    """`MLFlowLogger` bound to a `MlflowTracker`'s run and guarded by it."""

    def __init__(self, tracker: MlflowTracker) -> None:
        super().__init__(tracking_uri=tracker.uri, run_id=tracker.run_id)
        self._tracker = tracker

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        named = {f"{PREFIX}{k}": v for k, v in metrics.items()}
        self._tracker.guard("training curves", lambda: MLFlowLogger.log_metrics(self, named, step))

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        return None

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        return None
