"""Export one table, all or nothing: check the options and the target's dependents, stage the rows,
verify the count, swap the staging table in (see the package doc)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from synthdata.db import check_driver, create_engine, validate_identifier
from synthdata.errors import InputError, SynthdataError
from synthdata.export.base import (
    BACKENDS,
    DEFAULT_CHUNK_SIZE,
    IF_EXISTS,
    ExportError,
    ExportResult,
    IfExists,
    log,
)
from synthdata.export.rows import RowSource, copy_postgres, insert_sqlite, sa_type
from synthdata.log import kv
from synthdata.masking import mask_text, mask_url

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
    src = RowSource(source, chunk_size)
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


def _columns_of(src: RowSource, url: sa.URL) -> list[sa.Column]:
    """The staging table's columns: source names checked as identifiers, Arrow types mapped."""
    for name in src.schema.names:
        validate_identifier(name, what="column name", dialect=url)
    columns = [sa.Column(f.name, sa_type(f)) for f in src.schema]
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


def _stage_rows(conn: sa.Connection, t: _Target, staging: sa.Table, src: RowSource) -> None:
    """Create the staging table and stream every source row into it; the counts must agree."""
    staging.create(conn)
    writer = copy_postgres if conn.dialect.name == "postgresql" else insert_sqlite
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
