"""`run --skip-unchanged`: nothing to do when a run date was already processed from the same inputs.

A scheduler re-running a date (a retry after success, a backfill over finished days, a manual
re-trigger) should not train again. "The same" is exact, and cheap to decide before anything is
written: the last *succeeded* run of this pipeline (same `name`) for this run date has

- the same config hash (`PipelineConfig.config_hash`: every setting but registry, runs_dir and the
  date itself), and
- the same source fingerprint (sha256 of the source files: path, schema and attribute tables),

and its outputs are still on disk. Then the CLI exits with `EXIT_SKIPPED` and names that run. A
database source has no content fingerprint (the table may change under the same query), so it is
never skipped: it runs, and stage reuse by input hash still avoids recomputing what did not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthdata.log import get_logger, kv
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.gates import GateResult, evaluate_gates
from synthdata.pipeline.manifest import ARTEFACTS, Manifest, StageRecord, nan_for_null, source_fingerprint
from synthdata.registry import Registry, RunInfo

log = get_logger("pipeline")


@dataclass
class Unchanged:
    """The earlier run that already holds this date's outputs, read back for the run summary."""

    run: RunInfo
    run_dir: Path
    stages: dict[str, StageRecord]
    metrics: dict[str, Any] | None = None
    gates: list[GateResult] = field(default_factory=list)


def source_fingerprint_of(cfg: PipelineConfig) -> str | None:
    """Content hash of a file source (None for a database source: it has no cheap content hash)."""
    s = cfg.source
    if s.url is not None:
        return None
    return source_fingerprint([s.path, s.schema_file, s.user_attributes, s.item_attributes])


def _outputs_present(run_dir: Path, stages: dict[str, StageRecord]) -> bool:
    """Every output the manifest lists still exists with its size (no re-hash: that is for reuse)."""
    outs = [o for rec in stages.values() for o in rec.outputs.values()]
    return bool(outs) and all(
        (run_dir / o["file"]).is_file() and (run_dir / o["file"]).stat().st_size == o["bytes"] for o in outs
    )


def _why_run(prev: RunInfo | None, config_hash: str, fingerprint: str) -> str | None:
    if prev is None:
        return "no_succeeded_run_for_date"
    if prev.config_hash != config_hash:
        return "config_changed"
    if prev.source_fingerprint != fingerprint:
        return "source_changed"
    if not prev.run_dir:
        return "previous_outputs_missing"
    return None


def find_unchanged(
    reg: Registry, cfg: PipelineConfig, config_hash: str, fingerprint: str | None
) -> Unchanged | None:
    """The run that makes this one unnecessary, or None (and a log line saying why it runs)."""
    day = cfg.run_date.isoformat() if cfg.run_date else "-"
    if fingerprint is None:
        log.info(kv(event="skip_check", result="run", run_date=day, why="database_source_has_no_fingerprint"))
        return None
    prev = reg.last_succeeded(cfg.name, cfg.run_date)
    why = _why_run(prev, config_hash, fingerprint)
    manifest = None
    if why is None and prev is not None and prev.run_dir:
        manifest = Manifest.load(Path(prev.run_dir))
        if manifest is None or not _outputs_present(Path(prev.run_dir), manifest.stages):
            why = "previous_outputs_missing"
    if why is not None or prev is None or manifest is None:
        log.info(kv(event="skip_check", result="run", run_date=day, why=why))
        return None
    log.info(kv(event="skip_check", result="skip", run_date=day, same_as=prev.id))
    found = Unchanged(prev, Path(prev.run_dir or ""), manifest.stages)
    metrics_file = found.run_dir / ARTEFACTS["metrics"][0]
    if metrics_file.is_file():
        found.metrics = nan_for_null(json.loads(metrics_file.read_text(encoding="utf-8")))
        found.gates = evaluate_gates(cfg.gates, found.metrics or {})
    return found
