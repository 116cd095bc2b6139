"""The DuckDB executor: the plan run as SQL over CSV/Parquet files, folders and globs.

DuckDB reads the input in parallel and out of core (`threads`, `memory_limit`, spilling to a temp
folder beside the output). Rows the SQL cannot vouch for go through the pandas validator (see
`checks`), so rejects are identical to the streaming executor's; good rows are de-duplicated
(by fingerprint where memory allows, `dedup`), checked for attribute conflicts and aggregated
in SQL, and written by DuckDB (`write`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.errors import InputError
from synthdata.ingest.executors.duckdb.checks import SQL_TYPE, column_checks, resolve_conflicts, row_checks
from synthdata.ingest.executors.duckdb.connect import connect, limit_bytes
from synthdata.ingest.executors.duckdb.dedup import Fingerprints, dedup_sql, fingerprint_budget
from synthdata.ingest.executors.duckdb.read import (
    CsvRead,
    DuckInput,
    after_csv_read,
    raw_name,
    reread_suspects,
    source_sql,
    unlined_sql,
)
from synthdata.ingest.executors.duckdb.render import ident, lit
from synthdata.ingest.executors.duckdb.write import drop_inputs, write_result
from synthdata.ingest.executors.pandas.checks import validate_chunk
from synthdata.ingest.output import arrow_schema, canonical
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import Tally
from synthdata.ingest.sources import LINE, CsvSource, Source
from synthdata.ingest.sources.parquet import arrow_to_pandas
from synthdata.schema import ColumnSpec, DType, Role


def run_duckdb(src: Source, plan: Plan, rejects: Any) -> Outcome:
    tmp = plan.out.parent / f".{plan.out.stem}.duckdb-tmp.{time.monotonic_ns()}"
    con = connect(plan, tmp, ordered=isinstance(src, CsvSource))
    try:
        return _run(con, src, plan, HeldRejects(rejects))
    except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException) as e:
        raise InputError(f"cannot read input: {str(e).splitlines()[0]}", path=src.label) from None
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class RowChecks:
    """The plan's checks over the input as DuckDB SQL: each column's typed value (`columns`, over the
    helper columns `helpers`) and the condition that a row is certainly clean (`sure`); rows failing
    it go to the pandas validator with their raw text (`keep_raw`)."""

    columns: str
    sure: str
    helpers: str
    keep_raw: str
    raw_names: list[str]
    key: str  # the clean columns, for de-duplication
    fused: bool  # events de-duplicated inside the aggregation's query (no inline attributes)
    enum: bool  # the event type is the `_event_types` ENUM

    def checked(self, rows: str, with_raw: bool) -> str:
        """The typed values and `_ok` of `rows` (with the raw text and line of doubtful rows)."""
        also = f", {self.keep_raw}, {ident(LINE)}" if with_raw else ""
        return (
            f"SELECT {self.columns}, _ok{also} FROM "
            f"(SELECT *, {self.sure} AS _ok FROM (SELECT *{self.helpers} FROM {rows}))"
        )

    def typed(self, rows: str) -> str:
        return f"SELECT {self.columns}, {self.sure} AS _ok FROM (SELECT *{self.helpers} FROM {rows})"


@dataclass
class Checked:
    """Counts after the checks: rows read, rows certainly clean; the clean rows' fingerprints (None:
    `DISTINCT` de-duplicates); SQL of the doubtful rows with their line (`_lineno`)."""

    n_raw: int
    n_ok: int
    fingerprints: Fingerprints | None
    suspect_rows: str


def _run(con: duckdb.DuckDBPyConnection, src: Source, plan: Plan, rejects: Any) -> Outcome:
    main = Tally(source=src.label)
    inp = source_sql(con, src, main, rejects)  # the input as read (+ _line for Parquet)
    checks = _row_checks(con, src, plan, inp)
    if inp.csv is None:
        done = _check_lined_rows(con, src, plan, inp.sql, checks)
    else:
        done = _check_csv_rows(con, plan, inp.csv, inp.line_sql or "", checks, main, rejects)
    n_extra = con.execute("SELECT count(*) FROM extra_raw").fetchall()[0][0]
    main.rows_in += done.n_raw + n_extra
    if main.rows_in == 0:
        raise InputError("empty input: no data rows", path=src.label, row=plan.first_row)
    _rescue(con, src, plan, checks, done, n_extra, main, rejects)
    _dedup(con, checks, done.fingerprints)
    n_rescued = con.execute("SELECT count(*) FROM rescued").fetchall()[0][0]
    tables, attr_tallies, out_schema = plan.attributes(rejects)
    kept = resolve_conflicts(con, plan, main, rejects)
    out, n_kept = write_result(con, kept, plan, out_schema, tables)
    # without conflicts every de-duplicated row is kept; with them, dedup is a table to count
    n_dedup = n_kept if checks.fused else con.execute("SELECT count(*) FROM dedup").fetchall()[0][0]
    main.rows_merged += done.n_ok + n_rescued - n_dedup
    main.rows_kept = n_kept
    out.main, out.attributes, out.schema = main, attr_tallies, out_schema
    return out


def _row_checks(con: duckdb.DuckDBPyConnection, src: Source, plan: Plan, inp: DuckInput) -> RowChecks:
    """Each column's checks (`checks.column_checks`) and the row rules (`checks.row_checks`), as SQL
    over the input's column types."""
    types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {inp.sql})").fetchall()
    )
    typed, conds, helpers = {}, [], {}
    fused = plan.layout == "events" and not (plan.inline_user_attributes or plan.inline_item_attributes)
    enum = fused and _events_type(con, plan)
    nul = inp.csv is None or inp.csv.scan.has_nul
    for s in plan.specs:
        col = raw_name(src, s.input_name)
        v, cond, helper = column_checks(s, ident(col), types[col], plan.now, plan.schema.event_types, nul)
        if enum and s.role == Role.EVENT_TYPE and types[col].upper() == "VARCHAR":
            v = f"TRY_CAST({ident(col)} AS {EVENTS})"  # certain rows hold one of the types exactly
        typed[s.name] = v
        conds.append(cond)
        helpers.update(helper)
    conds += row_checks(plan, typed)
    raw_names = [raw_name(src, c) for c in src.columns]
    return RowChecks(
        columns=", ".join(f"{v} AS {ident(n)}" for n, v in typed.items()),
        sure=" AND ".join(f"coalesce({c}, FALSE)" for c in conds) or "TRUE",
        helpers="".join(f", {e} AS {a}" for a, e in helpers.items()),
        keep_raw=", ".join(
            f"CASE WHEN _ok THEN NULL ELSE {ident(c)} END AS {ident('_raw_' + c)}" for c in raw_names
        ),
        raw_names=raw_names,
        key=", ".join(ident(n) for n in plan.names),
        fused=fused,
        enum=enum,
    )


