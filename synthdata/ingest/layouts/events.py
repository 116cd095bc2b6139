"""The events layout's output: one row per (user, item) with a count per event type, first and last
time and the value sum. The aggregation is described once (`aggregates`: one `Aggregate` per output
column) and rendered per executor: `executors/pandas/aggregate.py` (`EventAggregator`),
`executors/duckdb/write.py` (SQL) and `executors/pushdown/write.py` (SQLAlchemy Core).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from synthdata.schema import ColumnSpec, DType, InequalityConstraint, PositiveRule, Role, Schema


@dataclass(frozen=True)
class Aggregate:
    """One output column of the per-(user, item) aggregation. `op`: count (rows whose `where` column
    equals `equals`), min, max or sum of `column`; `fill`: the value an empty input counts as;
    `digits`: the result rounded to that many decimals (absorbs float summation order)."""

    name: str
    op: str
    column: str
    equals: str | None = None
    fill: float | None = None
    digits: int | None = None


AGGREGATE_OPS = ("count", "min", "max", "sum")


def aggregates(schema: Schema, names: list[str]) -> list[Aggregate]:
    """The events layout's aggregation over the checked columns `names`, in output order."""
    out = [
        Aggregate(count_column(e), "count", schema.event_col or "", equals=e)
        for e in schema.event_types or []
    ]
    if schema.time_col is not None and schema.time_col in names:
        out += [Aggregate("first_ts", "min", schema.time_col), Aggregate("last_ts", "max", schema.time_col)]
    vcol = value_column(schema)
    if vcol is not None and vcol in names:
        out.append(Aggregate("value_sum", "sum", vcol, fill=0.0, digits=6))
    return out


def count_column(event_type: str) -> str:
    """Count column for an event type: `view` -> `views`, `add to cart` -> `add_to_carts`."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", event_type.strip()).strip("_").lower() or "event"
    return s if s.endswith("s") else s + "s"


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
