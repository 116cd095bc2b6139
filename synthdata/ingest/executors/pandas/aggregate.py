"""The pandas executor's events aggregation: the layout's aggregates (`layouts.events.aggregates`)
per (user, item), streamed over chunks with memory bounded by the output."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.ingest.layouts.events import Aggregate
from synthdata.schema import DType


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


_PARTIAL = {"count": "sum", "min": "min", "max": "max", "sum": "sum"}  # how partial results combine


class EventAggregator:
    """Streams event chunks into the per-(user, item) aggregates `aggs` (`layouts.events.aggregates`).

    Memory is bounded by the number of distinct (user, item) pairs (the output), not by the number
    of events: each chunk is reduced with a groupby and partial results are re-reduced whenever they
    grow past `compact_rows` or twice the last compacted size (so re-reduction stays linear).
    Sums, minima and maxima do not depend on chunking, so any chunk size gives the same table.
    `times`: the input columns holding datetimes (aggregated as int64 nanoseconds).
    """

    def __init__(
        self, user: str, item: str, aggs: list[Aggregate], times: set[str], compact_rows: int = 2_000_000
    ) -> None:
        for a in aggs:
            if a.op not in _PARTIAL:
                raise ValueError(f"aggregate {a.name!r}: the pandas executor has no rendering for {a.op!r}")
        self.user, self.item, self.aggs, self.times = user, item, list(aggs), times
        self.users, self.items = IdCodec(), IdCodec()
        self.parts: list[pd.DataFrame] = []
        self.part_rows = 0
        self.compact_rows = compact_rows
        self.compact_at = compact_rows

    def add(self, df: pd.DataFrame) -> None:
        if df.empty:
            return
        key = (self.users.encode(df[self.user]) << 32) | self.items.encode(df[self.item])
        cols: dict[str, np.ndarray] = {"key": key}
        codes: dict[str, np.ndarray] = {}
        for a in self.aggs:
            cols[a.name] = self._input(df, a, codes)
        part = pd.DataFrame(cols).groupby("key", sort=False).agg(self._agg_spec())
        self.parts.append(part)
        self.part_rows += len(part)
        if self.part_rows > self.compact_at and len(self.parts) > 1:
            self._compact()

    def _input(self, df: pd.DataFrame, a: Aggregate, codes: dict[str, np.ndarray]) -> np.ndarray:
        """The column `a` reduces: 0/1 per row for counts (one categorical coding per column)."""
        if a.op == "count":
            cats = [b.equals for b in self.aggs if b.op == "count" and b.column == a.column]
            if a.column not in codes:
                codes[a.column] = pd.Categorical(df[a.column], categories=cats).codes
            return (codes[a.column] == cats.index(a.equals)).astype(np.int64)
        if a.column in self.times:
            return df[a.column].to_numpy("datetime64[ns]").astype(np.int64)
        x = df[a.column].astype("float64")
        return (x if a.fill is None else x.fillna(a.fill)).to_numpy()

    def _agg_spec(self) -> dict[str, str]:
        return {a.name: _PARTIAL[a.op] for a in self.aggs}

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
        for a in self.aggs:
            col = g[a.name].to_numpy()[order]
            if a.op == "count":
                out[a.name] = col.astype(np.int64)
            elif a.column in self.times:
                out[a.name] = pd.to_datetime(col, utc=True)
            else:
                out[a.name] = col.round(a.digits) if a.digits is not None else col
        return out
