"""Layouts: how an input is turned into one interaction table.

- `movielens-100k`: folder with u.data / u.user / u.item (fixed formats, below).
- `events`: raw behaviour log, aggregated per (user, item) by `EventAggregator`.
- `interactions`: already one row per interaction, described by a schema.
`detect_layout` implements `--layout auto`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.layouts.attributes import SideTable
from synthdata.ingest.layouts.events import count_column, events_output_schema
from synthdata.ingest.layouts.movielens import (
    ML_FLAGS,
    ML_ITEM_NAMES,
    ML_USER_NAMES,
    movielens_schema,
    primary_genre,
)
from synthdata.ingest.sources import is_glob, is_parquet_source, is_sql_url
from synthdata.schema import ColumnSpec, Role, Schema

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
    inline_user_attributes: list[str],
    inline_item_attributes: list[str],
) -> Schema:
    """Schema of the clean table for a layout (events: aggregated per user and item)."""
    if layout == "events":
        u_specs = (
            [s.model_copy(update={"nullable": True}) for s in attr_specs["users"]]
            if "users" in attr_specs
            else [schema.column(n) for n in inline_user_attributes]
        )
        i_specs = (
            [s.model_copy(update={"nullable": True}) for s in attr_specs["items"]]
            if "items" in attr_specs
            else [schema.column(n) for n in inline_item_attributes]
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
