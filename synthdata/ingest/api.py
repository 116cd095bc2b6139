"""`ingest()`: one call from a source to a clean interaction table, its schema, rejects and report.

Every option is checked before anything is written; outputs are written under temporary names in
their folders and renamed into place only when the whole ingest succeeded, so a failed ingest
leaves no partial, empty or stale-looking file behind. The cleaning itself is a `Plan` run by one
of three executors: DuckDB for files (default), push-down into the source database for SQL
sources, or the streaming pandas path (`engine="pandas"`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.atomic import Staging, ensure_writable
from synthdata.errors import ConfigError, InputError
from synthdata.ingest.executors import execute
from synthdata.ingest.infer import infer_schema
from synthdata.ingest.layouts import LAYOUTS, Input, main_specs, resolve_input
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import IngestReport, RejectsWriter
from synthdata.ingest.sources import Source, is_glob, is_sql_url, open_source
from synthdata.ingest.sources.csvtext import MALFORMED
from synthdata.log import get_logger, kv
from synthdata.masking import mask_url
from synthdata.schema import Schema, schema_path_for

log = get_logger("ingest")
DEFAULT_CHUNK = 200_000
ENGINES = ("duckdb", "pandas")
DEFAULT_ENGINE = "duckdb"
ON_MALFORMED = ("quarantine", "error")
_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)


@dataclass
class IngestResult:
    """Paths written by `ingest` plus the report and the clean table's schema."""

    report: IngestReport
    schema: Schema  # output schema (also at schema_path)
    input_schema: Schema  # the given or inferred input schema
    out: Path
    schema_path: Path
    rejects_path: Path
    report_path: Path | None
    inferred_schema_path: Path | None

    def read(self) -> pd.DataFrame:
        return pd.read_parquet(self.out)


def sidecar(out: Path, suffix: str) -> Path:
    """`clean.parquet` + `.schema.yaml` -> `clean.schema.yaml`."""
    return out.with_name(out.stem + suffix)


def check_options(
    *,
    layout: str,
    chunk_size: int,
    engine: str | None,
    threads: int | None,
    memory_limit: str | None,
    on_malformed: str,
    out: Path,
    rejects: Path,
    report: Path | None,
) -> None:
    """Every option, checked before any output exists (ConfigError names the option)."""
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if chunk_size < 1:
        raise ConfigError("chunk_size must be >= 1")
    if engine is not None and engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {threads}")
    if memory_limit is not None and not _MEMORY.match(memory_limit):
        raise ConfigError(f"--memory-limit must look like 4GB or 512MiB, got {memory_limit!r}")
    if on_malformed not in ON_MALFORMED:
        raise ConfigError(f"--on-malformed must be one of {', '.join(ON_MALFORMED)}, got {on_malformed!r}")
    if out.suffix.lower() != ".parquet":
        raise ConfigError(f"--out must be a .parquet file, got {out}")
    if rejects.suffix.lower() not in (".parquet", ".csv"):
        raise ConfigError(f"--rejects must be a .parquet or .csv file, got {rejects}")
    if report is not None and report.suffix.lower() != ".json":
        raise ConfigError(f"--report must be a .json file, got {report}")
    finals = [out, rejects, schema_path_for(out)] + ([report] if report is not None else [])
    if len({p.resolve() for p in finals}) != len(finals):
        raise ConfigError("--out, --rejects, --report and the schema file must be different files")
    for p in finals:
        if p.exists() and p.is_dir():
            raise ConfigError(f"output path is a folder: {p}")
    for p, what in zip(finals, ("--out", "--rejects", "the schema file", "--report"), strict=False):
        ensure_writable(p, what=what)  # e.g. a path below a plain file: one line, before any work