def _check_lined_rows(
    con: duckdb.DuckDBPyConnection, src: Source, plan: Plan, rows: str, checks: RowChecks
) -> Checked:
    """Rows that carry their line (Parquet, or chunks read by pandas): the checks stay a view,
    re-read by the aggregation instead of stored (the stored copy took the memory the
    de-duplication needs); doubtful rows are stored with their raw text. The clean rows are re-read
    without line numbers (`clean`): numbering joins file names."""
    unlined = unlined_sql(src, rows)
    con.execute(f"CREATE VIEW checked AS {checks.checked(rows, with_raw=True)}")
    typed_rows = checks.typed(unlined)
    con.execute(f"CREATE VIEW clean AS SELECT * EXCLUDE (_ok) FROM ({typed_rows}) WHERE _ok")
    n_raw = con.execute(f"SELECT count(*) FROM {unlined}").fetchall()[0][0]
    fingerprints = _fingerprints(plan, checks.fused, n_raw)
    if fingerprints is not None:  # one pass: the clean rows' fingerprints, and how many are not clean
        fingerprints.add(con, f"SELECT CASE WHEN _ok THEN hash({checks.key}) END FROM ({typed_rows})")
    if fingerprints is None or fingerprints.missing:
        con.execute("CREATE TABLE suspects AS SELECT * FROM checked WHERE NOT _ok")
    else:
        con.execute("CREATE TABLE suspects AS SELECT * FROM checked LIMIT 0")
    n_ok = n_raw - con.execute("SELECT count(*) FROM suspects").fetchall()[0][0]
    con.execute(f"CREATE VIEW checked_lines AS SELECT checked.*, {ident(LINE)} AS _lineno FROM checked")
    return Checked(n_raw, n_ok, fingerprints, f"(SELECT *, {ident(LINE)} AS _lineno FROM suspects)")


