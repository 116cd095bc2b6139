"""`synthdata evaluate`: real-only vs augmented recommender vs negative controls on held-out real data,
with the verdict; synthetic-only utility; fidelity; privacy (membership inference included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from synthdata.atomic import ensure_writable
from synthdata.cli.app import app
from synthdata.cli.split import load_schema, read_table
from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger

log = get_logger("cli.evaluate")


def _load_config(path: Path | None, overrides: dict[str, Any]):
    from pydantic import ValidationError

    from synthdata.evaluate.config import EvalConfig
    from synthdata.schema import format_validation_error

    data: dict[str, Any] = {}
    if path is not None:
        if not path.exists():
            raise ConfigError(f"evaluation config not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"evaluation config {path} is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"evaluation config {path} must be a mapping")
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return EvalConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"invalid evaluation config: {format_validation_error(e)}") from None


@app.command("evaluate")
def evaluate_cmd(
    train: Path = typer.Option(..., help="Training split (Parquet) the synthesizer was fitted on."),
    test: Path = typer.Option(..., help="Held-out real test split (Parquet)."),
    synthetic: Path | None = typer.Option(None, help="Synthetic rows (Parquet); omit to score real-only."),
    val_synthetic: Path | None = typer.Option(
        None, "--val-synthetic", help="Rows from a synthesizer fitted on the inner train split, for tuning."
    ),
    out: Path = typer.Option(..., help="metrics.json to write."),
    html: Path | None = typer.Option(None, "--html", help="Also write a self-contained HTML report."),
    schema: Path | None = typer.Option(None, help="Schema YAML; default <stem>.schema.yaml beside --train."),
    config: Path | None = typer.Option(
        None, help="EvalConfig YAML (grids, bootstrap, ...); flags override it."
    ),
    k: int | None = typer.Option(None, help="Cut-off k for top-k metrics (default 10)."),
    seeds: int | None = typer.Option(None, help="Recommender seeds (default 3)."),
    model: str | None = typer.Option(None, help="als (default) or bpr."),
    strategy: str | None = typer.Option(
        None, help="unconditional | cold-users | long-tail | cold-items | virtual-users | cold-neighbours."
    ),
    cold_threshold: int | None = typer.Option(
        None, "--cold-threshold", help="Cold user: ≤ this many positives."
    ),
    cold_item_threshold: int | None = typer.Option(
        None, "--cold-item-threshold", help="Cold item: ≤ this many training positives (default 5)."
    ),
    mlflow: str | None = typer.Option(
        None, "--mlflow", metavar="URI", help="Also log this evaluation as an MLflow run (metrics, report)."
    ),
) -> None:
    """Retrain the recommender on real vs real+synthetic and score both on the real test split."""
    from rich.console import Console

    from synthdata.evaluate import evaluate
    from synthdata.evaluate.report import write_html, write_metrics_json

    cfg = _load_config(
        config,
        {
            "k": k,
            "seeds": seeds,
            "model": model,
            "strategy": strategy,
            "cold_threshold": cold_threshold,
            "cold_item_threshold": cold_item_threshold,
        },
    )
    ensure_writable(out, what="--out")  # before the (long) evaluation, not after it
    if html is not None:
        ensure_writable(html, what="--html")
    sch = load_schema(train, schema)
    tr = read_table(train, "train")
    te = read_table(test, "test")
    syn = read_table(synthetic, "synthetic") if synthetic is not None else None
    vsyn = read_table(val_synthetic, "val-synthetic") if val_synthetic is not None else None
    for path, df in ((train, tr), (test, te), (synthetic, syn), (val_synthetic, vsyn)):
        for col in (sch.user_col, sch.item_col):
            if df is not None and col not in df.columns:
                raise InputError("table lacks a column the schema requires", path=str(path), column=col)
    try:
        metrics = evaluate(tr, te, syn, sch, cfg, val_synthetic=vsyn)
    except InputError as e:  # name the file, not just the table's role
        files = {"synthetic": synthetic, "val_synthetic": val_synthetic, "train": train, "test": test}
        if e.path in files and files[e.path] is not None:
            msg = str(e).rsplit(" (", 1)[0]
            raise InputError(msg, path=str(files[e.path]), column=e.column, row=e.row) from None
        raise
    write_metrics_json(metrics, out)
    console = Console() if Console().is_terminal else Console(width=260)  # logs/pipes: keep rows whole
    _print_summary(console, metrics, cfg.tune_metric)
    if html is not None:
        write_html(metrics, html, train=tr, synthetic=syn, schema=sch)
        console.print(f"report → {html}")
    console.print(f"metrics → {out}")
    if mlflow is not None:
        from synthdata.schema import schema_path_for
        from synthdata.tracking.commands import track_evaluation

        track_evaluation(mlflow, cfg, metrics, out=out, html=html, schema=schema or schema_path_for(train))


def _print_summary(console: Any, metrics: dict, tune_metric: str) -> None:
    """The table that opens with the verdict, the quality lines, and the verdict line last; a leakage
    warning stands above the table and again beside the verdict line."""
    from synthdata.evaluate.report import summary_table, verdict_line
    from synthdata.evaluate.terminal import item_table

    leak = metrics.get("leakage", {})
    warning = f"[bold red]WARNING: {leak['note']}[/bold red]" if leak.get("warning") else None
    if warning:
        console.print(warning)
    console.print(summary_table(metrics))
    items = item_table(metrics)
    if items is not None:
        console.print(items)
    for line in _quality_lines(metrics, tune_metric):
        console.print(line)
    if warning:
        console.print(warning)
    console.print(verdict_line(metrics), highlight=False)


def _quality_lines(metrics: dict, tune_metric: str) -> list[str]:
    out = []
    if "fidelity" in metrics:
        f = metrics["fidelity"]
        out.append(
            f"fidelity: column shapes {f['column_shapes']:.3f}, pair trends {f['column_pair_trends']:.3f}, "
            f"detection AUC {f['detection_auc']:.3f}, novel pairs {f['recsys']['novel_pair_share']:.3f}"
        )
    if "privacy" in metrics:
        p = metrics["privacy"]
        out.append(
            f"privacy: exact copies {p['exact_copy_rate']:.4f} "
            f"(vs holdout {p['exact_copy_rate_holdout']:.4f}), "
            f"DCR below holdout p5 {p.get('dcr_below_holdout_p5_share', float('nan')):.3f} (0.05 = none), "
            f"closer to train {p.get('dcr_closer_to_train_share', float('nan')):.3f} "
            f"(unseen real rows: {p.get('dcr_closer_to_train_baseline', float('nan')):.3f}), "
            f"membership-inference AUC {p.get('mia_auc', float('nan')):.3f} "
            f"(null table {p.get('mia_auc_null', float('nan')):.3f}: excess "
            f"{p.get('mia_auc_excess', float('nan')):+.3f}, 0 = nothing leaks)"
        )
        if p.get("users", {}).get("users_scored"):
            out.append(user_privacy_line(p["users"]))
    if "synthetic_only_ratio" in metrics["recsys"]:
        r = metrics["recsys"]["synthetic_only_ratio"][tune_metric]
        proto = metrics["recsys"].get("synthetic_only_protocol", "same-ids")
        out.append(
            f"synthetic-only / real {tune_metric} ({proto}): "
            f"{r['mean']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        )
    return out


def user_privacy_line(u: dict) -> str:
    auc = (
        "n/a" if u.get("mia_auc") is None else f"{u['mia_auc']:.3f} (null generator {u['mia_auc_null']:.3f})"
    )
    return (
        f"user-level privacy: {u['virtual_users']} virtual users, {u['identical_to_train']} identical to a "
        f"training history, median nearest-history Jaccard train {u['nn_jaccard_train_median']:.3f} vs "
        f"holdout {u['nn_jaccard_holdout_median']:.3f}, user MIA AUC {auc}"
    )