def ingest(
    source: str | Path,
    layout: str = "auto",
    schema: Schema | str | Path | None = None,
    *,
    table: str | None = None,
    query: str | None = None,
    out: str | Path = "clean.parquet",
    rejects: str | Path | None = None,
    report: str | Path | None = None,
    encoding: str | None = None,
    user_attributes: str | Path | None = None,
    item_attributes: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    engine: str | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    on_malformed: str = "quarantine",
    pad_short_records: bool = False,
) -> IngestResult:
    """Clean `source` into `out` (Parquet) with `<stem>.schema.yaml` beside it.

    source: CSV/TSV file (delimiter and header sniffed), Parquet file, folder or glob (hive
    partitions become columns), SQLAlchemy URL (with `table` or a one-statement `query`), or a
    folder (MovieLens-100K, or one holding events.csv [+ users.csv, items.csv]).
    layout: auto | movielens-100k | events | interactions. schema: a Schema or YAML path; when
    None one is inferred and written to `<stem>.inferred-schema.yaml` for editing.
    engine: duckdb (default; database sources are pushed down) | pandas (streaming); threads and
    memory_limit (e.g. "4GB", spilling to disk beyond it) apply to DuckDB. on_malformed:
    quarantine (CSV records with the wrong number of fields become `malformed_record` rejects) |
    error. pad_short_records: keep CSV records with too few fields, padded with empty values
    (default: they are malformed too). rejects: default `<stem>.rejects.parquet`. Raises
    InputError/ConfigError.
    """
    t0 = time.perf_counter()
    now = pd.Timestamp.now(tz="UTC")
    out = Path(out)
    rejects_path = Path(rejects) if rejects is not None else sidecar(out, ".rejects.parquet")
    report_path = Path(report) if report is not None else None
    engine = engine or DEFAULT_ENGINE
    limits = {"threads": threads, "memory_limit": memory_limit}
    check_options(
        layout=layout,
        chunk_size=chunk_size,
        engine=engine,
        on_malformed=on_malformed,
        **limits,
        out=out,
        rejects=rejects_path,
        report=report_path,
    )
    attributes = {"user_attributes": user_attributes, "item_attributes": item_attributes}
    reading = {"chunk_size": chunk_size, "on_malformed": on_malformed, "pad_short_records": pad_short_records}
    label, inp, src = _open_input(source, layout, schema, table, query, encoding, attributes, reading)
    try:
        plan = _plan(inp, src, now, chunk_size, {**limits, "pad_short_records": pad_short_records})
        res = _run_staged(src, plan, engine, out, rejects_path, report_path, t0)
    finally:
        src.close()
    _log_done(label, plan.layout, res.report)
    return res


def _open_input(
    source: str | Path,
    layout: str,
    schema: Schema | str | Path | None,
    table: str | None,
    query: str | None,
    encoding: str | None,
    attributes: dict[str, Any],
    reading: dict[str, Any],
) -> tuple[str, Input, Source]:
    """(label for logs and errors — a database URL masked, the resolved input, its open source);
    a missing file is an error."""
    label = mask_url(str(source)) if is_sql_url(source) else str(source)
    if not is_sql_url(source) and not is_glob(source) and not Path(source).exists():
        raise InputError("input not found", path=label)
    given = Schema.from_yaml(schema) if isinstance(schema, str | Path) else schema
    inp = resolve_input(source, layout, given, **attributes, encoding=encoding, label=label)
    src = open_source(inp.source, table=table, query=query, encoding=encoding, csv_opts=inp.csv, **reading)
    return label, inp, src


def _log_done(label: str, layout: str, rep: IngestReport) -> None:
    done = {"rows_in": rep.main.rows_in, "rows_out": rep.rows_out, "rejected": rep.main.rows_rejected}
    log.info(
        kv(
            event="ingest_done",
            source=label,
            layout=layout,
            engine=rep.engine,
            **done,
            seconds=round(rep.elapsed_s, 2),
        )
    )


def _plan(inp: Input, src: Source, now: pd.Timestamp, chunk_size: int, settings: dict[str, Any]) -> Plan:
    """The cleaning plan for an opened input: its schema (given, or inferred from the first rows),
    the layout it resolves to and the main table's columns, each checked to be in the source. The
    plan's `out` is set when the outputs are staged."""
    in_schema = inp.schema
    inferred = in_schema is None
    if in_schema is None:
        in_schema = infer_schema(_sample(src), src, origin=src.label)
    layout = inp.layout or ("events" if in_schema.event_col is not None else "interactions")
    if layout == "events" and in_schema.event_col is None:
        raise InputError(
            "events layout needs an event-type column (role event_type) in the schema", path=src.label
        )
    if layout == "events" and not in_schema.event_types:
        raise ConfigError("events layout needs `event_types` in the schema (the allowed event types)")
    specs = main_specs(layout, in_schema, inp.sides)
    for s in specs:
        if s.input_name not in src.columns:
            raise InputError(
                "required column missing", path=src.label, column=str(s.input_name), row=src.header_line
            )
    return Plan(
        schema=in_schema,
        layout=layout,
        specs=specs,
        sides=inp.sides,
        now=now,
        out=Path(),
        label=src.label,
        chunk_size=chunk_size,
        first_row=src.first_row,
        inferred=inferred,
        settings=settings,
    )