def _check_csv_rows(
    con: duckdb.DuckDBPyConnection,
    plan: Plan,
    read: CsvRead,
    line_sql: str,
    checks: RowChecks,
    main: Tally,
    rejects: Any,
) -> Checked:
    """A CSV read by DuckDB: the checked values are stored, in the reader's order (a row's line
    comes from its rowid and the lines the reader skipped before it, `line_sql`); the raw text of
    doubtful rows is read again from the file, by position (`read.reread_suspects`)."""
    con.execute(f"CREATE TABLE checked AS {checks.checked(read.sql('store_rejects = true'), with_raw=False)}")
    con.execute("CREATE VIEW clean AS SELECT * EXCLUDE (_ok) FROM checked WHERE _ok")
    after_csv_read(con, read, main, rejects)
    join, line_expr = _line_numbers(con, line_sql, "checked.rowid")
    con.execute(f"CREATE VIEW checked_lines AS SELECT checked.*, {line_expr} AS _lineno FROM checked {join}")
    n_raw, n_ok = con.execute("SELECT count(*), count(*) FILTER (WHERE _ok) FROM checked").fetchall()[0]
    fingerprints = _fingerprints(plan, checks.fused, n_ok)
    if fingerprints is not None:
        fingerprints.add(con, f"SELECT hash({checks.key}) FROM clean")
    if n_ok < n_raw:
        reread_suspects(con, read)
    else:
        empty = ", ".join(f"{ident('_raw_' + c)} VARCHAR" for c in checks.raw_names)
        con.execute(f"CREATE TABLE suspects ({empty}, rid BIGINT)")
    join, line_expr = _line_numbers(con, line_sql, "suspects.rid")
    return Checked(
        n_raw, n_ok, fingerprints, f"(SELECT suspects.*, {line_expr} AS _lineno FROM suspects {join})"
    )


def _rescue(
    con: duckdb.DuckDBPyConnection,
    src: Source,
    plan: Plan,
    checks: RowChecks,
    done: Checked,
    n_extra: int,
    main: Tally,
    rejects: Any,
) -> None:
    """Rows the SQL cannot vouch for: the validator decides (reason code, or accept into `rescued`)."""
    L = ident(LINE)
    raw_cols = ", ".join(ident(c) for c in checks.raw_names)
    kept_raw = ", ".join(ident("_raw_" + c) for c in checks.raw_names)
    decl = ", ".join(f"{ident(s.name)} {_sql_type(s, checks.enum)}" for s in plan.specs)
    con.execute(f"CREATE TABLE rescued ({decl}, {L} BIGINT)")
    if done.n_ok < done.n_raw or n_extra:
        extra = f" UNION ALL SELECT {raw_cols}, {L} FROM extra_raw" if n_extra else ""
        rel = con.cursor().sql(
            f"SELECT {kept_raw}, _lineno AS {L} FROM {done.suspect_rows}{extra} ORDER BY {L}"
        )
        for batch in rel.to_arrow_reader(plan.chunk_size):
            _validate(con, _to_pandas(batch, src), plan, main, rejects)
    _write_rejects(
        pd.DataFrame(columns=["line", "column", "reason", "value", "raw"]), None, plan, main, rejects
    )


def _dedup(con: duckdb.DuckDBPyConnection, checks: RowChecks, fingerprints: Fingerprints | None) -> None:
    """`dedup`: the clean and rescued rows without exact duplicates (the first occurrence, lowest
    line, stays)."""
    key, L = checks.key, ident(LINE)
    if checks.fused:  # lines no longer needed: de-duplicated inside the aggregation's query, never stored
        rows = f"SELECT {key} FROM clean UNION ALL SELECT {key} FROM rescued"
        if fingerprints is None:
            con.execute(f"CREATE VIEW dedup AS SELECT DISTINCT {key} FROM ({rows})")
        else:
            fingerprints.add(con, f"SELECT hash({key}) FROM rescued")
            con.execute(f"CREATE VIEW dedup AS {dedup_sql(con, rows, key, fingerprints.repeated())}")
    else:
        con.execute(
            f"CREATE TABLE dedup AS SELECT {key}, min({L}) AS {L} FROM "
            f"(SELECT {key}, _lineno AS {L} FROM checked_lines "
            f"WHERE _ok UNION ALL SELECT {key}, {L} FROM rescued) GROUP BY ALL"
        )
        drop_inputs(con)


