"""Dagster: synthetic interactions as a daily-partitioned asset, run through Dagster Pipes.

`PipesSubprocessClient` launches ``synthdata run`` as a subprocess (its stderr, the logs, lands in
the step's compute log). The partition key is the date, so ``--run-date`` is
``context.partition_key``: a backfill over a month runs each day's data. The subprocess does not
speak the Pipes protocol itself, so the run summary comes back through ``--summary-file`` (Pipes does
not capture stdout) and becomes the materialization's metadata. The data version is the run's config
hash and source fingerprint: re-materializing an unchanged partition reports the same version, so
downstream assets are not marked stale. With ``--skip-unchanged`` such a re-run exits 4 (skipped);
the Pipes client raises on any non-zero exit, so the asset reads the summary and accepts exactly
that case.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import dagster as dg

# synthdata.errors.EXIT_SKIPPED: `run --skip-unchanged` had nothing to do for this date.
SKIPPED_EXIT_CODE = 4
CONFIG = "/opt/synthdata/pipelines/examples/daily.yaml"


@dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-12-01"))
def synthetic_interactions(
    context: dg.AssetExecutionContext, pipes_subprocess_client: dg.PipesSubprocessClient
) -> dg.MaterializeResult:
    """One day's synthetic interactions, trained, evaluated and gated by synthdata."""
    with tempfile.TemporaryDirectory() as tmp:
        summary_file = Path(tmp) / "summary.json"
        command = [
            "synthdata", "run", CONFIG,
            "--run-date", context.partition_key,
            "--skip-unchanged",
            "--summary-file", str(summary_file),
        ]  # fmt: skip
        try:
            pipes_subprocess_client.run(command=command, context=context)
        except Exception:
            # a non-zero exit; only "nothing to do" (exit 4, status skipped) is not a failure
            if not summary_file.is_file():
                raise
            skipped = json.loads(summary_file.read_text())
            if skipped["exit_code"] != SKIPPED_EXIT_CODE:
                raise
        summary = json.loads(summary_file.read_text())
    context.log.info(f"synthdata run {summary['run_id']}: {summary['status']}")
    return dg.MaterializeResult(
        metadata={
            "run_id": summary["run_id"],
            "status": summary["status"],
            "run_date": summary["run_date"],
            "verdict": dg.MetadataValue.json(summary["verdict"] or {}),
            "gates": dg.MetadataValue.json(summary["gates"]),
            "synthetic_rows": dg.MetadataValue.path(summary["outputs"]["synth"]),
            "report": dg.MetadataValue.path(summary["outputs"]["report"]),
        },
        data_version=dg.DataVersion(_version(summary)),
    )


def _version(summary: dict) -> str:
    """Same config and same source files → same version (a database source: every run is new)."""
    source = summary["source_fingerprint"] or summary["run_id"]
    return f"{summary['config_hash'][:16]}-{source[:16]}"


defs = dg.Definitions(
    assets=[synthetic_interactions],
    resources={"pipes_subprocess_client": dg.PipesSubprocessClient()},
)
