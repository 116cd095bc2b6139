"""Layouts: how an input is turned into one interaction table.

- `movielens-100k`: folder with u.data / u.user / u.item (fixed formats, below).
- `events`: raw behaviour log, aggregated per (user, item) by `EventAggregator`.
- `interactions`: already one row per interaction, described by a schema.
`detect_layout` implements `--layout auto`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.attributes import SideTable
from synthdata.ingest.movielens import (
    ML_FLAGS,
    ML_ITEM_NAMES,
    ML_USER_NAMES,
    movielens_schema,
    primary_genre,
)
from synthdata.ingest.sources import is_glob, is_parquet_source, is_sql_url
from synthdata.schema import ColumnSpec, DType, InequalityConstraint, PositiveRule, Role, Schema

LAYOUTS = ("auto", "movielens-100k", "events", "interactions")


def detect_layout(source: str | Path, schema: Schema | None) -> str | None:
    """`movielens-100k` for a folder holding u.data, `events` for a folder holding events.csv or a
    schema with an event-type column; None means "decide after inferring the schema"."""
    if not is_sql_url(source) and Path(source).is_dir():
        if (Path(source) / "u.data").exists():
            return "movielens-100k"
        if (Path(source) / "events.csv").exists():
            return "events"
        return None
    if schema is not None:
        return "events" if schema.event_col is not None else schema.layout
    return None


def count_column(event_type: str) -> str:
    """Count column for an event type: `view` -> `views`, `add to cart` -> `add_to_carts`."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", event_type.strip()).strip("_").lower() or "event"
    return s if s.endswith("s") else s + "s"


class IdCodec:
    """Incrementally maps id values to dense int codes (first-seen order) so partial aggregates
    are keyed by small ints instead of Python objects."""

    def __init__(self) -> None:
        self.index = pd.Index([])

    def encode(self, values: pd.Series) -> np.ndarray:
        codes = self.index.get_indexer(values) if len(self.index) else np.full(len(values), -1)
        new = codes == -1
        if new.any():
            fresh = pd.unique(values[new])
            self.index = self.index.append(pd.Index(fresh)) if len(self.index) else pd.Index(fresh)
            codes = self.index.get_indexer(values)
        return codes.astype(np.int64)


