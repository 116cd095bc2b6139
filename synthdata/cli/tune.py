"""`synthdata tune CONFIG --trials N`: search the config's model settings for the chosen objective and
write the best as a pipeline config (`synthdata run` takes it as it is). See synthdata/tune/."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from synthdata.cli.app import app
from synthdata.errors import SynthdataError
from synthdata.tune import OBJECTIVES

if TYPE_CHECKING:
    from synthdata.tune.api import TuneResult


def _trials_table(res: TuneResult) -> Table:
    """The study's trials, best first (completed), then pruned and failed ones."""
    t = Table(title=f"study {res.study} ({res.finished} finished; objective {res.objective})")
    for col in ("trial", "state", "value", "seconds", "registry run"):
        t.add_column(col)
    trials = sorted(
        res.trials,
        key=lambda x: (x.value is None or math.isnan(x.value), -(x.value or 0.0), x.number),
    )
    for x in trials:
        secs = x.duration.total_seconds() if x.duration is not None else None
        t.add_row(
            str(x.number),
            x.state.name.lower(),
            "" if x.value is None else f"{x.value:.4f}",
            "" if secs is None else f"{secs:.0f}",
            str(x.user_attrs.get("registry_run", "")),
        )
    return t


@app.command("tune")
def tune_cmd(
    config: Path = typer.Argument(..., help="Pipeline YAML whose model settings to tune."),
    trials: int = typer.Option(
        20, "--trials", help="Finished (completed + pruned) trials the study should hold."
    ),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds; no trial starts after them."),
    objective: str = typer.Option(
        "synthetic-only", "--objective", help=f"What the validation score is: {' | '.join(OBJECTIVES)}."
    ),
    study: str | None = typer.Option(
        None, "--study", help="Study name (default: <name>-<model>-<objective>)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Best config (default ./<config stem>.tuned.yaml)."),
    registry: str | None = typer.Option(
        None, "--registry", help="Run registry URL (default: $SYNTHDATA_DB_URL, the config, ./synthdata.db)."
    ),
    storage: str | None = typer.Option(
        None, "--storage", help="Study storage URL (default: beside the registry, see docs/tuning.md)."
    ),
    no_pruning: bool = typer.Option(False, "--no-pruning", help="Train every trial to the end."),
    mlflow: str | None = typer.Option(
        None,
        "--mlflow",
        metavar="URI",
        help="Mirror every trial into MLflow (wins over tracking.mlflow.uri).",
    ),
    sampler_seed: int | None = typer.Option(
        None, "--sampler-seed", help="Seed of the proposals (give each parallel worker its own)."
    ),
) -> None:
    """Tune the generator on the inner training split, scored on validation; the test split is never read."""
    if importlib.util.find_spec("optuna") is None:
        raise SynthdataError("synthdata tune needs optuna: pip install 'synthdata[tune]'")
    from synthdata.tune.api import tune

    res = tune(
        config,
        trials=trials,
        timeout=timeout,
        objective=objective,
        study=study,
        registry_url=registry,
        storage_url=storage,
        out=out,
        pruning=not no_pruning,
        sampler_seed=sampler_seed,
        mlflow_uri=mlflow,
    )
    con = Console()
    con.print(_trials_table(res))
    params = ", ".join(f"{k}={v}" for k, v in res.best_params.items())
    con.print(f"best trial {res.best_number}: {res.objective} {res.best_value:.4f} (validation); {params}")
    con.print(f"studies: {res.storage}", highlight=False)
    con.print(f"best config: {res.out}  →  synthdata run {res.out}", highlight=False)
