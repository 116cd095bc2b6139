"""`synthdata run CONFIG.yaml`: the batch pipeline, for nightly jobs and one-off experiments.

Exit codes: 0 success, 2 bad config/input, 3 a quality gate failed (export skipped), 1 other failure,
4 nothing to do (``--skip-unchanged``). For schedulers: ``--run-date``, ``--json`` (one summary line on
stdout, see `synthdata.cli.summary`) and docs/scheduling.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from synthdata.cli.app import app
from synthdata.cli.summary import run_summary
from synthdata.errors import EXIT_SKIPPED, GateFailed
from synthdata.pipeline import PipelineConfig, RunResult, load_config, run_pipeline
from synthdata.pipeline.rundate import parse_run_date
from synthdata.tracking.config import with_mlflow_uri


def print_result(res: RunResult, console: Console) -> None:
    """Stage table, gates and the real-vs-augmented summary of one run."""
    t = Table(title=f"run {res.run_id} ({res.status})")
    for col in ("stage", "status", "seconds", "note"):
        t.add_column(col)
    for name, rec in res.stages.items():
        t.add_row(name, rec.status, "" if rec.seconds is None else f"{rec.seconds:.1f}", rec.message or "")
    console.print(t)
    if res.metrics and "recsys" in res.metrics:
        from synthdata.evaluate.report import summary_table

        console.print(summary_table(res.metrics))
    for g in res.gates:
        console.print(("[green]" if g.passed else "[red]") + g.describe() + "[/]", highlight=False)
    if res.export is not None:
        e = res.export
        console.print(
            f"exported {e.rows:,} rows to {e.table} at {e.url} ({e.rows_per_s:,.0f} rows/s)", highlight=False
        )
    console.print(f"artefacts: {res.run_dir}", highlight=False)


def execute(cfg: PipelineConfig, console: Console, **kwargs: Any) -> RunResult:
    """Run the pipeline and print its outcome; a failed gate still prints metrics before exiting 3."""
    try:
        res = run_pipeline(cfg, **kwargs)
    except GateFailed as e:
        partial = getattr(e, "result", None)
        if partial is not None:
            partial.status = "gate_failed"
            print_result(partial, console)
        raise
    print_result(res, console)
    if res.status == "skipped":
        day = cfg.run_date.isoformat() if cfg.run_date else "(no run date)"
        console.print(
            f"nothing to do: run {res.run_id} already processed {day} from the same source and config "
            f"(exit {EXIT_SKIPPED})",
            highlight=False,
        )
    return res


@app.command("run")
def run_cmd(
    config: Path = typer.Argument(
        ..., help="Pipeline YAML (see pipelines/demo.yaml, pipelines/nightly.yaml)."
    ),
    resume: str | None = typer.Option(None, "--resume", help="Continue this (killed or failed) run."),
    warm_start: str | None = typer.Option(None, "--warm-start", help="Fine-tune from this run's model."),
    registry: str | None = typer.Option(
        None, "--registry", help="Run registry URL (default: $SYNTHDATA_DB_URL, the config, ./synthdata.db)."
    ),
    runs_dir: Path | None = typer.Option(
        None, "--runs-dir", help="Parent of run directories (default ./runs)."
    ),
    run_date: str | None = typer.Option(
        None,
        "--run-date",
        metavar="YYYY-MM-DD",
        help="Partition key: recorded in the registry, ${run_date} in source fields (wins over run_date:).",
    ),
    skip_unchanged: bool = typer.Option(
        False,
        "--skip-unchanged",
        help=f"Exit {EXIT_SKIPPED}, running nothing, if the last succeeded run for this date had the same "
        "source fingerprint and config.",
    ),
    json_line: bool = typer.Option(
        False, "--json", help="One JSON summary line on stdout at the end; tables and logs on stderr."
    ),
    summary_file: Path | None = typer.Option(
        None, "--summary-file", help="Also write the JSON summary to this file (launchers without stdout)."
    ),
    mlflow: str | None = typer.Option(
        None, "--mlflow", metavar="URI", help="Mirror the run into MLflow (wins over tracking.mlflow.uri)."
    ),
) -> None:
    """Run ingest → split → train → generate → evaluate → gate → export from one config."""
    with run_summary(json_line, summary_file) as outcome:
        cfg = load_config(config, run_date=parse_run_date(run_date, what="--run-date"))
        outcome.cfg = cfg.model_copy(update={"tracking": with_mlflow_uri(cfg.tracking, mlflow)})
        outcome.result = execute(
            outcome.cfg,
            Console(stderr=json_line),
            config_path=config,
            registry_url=registry,
            runs_dir=runs_dir,
            resume=resume,
            warm_start=warm_start,
            skip_unchanged=skip_unchanged,
        )
    if outcome.result.status == "skipped":
        raise typer.Exit(EXIT_SKIPPED)
