"""Export a table (synthetic Parquet or a DataFrame) into PostgreSQL or SQLite, all or nothing.

Why it is built this way:
- **Atomic.** Everything happens in ONE database transaction: create a staging table, stream the
  rows into it, verify the row count, then swap it in (``replace``: drop old + rename staging;
  ``fail``: rename; ``append``: ``INSERT ... SELECT``). Both PostgreSQL and SQLite have
  transactional DDL, so an error, or the process being killed at any point, rolls everything back:
  the target is exactly as it was and no staging table is left behind. Readers of the target are
  not blocked while rows stream in; they only wait for the brief swap at commit.
- **Fast.** PostgreSQL gets ``COPY ... FROM STDIN`` fed by pyarrow's C++ CSV writer, one Parquet
  row group batch at a time (``iter_batches``), so memory stays bounded by `chunk_size`. SQLite gets
  ``executemany`` in chunks inside the same single transaction.
- **Safe names.** Table and column names must match `IDENTIFIER_RE` (optionally ``schema.table``)
  and are then quoted by the dialect's identifier preparer; ``x; DROP TABLE y`` is refused.
- **Checked first.** Options, the driver, identifier lengths (per dialect) and, for ``replace``,
  objects that depend on the target (views, foreign keys: dropping the table would break them) are
  checked before a single row is streamed.
- **The target file is the user's.** A SQLite target keeps its journal mode (the registry's WAL
  setting is not applied to export targets).
- **No secrets.** Only masked URLs are logged or put in errors.
"""

from __future__ import annotations

import io
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlalchemy as sa

from synthdata.db import check_driver, create_engine, validate_identifier
from synthdata.errors import InputError, SynthdataError
from synthdata.log import get_logger, kv, progress
from synthdata.masking import mask_text, mask_url

IfExists = Literal["fail", "replace", "append"]
BACKENDS = ("postgresql", "sqlite")
IF_EXISTS = ("fail", "replace", "append")
DEFAULT_CHUNK_SIZE = 100_000

# Test hook: after this many chunks are written, the export pauses (sleeps) so a test can kill the
# process mid-way and check the target is untouched. Never set it in production.
STALL_ENV = "SYNTHDATA_EXPORT_STALL_AFTER_CHUNKS"

log = get_logger("export")


class ExportError(SynthdataError):
    """The export could not complete; the target table was left unchanged."""


@dataclass(frozen=True)
class ExportResult:
    table: str
    url: str  # masked
    rows: int
    seconds: float
    if_exists: str

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


