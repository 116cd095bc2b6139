"""The DuckDB executor: the plan run as SQL over CSV/Parquet files, folders and globs.

DuckDB reads the input in parallel and out of core (`threads`, `memory_limit`, spilling to a temp
folder beside the output). Rows the SQL cannot vouch for go through the pandas validator (see
`checks`), so rejects are identical to the streaming executor's; good rows are de-duplicated
(by fingerprint where memory allows, `dedup`), checked for attribute conflicts and aggregated
in SQL, and written by DuckDB (`write`).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.errors import InputError
from synthdata.ingest.executors.duckdb.checks import SQL_TYPE, column_checks, constraint_check, ident, lit
from synthdata.ingest.executors.duckdb.dedup import Fingerprints, dedup_sql, fingerprint_budget
from synthdata.ingest.executors.duckdb.read import (
    after_csv_read,
    raw_name,
    reread_suspects,
    source_sql,
    unlined_sql,
)
from synthdata.ingest.executors.duckdb.write import drop_inputs, write_result
from synthdata.ingest.executors.pandas.checks import raw_json, validate_chunk
from synthdata.ingest.output import arrow_schema, canonical
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import Tally
from synthdata.ingest.rules import ATTRIBUTE_CONFLICT
from synthdata.ingest.sources import LINE, CsvSource, Source
from synthdata.ingest.sources.parquet import arrow_to_pandas
from synthdata.schema import ColumnSpec, DType, Role


def connect(plan: Plan, tmp: Path, ordered: bool = True) -> duckdb.DuckDBPyConnection:
    """`ordered`: keep the reader's row order (CSV line numbers come from it); Parquet rows carry
    their own numbers, and unordered scans need less memory."""
    con = duckdb.connect(config={"preserve_insertion_order": ordered})
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # a batch job's log, not a terminal
    con.execute(f"SET temp_directory = {lit(str(tmp))}")
    if plan.settings.get("threads"):
        con.execute(f"SET threads = {int(plan.settings['threads'])}")
    if plan.settings.get("memory_limit"):
        con.execute(f"SET memory_limit = {lit(duckdb_budget(plan.settings['memory_limit']))}")
    return con


_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
RESERVE = 192 * 2**20  # Arrow batches on their way to the Parquet writer, pandas for suspects


def limit_bytes(limit: str | None) -> int:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$", limit or "")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()]) if m else 0


def duckdb_budget(limit: str) -> str:
    """`--memory-limit` bounds the whole ingest process: DuckDB gets what is left after the Python
    process (interpreter, pandas, pyarrow: ~250 MB) and a reserve for batches in flight."""
    total = limit_bytes(limit)
    try:
        rss = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        rss = 300 * 2**20
    return f"{max(total - rss - RESERVE, total // 4) // 2**20}MiB"


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


def _run(con: duckdb.DuckDBPyConnection, src: Source, plan: Plan, rejects: Any) -> Outcome:
    main = Tally(source=src.label)
    L = ident(LINE)
    inp = source_sql(con, src, main, rejects)  # the input as read (+ _line for Parquet)
    src_sql, line_sql = inp.sql, inp.line_sql
    types = dict(
        con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {src_sql})").fetchall()
    )
    typed, conds, pre = {}, [], {}
    fused = plan.layout == "events" and not (plan.inline_u or plan.inline_i)
    enum = fused and _events_type(con, plan)
    key = ", ".join(ident(n) for n in plan.names)
    for s in plan.specs:
        col = raw_name(src, s.input_name)
        nul = inp.csv is None or inp.csv.scan.has_nul
        v, cond, p = column_checks(s, ident(col), types[col], plan.now, plan.schema.event_types, nul)
        if enum and s.role == Role.EVENT_TYPE and types[col].upper() == "VARCHAR":
            v = f"TRY_CAST({ident(col)} AS {EVENTS})"  # certain rows hold one of the types exactly
        typed[s.name] = v
        conds.append(cond)
        pre.update(p)
    for k in plan.schema.constraints or []:
        c = constraint_check(k, typed)
        if c is not None:
            conds.append(c)
    sure = " AND ".join(f"coalesce({c}, FALSE)" for c in conds) or "TRUE"
    raw_names = [raw_name(src, c) for c in src.columns]
    keep_raw = ", ".join(
        f"CASE WHEN _ok THEN NULL ELSE {ident(c)} END AS {ident('_raw_' + c)}" for c in raw_names
    )
    cols = ", ".join(f"{v} AS {ident(n)}" for n, v in typed.items())
    # CSV rows are numbered by their stored order; their raw text is read again for suspects only
    also = f", {keep_raw}, {L}" if line_sql is None else ""
    pre_cols = "".join(f", {e} AS {a}" for a, e in pre.items())
    checked = (
        f"SELECT {cols}, _ok{also} FROM (SELECT *, {sure} AS _ok FROM (SELECT *{pre_cols} FROM {src_sql}))"
    )
    if line_sql is None:
        # rows carry their line: the checks stay a view, re-read by the aggregation instead of
        # stored (the stored copy took the memory the de-duplication needs); suspects are stored.
        # The clean rows are re-read without line numbers (`clean`): numbering joins file names.
        unlined = unlined_sql(src, src_sql)
        con.execute(f"CREATE VIEW chk AS {checked}")
        typed_rows = f"SELECT {cols}, {sure} AS _ok FROM (SELECT *{pre_cols} FROM {unlined})"
        con.execute(f"CREATE VIEW clean AS SELECT * EXCLUDE (_ok) FROM ({typed_rows}) WHERE _ok")
        n_raw = con.execute(f"SELECT count(*) FROM {unlined}").fetchall()[0][0]
        fps = _fingerprints(plan, fused, n_raw)
        if fps is not None:  # one pass: the clean rows' fingerprints, and how many are not clean
            fps.add(con, f"SELECT CASE WHEN _ok THEN hash({key}) END FROM ({typed_rows})")
        if fps is None or fps.missing:
            con.execute("CREATE TABLE sus AS SELECT * FROM chk WHERE NOT _ok")
        else:
            con.execute("CREATE TABLE sus AS SELECT * FROM chk LIMIT 0")
        n_ok = n_raw - con.execute("SELECT count(*) FROM sus").fetchall()[0][0]
        suspects = f"(SELECT *, {L} AS _lineno FROM sus)"
    else:  # CSV lines come from the stored order (rowid)
        con.execute(f"CREATE TABLE chk AS {checked}")
        con.execute("CREATE VIEW clean AS SELECT * EXCLUDE (_ok) FROM chk WHERE _ok")
    if inp.csv is not None:
        after_csv_read(con, inp.csv, main, rejects)
    join, line_expr = _line_numbers(con, line_sql, "chk.rowid")
    con.execute(f"CREATE VIEW chkl AS SELECT chk.*, {line_expr} AS _lineno FROM chk {join}")
    if line_sql is not None:
        n_raw, n_ok = con.execute("SELECT count(*), count(*) FILTER (WHERE _ok) FROM chk").fetchall()[0]
        fps = _fingerprints(plan, fused, n_ok)
        if fps is not None:
            fps.add(con, f"SELECT hash({key}) FROM clean")
        if n_ok < n_raw:
            reread_suspects(con, inp.csv)
        else:
            empty = ", ".join(f"{ident('_raw_' + c)} VARCHAR" for c in raw_names)
            con.execute(f"CREATE TABLE sus ({empty}, rid BIGINT)")
        join, line_expr = _line_numbers(con, line_sql, "sus.rid")
        suspects = f"(SELECT sus.*, {line_expr} AS _lineno FROM sus {join})"
    n_extra = con.execute("SELECT count(*) FROM extra_raw").fetchall()[0][0]
    main.rows_in += n_raw + n_extra
    if main.rows_in == 0:
        raise InputError("empty input: no data rows", path=src.label, row=plan.first_row)
    # rows the SQL cannot vouch for: the validator decides (reason code, or accept)
    raw_cols = ", ".join(ident(c) for c in raw_names)
    kept_raw = ", ".join(ident("_raw_" + c) for c in raw_names)
    decl = ", ".join(f"{ident(s.name)} {_sql_type(s, enum)}" for s in plan.specs)
    con.execute(f"CREATE TABLE rescued ({decl}, {L} BIGINT)")
    if n_ok < n_raw or n_extra:
        extra = f" UNION ALL SELECT {raw_cols}, {L} FROM extra_raw" if n_extra else ""
        rel = con.cursor().sql(f"SELECT {kept_raw}, _lineno AS {L} FROM {suspects}{extra} ORDER BY {L}")
        for batch in rel.to_arrow_reader(plan.chunk_size):
            _validate(con, _to_pandas(batch, src), plan, main, rejects)
    _write_rejects(
        pd.DataFrame(columns=["line", "column", "reason", "value", "raw"]), None, plan, main, rejects
    )
    # exact duplicates: the first occurrence (lowest line) stays
    if fused:  # lines no longer needed: de-duplicated inside the aggregation's query, never stored
        rows = f"SELECT {key} FROM clean UNION ALL SELECT {key} FROM rescued"
        if fps is None:
            con.execute(f"CREATE VIEW dedup AS SELECT DISTINCT {key} FROM ({rows})")
        else:
            fps.add(con, f"SELECT hash({key}) FROM rescued")
            con.execute(f"CREATE VIEW dedup AS {dedup_sql(con, rows, key, fps.repeated())}")
    else:
        con.execute(
            f"CREATE TABLE dedup AS SELECT {key}, min({L}) AS {L} FROM "
            f"(SELECT {key}, _lineno AS {L} FROM chkl "
            f"WHERE _ok UNION ALL SELECT {key}, {L} FROM rescued) GROUP BY ALL"
        )
        drop_inputs(con)
    n_rescued = con.execute("SELECT count(*) FROM rescued").fetchall()[0][0]
    tables, attr_tallies, out_schema = plan.attributes(rejects)
    kept = _resolve_conflicts(con, plan, main, rejects)
    out, n_kept = write_result(con, kept, plan, out_schema, tables)
    # without conflicts every de-duplicated row is kept; with them, dedup is a table to count
    n_dedup = n_kept if fused else con.execute("SELECT count(*) FROM dedup").fetchall()[0][0]
    main.rows_merged += n_ok + n_rescued - n_dedup
    main.rows_kept = n_kept
    out.main, out.attributes, out.schema = main, attr_tallies, out_schema
    return out


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
    line_sql = line_sql.replace("chk.rowid", rowid)
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
    chk = validate_chunk(raw, plan.specs, plan.schema.event_types, plan.now, plan.schema.constraints)
    _write_rejects(chk.rejects, int(raw[LINE].max()) if len(raw) else None, plan, main, rejects)
    if len(chk.good):
        good = pd.concat([canonical(chk.good, plan.specs), chk.good[[LINE]].reset_index(drop=True)], axis=1)
        tbl = pa.Table.from_pandas(
            good, schema=arrow_schema(plan.specs, {LINE: pa.int64()}), preserve_index=False
        )
        con.register("rescued_batch", tbl)
        con.execute("INSERT INTO rescued BY NAME SELECT * FROM rescued_batch")
        con.unregister("rescued_batch")


# --- attribute conflicts and output --------------------------------------------------------------
def _resolve_conflicts(con: duckdb.DuckDBPyConnection, plan: Plan, main: Tally, rejects: Any) -> str:
    """Inline attributes: the most frequent value per id wins (ties: lowest line); rows giving an
    id another value are `attribute_conflict` rejects. Returns the SQL of the kept rows."""
    schema, names = plan.schema, plan.names
    attrs = [(a, schema.user_col) for a in plan.inline_u] + [(a, schema.item_col) for a in plan.inline_i]
    if not attrs:
        return "SELECT * FROM dedup"
    L = ident(LINE)
    joins, conflict, sel = [], [], []
    for j, (a, idc) in enumerate(attrs):
        A, ID, W = ident(a), ident(idc), f"w{j}"
        con.execute(
            f"CREATE TABLE {W} AS SELECT {ID} AS id, {A} AS v FROM (SELECT {ID}, {A}, count(*) AS n, "
            f"min({L}) AS m FROM dedup WHERE {A} IS NOT NULL GROUP BY ALL) "
            f"QUALIFY row_number() OVER (PARTITION BY {ID} ORDER BY n DESC, m) = 1"
        )
        joins.append(f"LEFT JOIN {W} ON d.{ID} = {W}.id")
        conflict.append((f"d.{A} IS NOT NULL AND {W}.v IS NOT NULL AND d.{A} <> {W}.v", a))
    case = "CASE " + " ".join(f"WHEN {c} THEN {lit(a)}" for c, a in conflict) + " END"
    for n in names:
        hit = [j for j, (a, _) in enumerate(attrs) if a == n]
        sel.append(f"{f'w{hit[0]}.v' if hit else f'd.{ident(n)}'} AS {ident('_new_' + n)}")
    con.execute(
        f"CREATE TABLE flagged AS SELECT d.*, {case} AS _conflict, "
        f"{', '.join(sel)} FROM dedup d {' '.join(joins)}"
    )
    n_bad = con.execute("SELECT count(*) FROM flagged WHERE _conflict IS NOT NULL").fetchall()[0][0]
    if n_bad:
        rel = con.cursor().sql(
            f"SELECT {', '.join(ident(n) for n in names)}, {L}, _conflict FROM flagged "
            f"WHERE _conflict IS NOT NULL ORDER BY {L}"
        )
        for batch in rel.to_arrow_reader(plan.chunk_size):
            df = batch.to_pandas()
            rej = pd.DataFrame(
                {
                    "line": df[LINE].to_numpy(),
                    "column": df["_conflict"].to_numpy(),
                    "reason": ATTRIBUTE_CONFLICT,
                    "value": [str(df.at[i, c]) for i, c in zip(df.index, df["_conflict"], strict=True)],
                    "raw": raw_json(df[names]),
                }
            )
            main.reject(rej)
            rejects.write(plan.label, rej)
    new = ", ".join(f"{ident('_new_' + n)} AS {ident(n)}" for n in names)
    return f"SELECT {new}, {L} FROM flagged WHERE _conflict IS NULL"
