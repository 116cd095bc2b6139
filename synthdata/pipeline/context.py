"""What a stage body sees of the running pipeline: `StageContext`, and what it returns: `StageOutput`.

The stage bodies (stages.py) depend on this small interface, not on the `Pipeline` class
(lifecycle.py) that runs them, so the two modules do not import each other.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from synthdata.export import ExportResult
    from synthdata.pipeline.config import PipelineConfig
    from synthdata.tracking.pipeline import PipelineTracking

# What a stage body returns: the artefact names it wrote (via `StageContext.out`) and a note.
StageOutput = tuple[list[str], str | None]


class StageContext(Protocol):
    """The running pipeline as the stage bodies use it (implemented by `lifecycle.Pipeline`)."""

    cfg: PipelineConfig
    run_id: str
    run_dir: Path
    warm_start_model: Path | None  # the model file training starts from (--warm-start), if any
    warm_start_from: str | None  # the run it came from
    tracking: PipelineTracking  # the MLflow mirror: its Lightning loggers record the training curves

    def path(self, artefact: str) -> Path:
        """Where artefact `artefact` lives in the run directory (read inputs from here)."""
        ...

    def out(self, artefact: str) -> Path:
        """Where the running stage writes output `artefact` (renamed into place when it succeeds)."""
        ...


class ExportHolder(Protocol):
    """Where the export stage leaves its result (the run's `RunResult`)."""

    export: ExportResult | None
