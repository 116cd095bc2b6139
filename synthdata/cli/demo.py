"""`synthdata demo`: the main job on the bundled simulated sample, end to end.

Runs ``pipelines/demo.yaml`` (ingest → split → train → generate → evaluate → gate → export, small
budget) and prints the cleaning report and the real-vs-augmented recommender table.
``--ingest-only DIR`` is the quick look: only clean the sample into DIR and show the cleaning report.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from synthdata.cli.app import app
from synthdata.cli.ingest import print_report
from synthdata.errors import ConfigError, InputError
from synthdata.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
DEMO_PIPELINE = ROOT / "pipelines" / "demo.yaml"


def _ingest_only(sample: Path, out_dir: Path) -> None:
    if not (sample / "events.csv").exists():
        raise InputError("bundled sample missing; run `make sample`", path=str(sample / "events.csv"))
    schema = sample / "schema.yaml"
    res = ingest(
        sample,
        layout="events",
        schema=schema if schema.exists() else None,
        out=out_dir / "clean.parquet",
        report=out_dir / "ingest_report.json",
    )
    print_report(res, Console())


@app.command("demo")
def demo_cmd(
    config: Path = typer.Option(DEMO_PIPELINE, "--config", help="Pipeline YAML to run (default: the demo)."),
    registry: str | None = typer.Option(
        None, "--registry", help="Run registry URL (default: the config's, i.e. sqlite:///./synthdata.db)."
    ),
    runs_dir: Path | None = typer.Option(
        None, "--runs-dir", help="Parent of run directories (default ./runs)."
    ),
    ingest_only: Path | None = typer.Option(
        None,
        "--ingest-only",
        metavar="DIR",
        help="Quick look: only ingest the sample into DIR and show the cleaning report.",
    ),
    sample: Path = typer.Option(
        SAMPLE, help="Sample folder for quick mode (events.csv, users.csv, items.csv)."
    ),
) -> None:
    """Run the demo pipeline on the bundled simulated sample: verdict, controls, real vs augmented."""
    if ingest_only is not None:
        _ingest_only(sample, ingest_only)
        return
    from synthdata.cli.run import execute
    from synthdata.pipeline import load_config

    if not config.is_file():
        raise ConfigError(f"demo pipeline config not found: {config}")
    console = Console()
    res = execute(load_config(config), console, config_path=config, registry_url=registry, runs_dir=runs_dir)
    if res.metrics and "recsys" in res.metrics:
        from synthdata.evaluate.terminal import verdict_table

        console.print(verdict_table(res.metrics))  # the verdict and the negative controls, last on screen
    rep = json.loads((res.run_dir / "ingest_report.json").read_text(encoding="utf-8"))
    console.print(
        f"demo sample: {rep['rows_in']:,} raw events → {rep['rows_out']:,} clean (user, item) rows, "
        f"{rep['rows_rejected']:,} rejected {rep['rejected_by_reason']} (see rejects.parquet). "
        f"Browse with `synthdata runs show {res.run_id}`; report: {res.run_dir / 'report.html'}",
        highlight=False,
    )