def _run_staged(
    src: Source,
    plan: Plan,
    engine: str,
    out: Path,
    rejects_path: Path,
    report_path: Path | None,
    t0: float,
) -> IngestResult:
    """Run the plan with every output written under a temporary name, renamed into place only
    when the whole ingest succeeded."""
    staging = Staging()
    try:
        plan.out = staging.path(out)
        writer = RejectsWriter(staging.path(rejects_path))
        try:
            outcome, used = execute(src, plan, engine, writer)
        finally:
            writer.close()
        res = _finish(outcome, plan, src, staging, out, rejects_path, report_path, plan.inferred, t0, used)
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    return res


def _finish(
    o: Outcome,
    plan: Plan,
    src: Source,
    staging: Staging,
    out: Path,
    rejects_path: Path,
    report_path: Path | None,
    inferred: bool,
    t0: float,
    engine: str,
) -> IngestResult:
    o.main.check()
    schema_path = schema_path_for(out)
    assert o.schema is not None
    o.schema.to_yaml(staging.path(schema_path))
    inferred_path = sidecar(out, ".inferred-schema.yaml") if inferred else None
    if inferred_path is not None:
        plan.schema.to_yaml(staging.path(inferred_path))
    rep = IngestReport(
        source=src.label,
        layout=plan.layout,
        out=str(out),
        schema_path=str(schema_path),
        rejects_path=str(rejects_path),
        main=o.main,
        attributes=o.attributes,
        rows_out=o.rows_out,
        n_users=int(o.n_users),
        n_items=int(o.n_items),
        time_span=o.span,
        inferred_schema_path=str(inferred_path) if inferred_path else None,
        engine=engine,
    )
    rep.elapsed_s = time.perf_counter() - t0
    if report_path is not None:
        rep.to_json(staging.path(report_path))
    return IngestResult(
        report=rep,
        schema=o.schema,
        input_schema=plan.schema,
        out=out,
        schema_path=schema_path,
        rejects_path=rejects_path,
        report_path=report_path,
        inferred_schema_path=inferred_path,
    )


def _sample(src: Source, n: int = 20_000) -> pd.DataFrame:
    """The first chunk with rows, to infer the schema from (malformed records are not rows)."""
    it = src.chunks()
    malformed: list[tuple[int, str]] = []
    try:
        for chunk in it:
            if len(chunk):
                return chunk.head(n)
            malformed += chunk.attrs.get(MALFORMED, [])
    finally:
        it.close()
    if malformed:
        line = malformed[0][0]
        raise InputError(
            f"no well-formed data rows to infer a schema from: {len(malformed)} records have the wrong "
            "number of fields (pass --schema, or --pad-short-records)",
            path=src.label,
            row=line,
        )
    raise InputError("empty input: no data rows", path=src.label, row=2)


def rejects_to_table(
    result: IngestResult, url: str, table: str = "ingest_rejects", *, if_exists: str = "append"
) -> int:
    """Load the rejects file into a database table (all or nothing, via the export module).

    Each row gets `ingested_at` and `clean_table` so a nightly job can append and still tell runs
    apart; the file stays the complete record. Returns the number of rows written.
    """
    from synthdata.export import export_table

    p = Path(result.rejects_path)
    df = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, dtype=str, keep_default_na=False)
    for c in df.columns:  # one portable column type for values and raw rows of any source
        if df[c].dtype == object:
            df[c] = df[c].astype("string")
    df.insert(0, "ingested_at", pd.Timestamp.now(tz="UTC"))
    df.insert(1, "clean_table", str(result.out))
    return export_table(df, url, table, if_exists=if_exists).rows  # type: ignore[arg-type]


def check_rejects_target(url: str, table: str) -> None:
    """`--rejects-to URL --rejects-table NAME`, checked before the ingest writes anything."""
    from synthdata.db import check_driver, validate_identifier

    u = check_driver(url, what="--rejects-to URL")
    validate_identifier(table, what="--rejects-table name", allow_schema=True, dialect=u)


__all__: list[Any] = ["IngestResult", "check_rejects_target", "ingest", "rejects_to_table", "sidecar"]