def _fingerprints(plan: Plan, fused: bool, n_rows: int) -> Fingerprints | None:
    """A fingerprint collector where the events are de-duplicated and the fingerprints fit the
    memory budget (`dedup`); None: `DISTINCT` does it."""
    if not fused or n_rows > fingerprint_budget(limit_bytes(plan.settings.get("memory_limit"))):
        return None
    return Fingerprints(n_rows)


EVENTS = ident("_event_types")


def _events_type(con: duckdb.DuckDBPyConnection, plan: Plan) -> bool:
    """Create the ENUM type of the schema's event types, where the event column is text: one byte
    instead of a string for the de-duplication and the per-type counts to hash and compare."""
    events = plan.schema.event_types or []
    spec = next((s for s in plan.specs if s.role == Role.EVENT_TYPE), None)
    if spec is None or spec.dtype not in (DType.STRING, DType.CATEGORY) or not events:
        return False
    if len(set(events)) != len(events):
        return False
    con.execute(f"CREATE TYPE {EVENTS} AS ENUM ({', '.join(lit(e) for e in events)})")
    return True


def _sql_type(spec: ColumnSpec, enum: bool) -> str:
    if enum and spec.role == Role.EVENT_TYPE:
        return EVENTS
    return SQL_TYPE.get(spec.dtype, "VARCHAR")


def _line_numbers(con: duckdb.DuckDBPyConnection, line_sql: str | None, rowid: str) -> tuple[str, str]:
    """(join, line expression) numbering rows by `rowid` (CSV: the reader's order plus the lines
    it skipped before them; other inputs carry `_line`)."""
    if line_sql is None:
        return "", ident(LINE)
    line_sql = line_sql.replace("checked.rowid", rowid)
    if not con.execute("SELECT count(*) FROM skips").fetchall()[0][0]:
        return "", line_sql.replace(" + coalesce(s.j, 0)", "")
    return f"ASOF LEFT JOIN (SELECT a, max(j) AS j FROM skips GROUP BY a) s ON {rowid} >= s.a", line_sql


def _to_pandas(batch: pa.RecordBatch, src: Source) -> pd.DataFrame:
    df = arrow_to_pandas(batch)
    df.columns = [*src.columns, LINE]
    return df


class HeldRejects:
    """The rejects writer plus malformed records waiting for their place: the rejects file lists
    the main table's rejects in line order, as the streaming executor writes them."""

    def __init__(self, writer: Any) -> None:
        self.writer, self.held = writer, []

    def write(self, source: str, df: pd.DataFrame) -> None:
        self.writer.write(source, df)

    @property
    def path(self) -> Path:
        return self.writer.path


def _write_rejects(
    rej: pd.DataFrame, upto: int | None, plan: Plan, main: Tally, rejects: HeldRejects
) -> None:
    """Write `rej` with the held malformed records up to line `upto` (None: all), in line order."""
    held = pd.concat(rejects.held, ignore_index=True) if rejects.held else None
    if held is not None:
        take = held["line"] <= upto if upto is not None else np.ones(len(held), bool)
        rejects.held = [held.loc[~take]] if (~take).any() else []
        parts = [p for p in (held.loc[take], rej) if len(p)]
        rej = pd.concat(parts, ignore_index=True).sort_values("line", kind="stable") if parts else rej
    if len(rej):
        main.reject(rej)
        rejects.write(plan.label, rej)


def _validate(
    con: duckdb.DuckDBPyConnection, raw: pd.DataFrame, plan: Plan, main: Tally, rejects: Any
) -> None:
    checked = validate_chunk(raw, plan.specs, plan.schema.event_types, plan.now, plan.schema.constraints)
    _write_rejects(checked.rejects, int(raw[LINE].max()) if len(raw) else None, plan, main, rejects)
    if len(checked.good):
        good = pd.concat(
            [canonical(checked.good, plan.specs), checked.good[[LINE]].reset_index(drop=True)], axis=1
        )
        tbl = pa.Table.from_pandas(
            good, schema=arrow_schema(plan.specs, {LINE: pa.int64()}), preserve_index=False
        )
        con.register("rescued_batch", tbl)
        con.execute("INSERT INTO rescued BY NAME SELECT * FROM rescued_batch")
        con.unregister("rescued_batch")