class EventAggregator:
    """Streams event chunks into per-(user, item) counts, first/last time and value sum.

    Memory is bounded by the number of distinct (user, item) pairs (the output), not by the number
    of events: each chunk is reduced with a groupby and partial results are re-reduced whenever they
    grow past `compact_rows` or twice the last compacted size (so re-reduction stays linear).
    Sums, minima and maxima do not depend on chunking, so any chunk size gives the same table
    (value sums are rounded to 6 decimals to absorb float summation order).
    """

    def __init__(
        self,
        user: str,
        item: str,
        event: str,
        time: str | None,
        value: str | None,
        event_types: list[str],
        compact_rows: int = 2_000_000,
    ) -> None:
        self.user, self.item, self.event, self.time, self.value = user, item, event, time, value
        self.event_types = list(event_types)
        self.counts = [count_column(e) for e in self.event_types]
        self.users, self.items = IdCodec(), IdCodec()
        self.parts: list[pd.DataFrame] = []
        self.part_rows = 0
        self.compact_rows = compact_rows
        self.compact_at = compact_rows

    def add(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        key = (self.users.encode(df[self.user]) << 32) | self.items.encode(df[self.item])
        et = pd.Categorical(df[self.event], categories=self.event_types).codes
        cols: dict[str, np.ndarray] = {"key": key}
        for j, c in enumerate(self.counts):
            cols[c] = (et == j).astype(np.int64)
        agg: dict[str, str] = dict.fromkeys(self.counts, "sum")
        if self.time is not None:
            t = df[self.time].to_numpy("datetime64[ns]").astype(np.int64)
            cols["first_ts"], cols["last_ts"] = t, t
            agg.update(first_ts="min", last_ts="max")
        if self.value is not None:
            cols["value_sum"] = df[self.value].astype("float64").fillna(0.0).to_numpy()
            agg["value_sum"] = "sum"
        part = pd.DataFrame(cols).groupby("key", sort=False).agg(agg)
        self.parts.append(part)
        self.part_rows += len(part)
        if self.part_rows > self.compact_at and len(self.parts) > 1:
            self._compact()

    def _agg_spec(self) -> dict[str, str]:
        spec = dict.fromkeys(self.counts, "sum")
        if self.time is not None:
            spec.update(first_ts="min", last_ts="max")
        if self.value is not None:
            spec["value_sum"] = "sum"
        return spec

    def _compact(self) -> None:
        merged = pd.concat(self.parts).groupby(level=0, sort=False).agg(self._agg_spec())
        self.parts = [merged]
        self.part_rows = len(merged)
        self.compact_at = max(self.compact_rows, 2 * len(merged))

    def result(self, user_dtype: DType, item_dtype: DType) -> pd.DataFrame:
        """One row per (user, item), sorted by user then item."""
        if self.parts:
            self._compact()
            g = self.parts[0]
        else:  # every event was rejected: an empty table with the full set of columns
            g = pd.DataFrame(
                {c: np.zeros(0, np.int64) for c in self._agg_spec()}, index=pd.Index([], "int64")
            )
        key = g.index.to_numpy(np.int64)
        cast = {DType.INT: "int64"}
        uid = self.users.index.to_numpy()[key >> 32].astype(cast.get(user_dtype, str))
        iid = self.items.index.to_numpy()[key & 0xFFFFFFFF].astype(cast.get(item_dtype, str))
        order = np.lexsort((iid, uid))  # sort by user then item, building each column once
        out = pd.DataFrame({"user_id": uid[order], "item_id": iid[order]})
        for c in self.counts:
            out[c] = g[c].to_numpy(np.int64)[order]
        if self.time is not None:
            out["first_ts"] = pd.to_datetime(g["first_ts"].to_numpy()[order], utc=True)
            out["last_ts"] = pd.to_datetime(g["last_ts"].to_numpy()[order], utc=True)
        if self.value is not None:
            out["value_sum"] = g["value_sum"].to_numpy()[order].round(6)
        return out


def events_output_schema(
    inp: Schema, counts: list[str], user_attrs: list[ColumnSpec], item_attrs: list[ColumnSpec]
) -> Schema:
    """Schema of the aggregated table. Positive: any interaction; confidence: purchases when present
    (else the last, usually rarest, event type's count). `first_ts` is a modelled signal tied to
    `last_ts` by the constraint first_ts <= last_ts, so synthetic rows keep a valid time window."""
    u, i = inp.column(inp.user_col), inp.column(inp.item_col)
    cols = [
        ColumnSpec(name="user_id", role=Role.USER_ID, dtype=u.dtype),
        ColumnSpec(name="item_id", role=Role.ITEM_ID, dtype=i.dtype),
        *[ColumnSpec(name=c, role=Role.SIGNAL, dtype=DType.INT, min=0) for c in counts],
    ]
    if inp.time_col is not None:
        cols += [
            ColumnSpec(name="first_ts", role=Role.SIGNAL, dtype=DType.DATETIME),
            ColumnSpec(name="last_ts", role=Role.TIMESTAMP, dtype=DType.DATETIME),
        ]
    if value_column(inp) is not None:
        cols.append(ColumnSpec(name="value_sum", role=Role.SIGNAL, dtype=DType.FLOAT, min=0))
    cols += [a.model_copy(update={"source": None}) for a in [*user_attrs, *item_attrs]]
    conf = "purchases" if "purchases" in counts else (counts[-1] if counts else None)
    window = [InequalityConstraint(type="inequality", low="first_ts", high="last_ts")]
    return Schema(
        layout="events",
        columns=cols,
        event_types=None,
        positive=PositiveRule(column=None, min=None, confidence=conf),
        constraints=window if inp.time_col is not None else [],
    )


def value_column(inp: Schema) -> str | None:
    """The events layout's optional value (e.g. price): the first numeric signal column."""
    for c in inp.by_role(Role.SIGNAL):
        if c.dtype in (DType.INT, DType.FLOAT):
            return c.name
    return None


# --- resolving an input and shaping the output -----------------------------------------------------
@dataclass
class Input:
    """What a layout makes of the user's source: the main table, its CSV options, the schema (None:
    infer it) and attribute tables."""

    source: str | Path
    layout: str | None  # None: decide after inferring the schema
    schema: Schema | None
    csv: dict[str, Any] = field(default_factory=dict)
    sides: dict[str, SideTable] = field(default_factory=dict)


def resolve_input(
    source: str | Path,
    layout: str,
    schema: Schema | None,
    *,
    user_attributes: str | Path | None,
    item_attributes: str | Path | None,
    encoding: str | None,
    label: str,
) -> Input:
    """Apply `--layout` to a source: MovieLens folders, event folders (events.csv [+ users.csv,
    items.csv]), Parquet datasets, single files and database URLs."""
    resolved = detect_layout(source, schema) if layout == "auto" else layout
    inp = Input(source, resolved, schema, dict(schema.csv) if schema is not None else {})
    if resolved == "movielens-100k":
        folder = Path(source)
        for f in ("u.data", "u.user", "u.item"):
            if not (folder / f).exists():
                raise InputError("MovieLens-100K file missing", path=str(folder / f))
        inp.schema = movielens_schema()
        inp.source, inp.csv = folder / "u.data", dict(inp.schema.csv)
        user_opts = {"sep": "|", "header": False, "names": ML_USER_NAMES}
        item_opts = {"sep": "|", "header": False, "names": ML_ITEM_NAMES}
        inp.sides["users"] = SideTable("users", folder / "u.user", user_opts, encoding)
        inp.sides["items"] = SideTable("items", folder / "u.item", item_opts, encoding or "latin-1")
        return inp
    if (
        not is_sql_url(source)
        and not is_glob(source)
        and Path(source).is_dir()
        and not is_parquet_source(source)
    ):
        folder = Path(source)
        if not (folder / "events.csv").exists():
            raise InputError("folder has neither u.data (MovieLens-100K) nor events.csv", path=label)
        inp.source = folder / "events.csv"
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
            inp.sides[kind] = SideTable(kind, Path(p), {}, encoding)
    if schema is not None and "header" not in inp.csv:
        positional = [c.source for c in schema.columns if c.source is not None]
        # positional sources mean a header-less file; columns named in the schema mean a header line
        inp.csv["header"] = not (positional and all(isinstance(c, int) for c in positional))
    return inp


def main_specs(layout: str, schema: Schema, sides: dict[str, SideTable]) -> list[ColumnSpec]:
    """Columns read from the main table (attribute columns come from attribute tables if given)."""
    if layout == "movielens-100k":
        return schema.columns[:4]
    side_roles = {Role.USER_ATTRIBUTE if k == "users" else Role.ITEM_ATTRIBUTE for k in sides}
    return [s for s in schema.columns if s.role not in side_roles]


def attribute_declared(layout: str, schema: Schema, side: SideTable) -> list[ColumnSpec]:
    declared = [s for s in schema.columns if s.role == side.role]
    if layout == "movielens-100k" and side.kind == "items":
        declared = [s for s in declared if s.name != "genre"]
    return declared


def finish_attributes(
    layout: str, schema: Schema, kind: str, tbl: pd.DataFrame, specs: list[ColumnSpec]
) -> tuple[pd.DataFrame, list[ColumnSpec]]:
    """Derived attributes: MovieLens items get their primary genre before the genre flags."""
    if layout == "movielens-100k" and kind == "items":
        tbl.insert(list(tbl.columns).index(ML_FLAGS[0]), "genre", primary_genre(tbl))
        specs = [*specs[: len(specs) - len(ML_FLAGS)], schema.column("genre"), *specs[-len(ML_FLAGS) :]]
    return tbl, specs


def output_schema(
    layout: str,
    schema: Schema,
    sides: dict[str, SideTable],
    attr_specs: dict[str, list[ColumnSpec]],
    inline_u: list[str],
    inline_i: list[str],
) -> Schema:
    """Schema of the clean table for a layout (events: aggregated per user and item)."""
    if layout == "events":
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
        counts = [count_column(e) for e in schema.event_types or []]
        out = events_output_schema(schema, counts, u_specs, i_specs)
    elif layout == "movielens-100k":
        out = movielens_schema().model_copy(update={"csv": {}})
        out.columns = [c.model_copy(update={"source": None, "datetime_unit": None}) for c in out.columns]
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
        out = schema.model_copy(update={"columns": cols, "csv": {}, "event_types": None})
        out.layout = "interactions"
    return Schema.model_validate(out.model_dump())
