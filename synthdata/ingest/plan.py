"""The cleaning plan: what one ingest does, independent of who executes it.

A `Plan` holds the checks (the schema's columns in order: missing -> type -> range -> allowed ->
event type, then constraints), the layout's output shape and the attribute tables. Executors
(`executors/pandas`, `executors/duckdb`, `executors/pushdown` in the source database) run it and return
an `Outcome`; `api.ingest` turns that into files and a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.ingest.layouts import attribute_declared, finish_attributes, output_schema
from synthdata.ingest.layouts.attributes import SideTable, load_attributes
from synthdata.ingest.report import Tally
from synthdata.schema import ColumnSpec, Role, Schema


@dataclass
class Plan:
    schema: Schema  # input schema (given or inferred)
    layout: str
    specs: list[ColumnSpec]  # main-table columns, checked in this order
    sides: dict[str, SideTable]
    now: pd.Timestamp
    out: Path  # where the executor writes the clean table (a temporary name beside the final one)
    label: str
    chunk_size: int
    first_row: int  # line of the first data row (for "empty input" messages)
    inferred: bool = False
    settings: dict[str, Any] = field(default_factory=dict)  # threads, memory limit, pad_short_records

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    @property
    def inline_user_attributes(self) -> list[str]:
        return [s.name for s in self.specs if s.role == Role.USER_ATTRIBUTE]

    @property
    def inline_item_attributes(self) -> list[str]:
        return [s.name for s in self.specs if s.role == Role.ITEM_ATTRIBUTE]

    def attributes(self, rejects: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Tally], Schema]:
        """Load the attribute tables (small: held in memory) and derive the output schema. With an
        inferred schema, inferred attribute columns are added to it (`self.schema`)."""
        tallies: dict[str, Tally] = {}
        tables: dict[str, pd.DataFrame] = {}
        attr_specs: dict[str, list[ColumnSpec]] = {}
        taken = set(self.schema.names)
        uid, iid = self.schema.user_col, self.schema.item_col
        for kind, side in self.sides.items():
            id_spec = self.schema.column(uid if kind == "users" else iid)
            declared = attribute_declared(self.layout, self.schema, side)
            tbl, tally, specs = load_attributes(
                side,
                id_spec,
                declared or None,
                taken=taken,
                now=self.now,
                rejects=rejects,
                chunk_size=self.chunk_size,
                pad_short_records=bool(self.settings.get("pad_short_records")),
            )
            tbl, specs = finish_attributes(self.layout, self.schema, kind, tbl, specs)
            tallies[kind], tables[kind], attr_specs[kind] = tally, tbl, specs
            taken |= {s.name for s in specs}
        if self.inferred:
            extra = [
                s
                for k in ("users", "items")
                for s in attr_specs.get(k, [])
                if s.name not in self.schema.names
            ]
            self.schema = self.schema.model_copy(update={"columns": [*self.schema.columns, *extra]})
        out = output_schema(
            self.layout,
            self.schema,
            self.sides,
            attr_specs,
            self.inline_user_attributes,
            self.inline_item_attributes,
        )
        return tables, tallies, out


@dataclass
class Outcome:
    """What an executor did: counts for the report and the clean table's schema."""

    rows_out: int
    n_users: int
    n_items: int
    span: dict[str, Any] | None
    main: Tally = field(default_factory=lambda: Tally(source=""))
    attributes: dict[str, Tally] = field(default_factory=dict)
    schema: Schema | None = None
