"""`synthdata ingest`: clean a behaviour table into an interaction table with report and rejects."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from synthdata.cli.app import app
from synthdata.errors import ConfigError
from synthdata.ingest import IngestResult, ingest, rejects_to_table
from synthdata.ingest.api import check_rejects_target
from synthdata.masking import mask_url


def print_report(res: IngestResult, console: Console | None = None) -> None:
    """Rich summary of an ingest: counts, reasons, attribute tables and output paths."""
    console = console or Console()
    d = res.report.to_dict()
    t = Table(title=f"ingest {d['layout']}: {d['source']}", show_header=True, header_style="bold")
    t.add_column("metric")
    t.add_column("value", justify="right")
    for k in ("rows_in", "rows_kept", "rows_rejected", "rows_merged", "rows_out", "n_users", "n_items"):
        t.add_row(k, f"{d[k]:,}")
    t.add_row("density", f"{d['density']:.5f}")
    t.add_row("engine", d["engine"])
    if d["time_span"]:
        ts = d["time_span"]
        t.add_row("time span", f"{ts['min'][:10]} .. {ts['max'][:10]} ({ts['days']:.1f} d)")
    for reason, n in d["rejected_by_reason"].items():
        cols = ", ".join(f"{c}={m}" for c, m in d["rejected_by_reason_column"].get(reason, {}).items())
        t.add_row(f"  rejected: {reason}", f"{n:,} ({cols})")
    for kind, a in d["attributes"].items():
        t.add_row(
            f"{kind} table",
            f"in {a['rows_in']:,} / kept {a['rows_kept']:,} / rejected "
            f"{a['rows_rejected']:,} / merged {a['rows_merged']:,}",
        )
        for reason, n in a["rejected_by_reason"].items():
            t.add_row(f"  {kind} rejected: {reason}", f"{n:,}")
    console.print(t)
    for k, v in d["outputs"].items():
        if v:
            console.print(f"{k:>16}: {v}", highlight=False)
    if res.report_path:
        console.print(f"{'report':>16}: {res.report_path}", highlight=False)
    if res.inferred_schema_path:
        console.print(
            f"[yellow]no --schema given: inferred input schema written to "
            f"{res.inferred_schema_path} (edit it and pass --schema)[/]",
            highlight=False,
        )


@app.command("ingest")
def ingest_cmd(
    source: str = typer.Argument(..., help="CSV/TSV/Parquet file, folder, or SQLAlchemy URL."),
    layout: str = typer.Option("auto", help="auto | movielens-100k | events | interactions"),
    schema: Path | None = typer.Option(None, help="Schema YAML; inferred and written out when omitted."),
    table: str | None = typer.Option(None, help="Table name (SQL source)."),
    query: str | None = typer.Option(None, help="SELECT query (SQL source)."),
    out: Path = typer.Option(..., help="Clean table (.parquet); its schema goes to <stem>.schema.yaml."),
    rejects: Path | None = typer.Option(None, help="Rejected rows (.parquet or .csv)."),
    report: Path | None = typer.Option(None, help="Ingest report JSON."),
    encoding: str | None = typer.Option(None, help="Text encoding of CSV inputs (default utf-8)."),
    user_attributes: Path | None = typer.Option(None, help="User attribute table (CSV/Parquet)."),
    item_attributes: Path | None = typer.Option(None, help="Item attribute table (CSV/Parquet)."),
    chunk_size: int = typer.Option(200_000, help="Rows per chunk (bounds memory)."),
    rejects_to: str | None = typer.Option(
        None, "--rejects-to", help="Also append the rejects to a table at this SQLAlchemy URL."
    ),
    rejects_table: str = typer.Option("ingest_rejects", help="Table name for --rejects-to."),
    engine: str | None = typer.Option(
        None, help="duckdb (default: files via DuckDB, databases pushed down) | pandas (streaming)."
    ),
    threads: int | None = typer.Option(None, help="DuckDB threads (default: all cores)."),
    memory_limit: str | None = typer.Option(
        None, help="DuckDB memory limit, e.g. 4GB; beyond it DuckDB spills to a temp folder beside --out."
    ),
    on_malformed: str = typer.Option(
        "quarantine", help="CSV records with a wrong field count: quarantine (reject, go on) | error."
    ),
    pad_short_records: bool = typer.Option(
        False,
        "--pad-short-records",
        help="Keep CSV records with too few fields, padded with empty values (default: malformed).",
    ),
) -> None:
    """Validate, de-duplicate and (for event logs) aggregate SOURCE into a clean interaction table."""
    if table is not None and query is not None:
        raise ConfigError("give either --table or --query, not both")
    if rejects_to is not None:
        check_rejects_target(rejects_to, rejects_table)
    res = ingest(
        source,
        layout=layout,
        schema=schema,
        table=table,
        query=query,
        out=out,
        rejects=rejects,
        report=report,
        encoding=encoding,
        user_attributes=user_attributes,
        item_attributes=item_attributes,
        chunk_size=chunk_size,
        engine=engine,
        threads=threads,
        memory_limit=memory_limit,
        on_malformed=on_malformed,
        pad_short_records=pad_short_records,
    )
    print_report(res)
    if rejects_to is not None:
        n = rejects_to_table(res, rejects_to, rejects_table)
        Console().print(
            f"{'rejects table':>16}: {n:,} rows appended to {rejects_table} at {mask_url(rejects_to)}"
        )
