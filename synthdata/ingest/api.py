"""`ingest()`: one call from a source to a clean interaction table, its schema, rejects and report.

Two streaming passes keep memory bounded by the output, not the input:
1. read chunks -> validate (reason codes) -> merge exact duplicates -> count attribute votes ->
   spill typed good rows to a temporary Parquet file beside the output;
2. re-read the spill in batches -> reject attribute conflicts -> write rows (interactions) or feed
   the per-(user, item) aggregator (events) -> join attribute tables -> write the clean Parquet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.errors import ConfigError, InputError
from synthdata.ingest.attributes import SideTable, load_attributes
from synthdata.ingest.clean import (
    ATTRIBUTE_CONFLICT,
    AttributeVotes,
    Deduper,
    conflict_mask,
    raw_json,
    row_hashes,
    validate_chunk,
)
from synthdata.ingest.infer import infer_schema
from synthdata.ingest.layouts import (
    LAYOUTS,
    ML_FLAGS,
    ML_ITEM_NAMES,
    ML_USER_NAMES,
    EventAggregator,
    IdCodec,
    detect_layout,
    events_output_schema,
    movielens_schema,
    primary_genre,
    value_column,
)
from synthdata.ingest.report import IngestReport, RejectsWriter, Tally, time_span
from synthdata.ingest.sources import LINE, Source, is_sql_url, mask_url, open_source
from synthdata.log import get_logger, kv
from synthdata.schema import ColumnSpec, DType, Role, Schema, schema_path_for

log = get_logger("ingest")
DEFAULT_CHUNK = 200_000


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
) -> IngestResult:
    """Clean `source` into `out` (Parquet) with `<stem>.schema.yaml` beside it.

    source: CSV/TSV file (delimiter and header sniffed), Parquet file, SQLAlchemy URL (with `table`
    or `query`), or a folder (MovieLens-100K, or one holding events.csv [+ users.csv, items.csv]).
    layout: auto | movielens-100k | events | interactions. schema: a Schema or YAML path; when
    None one is inferred and written to `<stem>.inferred-schema.yaml` for editing.
    rejects: default `<stem>.rejects.parquet`. Raises InputError/ConfigError on structural problems.
    """
    t0 = time.perf_counter()
    now = pd.Timestamp.now(tz="UTC")
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if chunk_size < 1:
        raise ConfigError("chunk_size must be >= 1")
    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise ConfigError(f"--out must be a .parquet file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    rejects_path = Path(rejects) if rejects is not None else sidecar(out, ".rejects.parquet")
    in_schema = Schema.from_yaml(schema) if isinstance(schema, str | Path) else schema
    label = mask_url(str(source)) if is_sql_url(source) else str(source)
    if not is_sql_url(source) and not Path(source).exists():
        raise InputError("input not found", path=label)

    resolved = detect_layout(source, in_schema) if layout == "auto" else layout
    sides: dict[str, SideTable] = {}
    main_csv = dict(in_schema.csv) if in_schema is not None else {}
    if resolved == "movielens-100k":
        folder = Path(source)
        for f in ("u.data", "u.user", "u.item"):
            if not (folder / f).exists():
                raise InputError("MovieLens-100K file missing", path=str(folder / f))
        in_schema = movielens_schema()
        source = folder / "u.data"
        main_csv = dict(in_schema.csv)
        sides["users"] = SideTable(
            "users", folder / "u.user", {"sep": "|", "header": False, "names": ML_USER_NAMES}, encoding
        )
        sides["items"] = SideTable(
            "items",
            folder / "u.item",
            {"sep": "|", "header": False, "names": ML_ITEM_NAMES},
            encoding or "latin-1",
        )
    else:
        if not is_sql_url(source) and Path(source).is_dir():
            folder = Path(source)
            if not (folder / "events.csv").exists():
                raise InputError("folder has neither u.data (MovieLens-100K) nor events.csv", path=label)
            source = folder / "events.csv"
            user_attributes = user_attributes or (
                (folder / "users.csv") if (folder / "users.csv").exists() else None
            )
            item_attributes = item_attributes or (
                (folder / "items.csv") if (folder / "items.csv").exists() else None
            )
        for kind, p in (("users", user_attributes), ("items", item_attributes)):
            if p is not None:
                if not Path(p).exists():
                    raise InputError(f"{kind} attribute table not found", path=str(p))
                sides[kind] = SideTable(kind, Path(p), {}, encoding)

    if (
        in_schema is not None
        and "header" not in main_csv
        and all(isinstance(c.source, int) for c in in_schema.columns if c.source is not None)
        and any(c.source is not None for c in in_schema.columns)
    ):
        main_csv["header"] = False  # positional sources mean a header-less file
    elif in_schema is not None and "header" not in main_csv:
        main_csv["header"] = True  # columns named in the schema mean the file has a header line
    src = open_source(
        source, table=table, query=query, encoding=encoding, csv_opts=main_csv, chunk_size=chunk_size
    )
    inferred_path: Path | None = None
    if in_schema is None:
        in_schema = infer_schema(_sample(src), src, origin=src.label)
        inferred_path = sidecar(out, ".inferred-schema.yaml")
    if resolved is None:
        resolved = "events" if in_schema.event_col is not None else "interactions"
    if resolved == "events" and in_schema.event_col is None:
        raise InputError(
            "events layout needs an event-type column (role event_type) in the schema", path=src.label
        )
    if resolved == "events" and not in_schema.event_types:
        raise ConfigError("events layout needs `event_types` in the schema (the allowed event types)")

    writer = RejectsWriter(rejects_path)
    try:
        result = _run(
            src,
            in_schema,
            resolved,
            sides,
            out=out,
            now=now,
            rejects=writer,
            chunk_size=chunk_size,
            inferred_path=inferred_path,
        )
    finally:
        writer.close()
    rep = result.report
    rep.source, rep.rejects_path, rep.elapsed_s = label, str(rejects_path), time.perf_counter() - t0
    if report is not None:
        rep.to_json(report)
        result.report_path = Path(report)
    log.info(
        kv(
            event="ingest_done",
            source=label,
            layout=resolved,
            rows_in=rep.main.rows_in,
            rows_out=rep.rows_out,
            rejected=rep.main.rows_rejected,
            seconds=round(rep.elapsed_s, 2),
        )
    )
    return result


def _sample(src: Source, n: int = 20_000) -> pd.DataFrame:
    it = src.chunks()
    try:
        first = next(it)
    except StopIteration:
        raise InputError("empty input: no data rows", path=src.label, row=2) from None
    finally:
        it.close()
    return first.head(n)


def _arrow_type(dt: DType) -> pa.DataType:
    return {
        DType.INT: pa.int64(),
        DType.FLOAT: pa.float64(),
        DType.BOOL: pa.bool_(),
        DType.DATETIME: pa.timestamp("ns", tz="UTC"),
    }.get(dt, pa.string())


def canonical(df: pd.DataFrame, specs: list[ColumnSpec]) -> pd.DataFrame:
    """Stable pandas dtypes per declared dtype so every written batch has the same Arrow schema:
    int -> int64 (Int64 if nullable), bool -> bool (boolean if nullable), text -> object."""
    out = {}
    for s in specs:
        c = df[s.name]
        if s.dtype == DType.INT:
            c = c.astype("Int64" if s.nullable or c.isna().any() else "int64", copy=False)
        elif s.dtype == DType.FLOAT:
            c = c.astype("float64", copy=False)
        elif s.dtype == DType.BOOL:
            c = c.astype("boolean" if s.nullable or c.isna().any() else bool, copy=False)
        elif s.dtype == DType.DATETIME:
            if str(c.dtype) != "datetime64[ns, UTC]":
                c = pd.to_datetime(c, utc=True).astype("datetime64[ns, UTC]")
        elif c.dtype != object or c.isna().any():
            c = c.astype(object).where(c.notna(), None)
        out[s.name] = c
    return pd.DataFrame(out).reset_index(drop=True)  # all columns share df's index: no realignment


class _ParquetOut:
    """Streams canonical batches to one Parquet file with a schema fixed from the specs."""

    def __init__(self, path: Path, specs: list[ColumnSpec], extra: dict[str, pa.DataType] | None = None):
        self.path, self.specs = path, specs
        self.schema = pa.schema([(s.name, _arrow_type(s.dtype)) for s in specs] + list((extra or {}).items()))
        self.w = pq.ParquetWriter(path, self.schema)

    def write(self, df: pd.DataFrame) -> None:
        t = pa.Table.from_pandas(df, schema=self.schema, preserve_index=False).replace_schema_metadata(None)
        self.w.write_table(t)

    def close(self) -> None:
        if self.w.is_open:
            self.w.close()


def _run(
    src: Source,
    schema: Schema,
    layout: str,
    sides: dict[str, SideTable],
    *,
    out: Path,
    now: pd.Timestamp,
    rejects: RejectsWriter,
    chunk_size: int,
    inferred_path: Path | None,
) -> IngestResult:
    side_roles = {Role.USER_ATTRIBUTE if k == "users" else Role.ITEM_ATTRIBUTE for k in sides}
    main_specs = [s for s in schema.columns if s.role not in side_roles]
    if layout == "movielens-100k":
        main_specs = schema.columns[:4]
    header = src.kind != "csv" or bool(src._opts.get("header"))
    for s in main_specs:
        if s.input_name not in src.columns:
            raise InputError(
                "required column missing",
                path=src.label,
                column=str(s.input_name),
                row=1 if src.kind == "csv" and header else None,
            )
    names = [s.name for s in main_specs]
    inline_u = [s.name for s in main_specs if s.role == Role.USER_ATTRIBUTE]
    inline_i = [s.name for s in main_specs if s.role == Role.ITEM_ATTRIBUTE]
    uid, iid = schema.user_col, schema.item_col
    votes = {"u": AttributeVotes(uid, inline_u), "i": AttributeVotes(iid, inline_i)}
    main = Tally(source=src.label)
    dedup = Deduper()
    spill = out.with_name(f".{out.stem}.pass1.{time.monotonic_ns()}.parquet")
    spill_w = _ParquetOut(spill, main_specs, {LINE: pa.int64()})
    try:
        for raw in src.chunks():
            main.rows_in += len(raw)
            chk = validate_chunk(raw, main_specs, schema.event_types, now, schema.constraints)
            main.reject(chk.rejects)
            rejects.write(src.label, chk.rejects)
            good = chk.good
            dup = dedup.seen_before(row_hashes(good[names]))
            main.rows_merged += int(dup.sum())
            good = good.loc[~dup]
            votes["u"].add(good)
            votes["i"].add(good)
            spill_w.write(
                pd.concat([canonical(good, main_specs), good[[LINE]].reset_index(drop=True)], axis=1)
            )
        spill_w.close()
        if main.rows_in == 0:
            raise InputError("empty input: no data rows", path=src.label, row=2 if header else 1)
        del dedup

        # attribute tables
        attr_tallies: dict[str, Tally] = {}
        tables: dict[str, pd.DataFrame] = {}
        attr_specs: dict[str, list[ColumnSpec]] = {}
        taken = set(schema.names)
        for kind, side in sides.items():
            id_spec = schema.column(uid if kind == "users" else iid)
            declared = [s for s in schema.columns if s.role == side.role]
            if layout == "movielens-100k" and kind == "items":
                declared = [s for s in schema.columns if s.role == side.role and s.name != "genre"]
            tbl, tally, specs = load_attributes(
                side, id_spec, declared or None, taken=taken, now=now, rejects=rejects, chunk_size=chunk_size
            )
            if layout == "movielens-100k" and kind == "items":
                tbl.insert(list(tbl.columns).index(ML_FLAGS[0]), "genre", primary_genre(tbl))
                specs = [
                    *specs[: len(specs) - len(ML_FLAGS)],
                    schema.column("genre"),
                    *specs[-len(ML_FLAGS) :],
                ]
            attr_tallies[kind], tables[kind], attr_specs[kind] = tally, tbl, specs
            taken |= {s.name for s in specs}
        if inferred_path is not None:
            extra = [
                s for k in ("users", "items") for s in attr_specs.get(k, []) if s.name not in schema.names
            ]
            schema = schema.model_copy(update={"columns": [*schema.columns, *extra]})
            schema.to_yaml(inferred_path)

        winners = {"u": votes["u"].winners(), "i": votes["i"].winners()}
        users_out, items_out = IdCodec(), IdCodec()
        tmin: Any = None
        tmax: Any = None
        agg = None
        if layout == "events":
            vcol = value_column(schema)
            agg = EventAggregator(
                uid,
                iid,
                schema.event_col or "",
                schema.time_col,
                vcol if vcol in names else None,
                schema.event_types or [],
            )
            u_specs = (
                [s.model_copy(update={"nullable": True}) for s in attr_specs["users"]]
                if "users" in attr_specs
                else [schema.column(n) for n in inline_u]
            )
            i_specs = (
                [s.model_copy(update={"nullable": True}) for s in attr_specs["items"]]
                if "items" in attr_specs
                else [schema.column(n) for n in inline_i]
            )
            out_schema = events_output_schema(schema, agg.counts, u_specs, i_specs)
        else:
            cols = []
            for s in schema.columns:
                side_kind = {Role.USER_ATTRIBUTE: "users", Role.ITEM_ATTRIBUTE: "items"}.get(s.role)
                if side_kind in sides:
                    continue
                cols.append(s.model_copy(update={"source": None, "datetime_unit": None}))
            for kind in ("users", "items"):  # ids absent from an attribute table get empty attributes
                cols += [
                    s.model_copy(update={"source": None, "datetime_unit": None, "nullable": True})
                    for s in attr_specs.get(kind, [])
                ]
            out_schema = schema.model_copy(update={"columns": cols, "csv": {}, "event_types": None})
            if layout == "movielens-100k":
                out_schema = movielens_schema().model_copy(update={"csv": {}})
                out_schema.columns = [
                    c.model_copy(update={"source": None, "datetime_unit": None}) for c in out_schema.columns
                ]
            else:
                out_schema.layout = "interactions"
        out_schema = Schema.model_validate(out_schema.model_dump())
        out_w = None if layout == "events" else _ParquetOut(out, out_schema.columns)
        time_col = schema.time_col if schema.time_col in names else None
        rows_out = 0

        pf = pq.ParquetFile(spill)
        for batch in pf.iter_batches(batch_size=chunk_size):
            df = batch.to_pandas()
            bad_u, col_u = conflict_mask(df, uid, winners["u"])
            bad_i, col_i = conflict_mask(df, iid, winners["i"])
            bad = bad_u | bad_i
            if bad.any():
                col = np.where(bad_u, col_u, col_i)
                rej = pd.DataFrame(
                    {
                        "line": df.loc[bad, LINE].to_numpy(),
                        "column": col[bad],
                        "reason": ATTRIBUTE_CONFLICT,
                        "value": [str(df.at[i, c]) for i, c in zip(df.index[bad], col[bad], strict=True)],
                        "raw": raw_json(df.loc[bad, names]),
                    }
                )
                main.reject(rej)
                rejects.write(src.label, rej)
                df = df.loc[~bad].reset_index(drop=True)
            main.rows_kept += len(df)
            for key, idc in (("u", uid), ("i", iid)):
                for a, w in winners[key].items():  # an id's attribute is its kept value, also where empty
                    df[a] = df[idc].map(w).astype(df[a].dtype) if len(w) else df[a]
            if agg is not None:
                agg.add(df)
                continue
            df = _join(df, tables, uid, iid)
            users_out.encode(df[uid])
            items_out.encode(df[iid])
            if time_col is not None and len(df):
                lo, hi = df[time_col].min(), df[time_col].max()
                tmin = lo if tmin is None or lo < tmin else tmin
                tmax = hi if tmax is None or hi > tmax else tmax
            out_w.write(canonical(df, out_schema.columns))  # type: ignore[union-attr]
            rows_out += len(df)
        if agg is not None:
            res = agg.result(schema.column(uid).dtype, schema.column(iid).dtype)
            res = _join(res, tables, "user_id", "item_id")
            if inline_u or inline_i:
                for key, tgt in (("u", "user_id"), ("i", "item_id")):
                    for a, w in winners[key].items():
                        res[a] = res[tgt].map(w)
            res = canonical(res, out_schema.columns)
            pq.write_table(pa.Table.from_pandas(res, preserve_index=False), out)
            rows_out = len(res)
            n_users, n_items = res["user_id"].nunique(), res["item_id"].nunique()
            span = time_span(res["last_ts"]) if "last_ts" in res else None
            if span is not None:
                span = time_span(pd.concat([res["first_ts"], res["last_ts"]]))
        else:
            out_w.close()  # type: ignore[union-attr]
            n_users, n_items = len(users_out.index), len(items_out.index)
            span = time_span(pd.Series([tmin, tmax])) if tmin is not None else None
    finally:
        spill_w.close()  # no-op when already closed; an error mid-read must not leak the writer
        spill.unlink(missing_ok=True)

    main.check()
    schema_path = schema_path_for(out)
    out_schema.to_yaml(schema_path)
    rep = IngestReport(
        source=src.label,
        layout=layout,
        out=str(out),
        schema_path=str(schema_path),
        rejects_path=str(rejects.path),
        main=main,
        attributes=attr_tallies,
        rows_out=rows_out,
        n_users=int(n_users),
        n_items=int(n_items),
        time_span=span,
        inferred_schema_path=str(inferred_path) if inferred_path else None,
    )
    return IngestResult(
        report=rep,
        schema=out_schema,
        input_schema=schema,
        out=out,
        schema_path=schema_path,
        rejects_path=rejects.path,
        report_path=None,
        inferred_schema_path=inferred_path,
    )


def _join(df: pd.DataFrame, tables: dict[str, pd.DataFrame], ucol: str, icol: str) -> pd.DataFrame:
    """Left-join attribute tables on the id columns (ids missing there get empty attributes)."""
    for kind, col in (("users", ucol), ("items", icol)):
        if kind not in tables:
            continue
        t = tables[kind]
        key = df[col]
        idx = t.index
        if pd.api.types.is_integer_dtype(key.dtype) and not pd.api.types.is_integer_dtype(idx.dtype):
            idx = pd.Index(pd.to_numeric(idx, errors="coerce"))
        elif not pd.api.types.is_integer_dtype(key.dtype):
            idx = idx.astype(str)
            key = key.astype(str)
        pos = idx.get_indexer(key)
        found = pos >= 0
        for a in t.columns:
            vals = (
                t[a].iloc[np.where(found, pos, 0)].reset_index(drop=True)
                if len(t)
                else pd.Series([None] * len(df))
            )
            df[a] = vals.where(pd.Series(found), None) if not found.all() else vals
    return df


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
