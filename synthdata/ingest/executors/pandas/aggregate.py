"""The pandas executor's events aggregation: per-(user, item) counts, first/last time and value
sum, streamed over chunks with memory bounded by the output."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.ingest.layouts.events import count_column
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
