"""`synthdata export`: write a run's synthetic table (or any Parquet file) into a database, atomically."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from synthdata.cli.app import app
from synthdata.errors import InputError
from synthdata.export import DEFAULT_CHUNK_SIZE, IF_EXISTS, check_options, export_table


def synthetic_path_of_run(run_id: str, registry_url: str | None) -> Path:
    """The synthetic Parquet a run produced, looked up in the registry (id or unique id prefix)."""
    from synthdata.registry import Registry

    with Registry(registry_url, create=False) as reg:  # reading a run never creates a registry
        rid = reg.resolve_run_id(run_id)
        if rid is None:
            raise InputError(f"no run {run_id!r} in registry {reg.masked_url} (see `synthdata runs list`)")
        run = reg.get_run(rid)
    art = run.artefact("synth") if run is not None else None
    if art is None:
        raise InputError(f"run {rid} has no synthetic table (it stopped before the generate stage)")
    path = Path(art.path)
    if not path.is_file():
        raise InputError(f"synthetic table of run {rid} is gone from disk", path=str(path))
    return path


@app.command("export")
def export_cmd(
    run_id: str | None = typer.Argument(
        None, help="Run whose synthetic table to export (id or unique prefix)."
    ),
    to: str = typer.Option(
        ..., "--to", help="Target database URL (postgresql+psycopg://... or sqlite:///...)."
    ),
    table: str = typer.Option(..., "--table", help="Target table, `name` or `schema.name`."),
    if_exists: str = typer.Option("fail", "--if-exists", help=f"One of: {', '.join(IF_EXISTS)}."),
    chunk_size: int = typer.Option(
        DEFAULT_CHUNK_SIZE, "--chunk-size", help="Rows per batch sent to the database."
    ),
    file: Path | None = typer.Option(
        None, "--file", help="Export this Parquet file instead of a run's output."
    ),
    registry: str | None = typer.Option(
        None, "--registry", help="Run registry URL (default: $SYNTHDATA_DB_URL or sqlite:///./synthdata.db)."
    ),
) -> None:
    """Export synthetic rows all-or-nothing: a failure or kill leaves the target table unchanged."""
    if (run_id is None) == (file is None):
        raise InputError("give either RUN_ID or --file PATH (exactly one)")
    check_options(to, table, if_exists, chunk_size)  # all options, before the registry is read
    source = file if file is not None else synthetic_path_of_run(run_id, registry)  # type: ignore[arg-type]
    res = export_table(source, to, table, if_exists=if_exists, chunk_size=chunk_size)  # type: ignore[arg-type]
    Console().print(
        f"exported [bold]{res.rows:,}[/] rows to [bold]{res.table}[/] at {res.url} "
        f"in {res.seconds:.2f} s ([bold]{res.rows_per_s:,.0f} rows/s[/])",
        highlight=False,
    )