# ---- source ---------------------------------------------------------------------------------------
class _Source:
    """Arrow schema, row count and a batch iterator over a Parquet file or a DataFrame."""

    def __init__(self, src: pd.DataFrame | pa.Table | str | Path, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self._pf: pq.ParquetFile | None = None
        self._table: pa.Table | None = None
        if isinstance(src, pd.DataFrame):
            self._table = pa.Table.from_pandas(src, preserve_index=False)
        elif isinstance(src, pa.Table):
            self._table = src
        else:
            path = Path(src)
            if not path.is_file():
                raise InputError("export source Parquet file not found", path=str(path))
            try:
                self._pf = pq.ParquetFile(path)
            except Exception as e:
                raise InputError(f"cannot read export source as Parquet: {e}", path=str(path)) from None
        self.schema: pa.Schema = self._table.schema if self._table is not None else self._pf.schema_arrow  # type: ignore[union-attr]
        self.rows: int = self._table.num_rows if self._table is not None else self._pf.metadata.num_rows  # type: ignore[union-attr]

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._table is not None:
            yield from self._table.to_batches(max_chunksize=self.chunk_size)
        else:
            assert self._pf is not None
            yield from self._pf.iter_batches(batch_size=self.chunk_size)


def _sa_type(field: pa.Field) -> sa.types.TypeEngine:
    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_boolean(t):
        return sa.Boolean()
    if pa.types.is_integer(t):
        small = t.bit_width < 32 or (t.bit_width == 32 and pa.types.is_signed_integer(t))
        return sa.Integer() if small else sa.BigInteger()
    if pa.types.is_floating(t):
        return sa.Float(precision=53) if t.bit_width == 64 else sa.Float()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return sa.Text()  # null: an all-missing (or empty) object column
    if pa.types.is_timestamp(t):
        return sa.DateTime(timezone=t.tz is not None)
    if pa.types.is_date(t):
        return sa.Date()
    if pa.types.is_decimal(t):
        return sa.Numeric(t.precision, t.scale)
    raise InputError(
        f"column type {t} cannot be exported (supported: bool, int, float, string, "
        "category, timestamp, date, decimal)",
        column=field.name,
    )


def _normalise(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Decode dictionary (category) columns to plain values; both writers want flat arrays."""
    cols = [c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


def _utc_naive(batch: pa.RecordBatch) -> pa.RecordBatch:
    """tz-aware timestamps -> naive UTC wall time in microseconds (PostgreSQL's precision).

    Arrow formats zoned timestamps far more slowly than naive ones (benchmarks/export_bench.py); the
    COPY runs with the session time zone set to UTC, so naive UTC text denotes exactly the same instants.
    """
    cols = []
    for c in batch.columns:
        t = c.type
        if pa.types.is_timestamp(t):
            c = c.cast(pa.timestamp("us", tz=t.tz), safe=False)
            if t.tz is not None:
                c = c.cast(pa.timestamp("us"))
        cols.append(c)
    return pa.RecordBatch.from_arrays(cols, names=batch.schema.names)


# ---- writers --------------------------------------------------------------------------------------
def _after_chunk(done: int) -> None:
    stall = os.environ.get(STALL_ENV)
    if stall and done >= int(stall):
        print(f"export stalled after {done} chunks ({STALL_ENV})", file=sys.stderr, flush=True)
        time.sleep(3600)


def _copy_postgres(conn: sa.Connection, qtable: str, qcols: list[str], src: _Source) -> int:
    raw = conn.connection.driver_connection
    if raw is None or not hasattr(raw, "cursor"):  # pragma: no cover - psycopg is the supported driver
        raise ExportError("PostgreSQL export needs the psycopg (v3) driver: use postgresql+psycopg://")
    written = 0
    opts = pacsv.WriteOptions(include_header=False, batch_size=max(1024, min(src.chunk_size, 65536)))
    n_chunks = -(-src.rows // src.chunk_size) if src.rows else 0
    sql = f"COPY {qtable} ({', '.join(qcols)}) FROM STDIN (FORMAT csv)"
    with raw.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")  # this transaction only; see _utc_naive
        with cur.copy(sql) as copy:
            for i, batch in enumerate(progress(src.batches(), n_chunks, "export", log), 1):
                buf = io.BytesIO()
                pacsv.write_csv(_utc_naive(_normalise(batch)), buf, opts)
                copy.write(buf.getbuffer())
                written += batch.num_rows
                _after_chunk(i)
    return written


def _sqlite_columns(batch: pa.RecordBatch) -> list[list[object]]:
    """Arrow columns as Python lists in the storage format SQLAlchemy's SQLite types read back.

    Timestamps become UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` (Arrow's cast: much faster than strftime).
    """
    out: list[list[object]] = []
    for col in _utc_naive(_normalise(batch)).columns:
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            col = col.cast(pa.string())
        elif pa.types.is_decimal(t):
            col = col.cast(pa.float64())
        out.append(col.to_pylist())
    return out


def _insert_sqlite(conn: sa.Connection, qtable: str, qcols: list[str], src: _Source) -> int:
    sql = f"INSERT INTO {qtable} ({', '.join(qcols)}) VALUES ({', '.join('?' * len(qcols))})"
    written = 0
    n_chunks = -(-src.rows // src.chunk_size) if src.rows else 0
    for i, batch in enumerate(progress(src.batches(), n_chunks, "export", log), 1):
        if batch.num_rows:
            conn.exec_driver_sql(sql, list(zip(*_sqlite_columns(batch), strict=True)))
        written += batch.num_rows
        _after_chunk(i)
    return written


# ---- dependents -----------------------------------------------------------------------------------
_PG_DEPENDENTS = """
SELECT DISTINCT CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
       || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_depend d
JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = CAST(:t AS regclass) AND c.oid <> d.refobjid
UNION
SELECT DISTINCT 'foreign key ' || quote_ident(con.conname) || ' of ' || quote_ident(n.nspname) || '.'
       || quote_ident(c.relname)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'f' AND con.confrelid = CAST(:t AS regclass) AND con.conrelid <> con.confrelid
ORDER BY 1
"""


def dependents(conn: sa.Connection, q_target: str) -> list[str]:
    """Objects that a ``DROP TABLE`` of the target would break, asked of the database itself.

    PostgreSQL: its dependency catalog (views, materialized views, foreign keys of other tables).
    SQLite has no such catalog, but ``ALTER TABLE ... RENAME`` rewrites every view, trigger and
    foreign key that refers to the table: rename it inside a savepoint, see which definitions
    changed, roll back.
    """
    if conn.dialect.name == "postgresql":
        return list(conn.execute(sa.text(_PG_DEPENDENTS), {"t": q_target}).scalars())
    probe = f"_sd_probe_{uuid.uuid4().hex[:12]}"
    q_probe = conn.dialect.identifier_preparer.quote(probe)
    nested = conn.begin_nested()
    try:
        conn.exec_driver_sql(f"ALTER TABLE {q_target} RENAME TO {q_probe}")
        rows = conn.exec_driver_sql(
            "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table') "
            "AND tbl_name <> ? AND instr(sql, ?) > 0 ORDER BY type, name",
            (probe, probe),
        ).all()
    finally:
        nested.rollback()
    return [f"foreign key of table {name}" if kind == "table" else f"{kind} {name}" for kind, name in rows]


# ---- main entry -----------------------------------------------------------------------------------
def check_options(url: str, table: str, if_exists: str, chunk_size: int) -> tuple[sa.URL, str | None, str]:
    """Validate every export option without touching the database: ``(url, schema, table)``."""
    if if_exists not in IF_EXISTS:
        raise InputError(f"if_exists must be one of {', '.join(IF_EXISTS)}, got {if_exists!r}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be >= 1, got {chunk_size}")
    u = check_driver(url, what="export URL", backends=BACKENDS)
    schema_name, table_name = validate_identifier(table, what="table name", allow_schema=True, dialect=u)
    return u, schema_name, table_name


def export_table(
    source: pd.DataFrame | pa.Table | str | Path,
    url: str,
    table: str,
    *,
    if_exists: IfExists = "fail",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ExportResult:
    """Write `source` to `table` at `url` atomically; returns rows written and the time taken.

    ``if_exists``: ``fail`` (refuse when the table exists), ``replace`` (swap the new table in),
    ``append`` (add rows; the table must have every source column). Raises `InputError` for bad
    names/types/sources (exit code 2) and `ExportError` when the database refuses (exit code 1);
    in both cases the target is unchanged.
    """
    u, schema_name, table_name = check_options(url, table, if_exists, chunk_size)
    masked = mask_url(u)
    src = _Source(source, chunk_size)
    columns = _columns_of(src, u)
    engine = create_engine(u, wal=False)
    dbapi_error = getattr(engine.dialect.loaded_dbapi, "Error", sa.exc.SQLAlchemyError)  # raw COPY errors
    staging = sa.Table(f"_sd_stage_{uuid.uuid4().hex[:12]}", sa.MetaData(), *columns, schema=schema_name)
    t0 = time.perf_counter()
    try:
        with engine.connect() as probe:
            exists = sa.inspect(probe).has_table(table_name, schema=schema_name)
        if exists and if_exists == "fail":
            raise InputError(
                f"table {table!r} already exists at {masked} (use --if-exists replace or append)"
            )
        log.info(
            kv(
                event="export_start",
                table=table,
                url=masked,
                rows=src.rows,
                if_exists=if_exists,
                chunk_size=chunk_size,
            )
        )
        target = _Target.of(engine, table, table_name, schema_name, masked, if_exists, staging)
        with engine.begin() as conn:  # ONE transaction: any failure or kill rolls all of it back
            if exists and if_exists == "replace":
                _refuse_dependents(conn, target)
            _stage_rows(conn, target, staging, src)
            _swap_in(conn, target, src.rows)
    except SynthdataError:
        raise
    except (sa.exc.SQLAlchemyError, dbapi_error) as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise ExportError(
            f"export to {table!r} at {masked} failed, target unchanged: {mask_text(detail)}"
        ) from None
    finally:
        engine.dispose()
    return _finished(target, src.rows, time.perf_counter() - t0)


def _columns_of(src: _Source, url: sa.URL) -> list[sa.Column]:
    """The staging table's columns: source names checked as identifiers, Arrow types mapped."""
    for name in src.schema.names:
        validate_identifier(name, what="column name", dialect=url)
    columns = [sa.Column(f.name, _sa_type(f)) for f in src.schema]
    if not columns:
        raise InputError("export source has no columns")
    return columns


@dataclass(frozen=True)
class _Target:
    """The table an export writes to, and the quoted names its SQL statements use."""

    table: str  # as given by the user (for messages)
    name: str  # table name without schema
    schema: str | None
    url: str  # masked
    if_exists: str
    columns: list[str]  # the source's column names
    q_target: str
    q_staging: str
    q_cols: list[str]  # the same, quoted

    @classmethod
    def of(
        cls,
        engine: sa.Engine,
        table: str,
        name: str,
        schema: str | None,
        url: str,
        if_exists: str,
        staging: sa.Table,
    ) -> _Target:
        prep = engine.dialect.identifier_preparer
        return cls(
            table=table,
            name=name,
            schema=schema,
            url=url,
            if_exists=if_exists,
            columns=[c.name for c in staging.columns],
            q_target=prep.format_table(sa.Table(name, sa.MetaData(), schema=schema)),
            q_staging=prep.format_table(staging),
            q_cols=[prep.quote(c.name) for c in staging.columns],
        )


def _refuse_dependents(conn: sa.Connection, t: _Target) -> None:
    """``replace`` drops the target: refuse when views or foreign keys depend on it."""
    deps = dependents(conn, t.q_target)
    if deps:
        raise InputError(
            f"cannot replace {t.table!r} at {t.url}: {', '.join(deps)} depend(s) on it and "
            "dropping the table would break them; drop or change them first, or use "
            "--if-exists append; nothing was written"
        )


def _stage_rows(conn: sa.Connection, t: _Target, staging: sa.Table, src: _Source) -> None:
    """Create the staging table and stream every source row into it; the counts must agree."""
    staging.create(conn)
    writer = _copy_postgres if conn.dialect.name == "postgresql" else _insert_sqlite
    written = writer(conn, t.q_staging, t.q_cols, src)
    staged = conn.execute(sa.text(f"SELECT count(*) FROM {t.q_staging}")).scalar_one()
    if not (written == staged == src.rows):
        raise ExportError(
            f"row count mismatch: source {src.rows}, sent {written}, staged {staged}; rolled back"
        )


def _swap_in(conn: sa.Connection, t: _Target, rows: int) -> None:
    """Move the staged rows into the target: append them, or rename the staging table into place."""
    exists = sa.inspect(conn).has_table(t.name, schema=t.schema)
    if exists and t.if_exists == "append":
        _append_staged(conn, t, rows)
        return
    if exists and t.if_exists == "fail":
        raise InputError(f"table {t.table!r} was created concurrently at {t.url}; nothing written")
    if exists:  # replace
        conn.execute(sa.text(f"DROP TABLE {t.q_target}"))
    name = conn.dialect.identifier_preparer.quote(t.name)
    conn.execute(sa.text(f"ALTER TABLE {t.q_staging} RENAME TO {name}"))
    final = conn.execute(sa.text(f"SELECT count(*) FROM {t.q_target}")).scalar_one()
    if final != rows:
        raise ExportError(f"row count mismatch: target has {final} rows, expected {rows}; rolled back")


def _append_staged(conn: sa.Connection, t: _Target, rows: int) -> None:
    """``INSERT ... SELECT`` the staged rows into the existing target (which must have every column)."""
    target_cols = {c["name"] for c in sa.inspect(conn).get_columns(t.name, schema=t.schema)}
    missing = [c for c in t.columns if c not in target_cols]
    if missing:
        raise InputError(f"cannot append to {t.table!r}: it has no column(s) {', '.join(missing)}")
    col_list = ", ".join(t.q_cols)
    inserted = conn.execute(
        sa.text(f"INSERT INTO {t.q_target} ({col_list}) SELECT {col_list} FROM {t.q_staging}")
    ).rowcount
    conn.execute(sa.text(f"DROP TABLE {t.q_staging}"))
    if inserted != rows:
        raise ExportError(f"row count mismatch: inserted {inserted} of {rows}; rolled back")


def _finished(t: _Target, rows: int, seconds: float) -> ExportResult:
    result = ExportResult(table=t.table, url=t.url, rows=rows, seconds=seconds, if_exists=t.if_exists)
    log.info(
        kv(
            event="export_done",
            table=t.table,
            url=t.url,
            rows=result.rows,
            seconds=f"{seconds:.2f}",
            rows_per_s=f"{result.rows_per_s:.0f}",
        )
    )
    return result


def read_table(url: str, table: str) -> pd.DataFrame:
    """Read an exported table back (validated + quoted name); for checks, tests and benchmarks."""
    schema_name, table_name = validate_identifier(table, what="table name", allow_schema=True, dialect=url)
    engine = create_engine(url, wal=False)
    try:
        t = sa.Table(table_name, sa.MetaData(), schema=schema_name, autoload_with=engine)
        with engine.connect() as conn:
            return pd.read_sql(sa.select(t), conn)
    finally:
        engine.dispose()
