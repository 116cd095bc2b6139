"""`synthdata split`: train/test split of a clean interaction table (per-user temporal by default)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import typer

from synthdata.atomic import ensure_writable
from synthdata.cli.app import app
from synthdata.errors import InputError
from synthdata.log import get_logger, kv
from synthdata.schema import Schema, schema_path_for
from synthdata.split import PROTOCOLS, split

log = get_logger("cli.split")


def load_schema(table: Path, schema: Path | None) -> Schema:
    p = schema if schema is not None else schema_path_for(table)
    if not p.exists():
        raise InputError(
            "schema not found; pass --schema or keep <stem>.schema.yaml beside the table", path=str(p)
        )
    return Schema.from_yaml(p)


def read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise InputError(f"{what} table not found", path=str(path))
    try:
        return pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types for corrupt/non-Parquet files
        raise InputError(
            f"{what} table is not a readable Parquet file: {type(e).__name__}", path=str(path)
        ) from None


def write_table(df: pd.DataFrame, path: Path, schema_src: Path | None, schema: Schema) -> None:
    """Write Parquet plus the schema beside it, so the next command finds it without --schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    dst = schema_path_for(path)
    if schema_src is not None and schema_src.exists():
        if schema_src.resolve() != dst.resolve():
            shutil.copyfile(schema_src, dst)
    else:
        schema.to_yaml(dst)


@app.command("split")
def split_cmd(
    table: Path = typer.Argument(..., help="Clean interaction table (Parquet)."),
    protocol: str = typer.Option("user-temporal", help=f"One of: {', '.join(PROTOCOLS)}."),
    test_fraction: float = typer.Option(
        0.2, "--test-fraction", help="Share of each user's rows (or of all rows) for test."
    ),
    out_train: Path = typer.Option(..., "--out-train", help="Training split (Parquet)."),
    out_test: Path = typer.Option(..., "--out-test", help="Test split (Parquet)."),
    seed: int = typer.Option(0, help="Breaks timestamp ties; drives user-random."),
    schema: Path | None = typer.Option(None, help="Schema YAML; default <stem>.schema.yaml beside TABLE."),
) -> None:
    """Split interactions into train and test; test holds each user's latest rows by default."""
    from rich.console import Console

    ensure_writable(out_train, what="--out-train")
    ensure_writable(out_test, what="--out-test")
    sch = load_schema(table, schema)
    df = read_table(table, "input")
    train, test = split(df, sch, protocol=protocol, test_fraction=test_fraction, seed=seed)  # type: ignore[arg-type]
    src = schema if schema is not None else schema_path_for(table)
    write_table(train, out_train, src, sch)
    write_table(test, out_test, src, sch)
    u = sch.user_col
    log.info(kv(stage="split", protocol=protocol, train_rows=len(train), test_rows=len(test)))
    Console().print(
        f"split [bold]{protocol}[/]: train {len(train):,} rows / {train[u].nunique():,} users → {out_train}; "
        f"test {len(test):,} rows / {test[u].nunique():,} users → {out_test}"
    )
