"""`synthdata train` (fit the GAN on a clean table) and `synthdata generate` (sample from a model)."""

from __future__ import annotations

from pathlib import Path

import typer

from synthdata.cli.app import app
from synthdata.cli.split import read_table
from synthdata.errors import ConfigError, InputError
from synthdata.log import get_logger, is_interactive, kv
from synthdata.schema import Schema, schema_path_for

log = get_logger("cli.train")


def _schema_for(table: Path, schema: Path | None) -> Schema:
    """Explicit --schema, else `<stem>.schema.yaml` beside the table, else one inferred from it."""
    if schema is not None:
        return Schema.from_yaml(schema)
    beside = schema_path_for(table)
    if beside.exists():
        return Schema.from_yaml(beside)
    from synthdata.ingest.infer import infer_schema
    from synthdata.ingest.sources import open_parquet

    src = open_parquet(table)
    sample = next(iter(src.chunks()))
    inferred = infer_schema(sample, src, origin=str(table))
    log.info(kv(event="schema_inferred", table=table, hint=f"save and edit it as {beside}"))
    return inferred


def _devices(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def _parse_where(where: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for w in where:
        col, sep, val = w.partition("=")
        if not sep or not col:
            raise ConfigError(f"--where {w!r}: expected COLUMN=VALUE")
        out[col.strip()] = val
    return out


@app.command("train")
def train_cmd(
    table: Path = typer.Argument(..., help="Clean interaction table (Parquet) from `synthdata ingest`."),
    schema: Path | None = typer.Option(None, "--schema", help="Schema YAML (default: <stem>.schema.yaml)."),
    out: Path = typer.Option(..., "--out", help="Model file to write (.ckpt)."),
    epochs: int = typer.Option(100, "--epochs", help="Total training epochs."),
    max_minutes: float | None = typer.Option(None, "--max-minutes", help="Wall-clock training budget."),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(2000, "--batch-size"),
    accelerator: str = typer.Option("auto", "--accelerator", help="auto | cpu | gpu | ..."),
    devices: str = typer.Option("auto", "--devices", help="auto, a count, or e.g. -1 for all."),
    strategy: str = typer.Option("auto", "--strategy", help="auto | ddp | ..."),
    checkpoint_dir: Path | None = typer.Option(
        None, "--checkpoint-dir", help="Keep last.ckpt/best.ckpt here."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from last.ckpt in --checkpoint-dir."),
) -> None:
    """Fit the synthesizer on a clean table and save it as one file."""
    from synthdata.model.synthesizer import Synthesizer

    if resume and checkpoint_dir is None:
        raise ConfigError("--resume needs --checkpoint-dir")
    sch = _schema_for(table, schema)
    df = read_table(table, "training")
    syn = Synthesizer(
        sch,
        epochs=epochs,
        batch_size=batch_size,
        max_minutes=max_minutes,
        seed=seed,
        accelerator=accelerator,
        devices=_devices(devices),
        strategy=strategy,
        progress_bar=is_interactive(),  # a bar on a terminal, one log line per epoch otherwise
    )
    syn.fit(df, checkpoint_dir=checkpoint_dir, resume=resume)
    syn.save(out)
    m = syn.meta
    typer.echo(
        f"model {out}: rows={m['train_rows']} epochs={m['epochs_trained']} "
        f"val_fidelity={m['best_val_fidelity']} train_s={m['train_seconds']}"
    )


@app.command("generate")
def generate_cmd(
    model: Path = typer.Argument(..., help="Model file from `synthdata train`."),
    rows: int = typer.Option(..., "--rows", min=0, help="Rows to generate."),
    out: Path = typer.Option(..., "--out", help="Parquet file to write."),
    where: list[str] = typer.Option([], "--where", help="COLUMN=VALUE condition (repeatable), exact."),
    seed: int = typer.Option(0, "--seed"),
    batch_rows: int = typer.Option(50_000, "--batch-rows", min=1, help="Rows per streamed batch."),
) -> None:
    """Sample rows (streamed to Parquet in batches; memory stays bounded)."""
    from synthdata.model.synthesizer import Synthesizer

    if not model.exists():
        raise InputError("model file not found", path=str(model))
    syn = Synthesizer.load(model)
    n = syn.sample_to_parquet(
        out, rows, conditions=_parse_where(where) or None, seed=seed, batch_rows=batch_rows
    )
    typer.echo(f"wrote {n} rows to {out}")
