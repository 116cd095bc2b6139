"""Row accounting, the rejects file and the JSON ingest report.

`Tally` enforces the invariant `rows_in == rows_kept + rows_rejected + rows_merged`; a violation is a
bug in synthdata, so it raises `AssertionError`-like `RuntimeError` rather than writing a wrong report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("line", pa.int64()),
        ("column", pa.string()),
        ("reason", pa.string()),
        ("value", pa.string()),
        ("raw", pa.string()),
    ]
)


@dataclass
class Tally:
    """Counts for one input table (the main table or an attribute table)."""

    source: str
    rows_in: int = 0
    rows_kept: int = 0
    rows_rejected: int = 0
    rows_merged: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    rejected_by_column: Counter = field(default_factory=Counter)  # key "reason:column"

    def reject(self, rejects: pd.DataFrame) -> None:
        self.rows_rejected += len(rejects)
        self.rejected_by_reason.update(rejects["reason"].tolist())
        self.rejected_by_column.update((rejects["reason"] + ":" + rejects["column"].astype(str)).tolist())

    def check(self) -> None:
        total = self.rows_kept + self.rows_rejected + self.rows_merged
        if self.rows_in != total:
            raise RuntimeError(
                f"row accounting broken for {self.source}: rows_in={self.rows_in} != kept {self.rows_kept}"
                f" + rejected {self.rows_rejected} + merged {self.rows_merged} = {total}"
            )

    def as_dict(self) -> dict[str, Any]:
        self.check()
        d = asdict(self)
        d["rejected_by_reason"] = dict(sorted(self.rejected_by_reason.items()))
        by_col: dict[str, dict[str, int]] = {}
        for key, n in sorted(self.rejected_by_column.items()):
            reason, col = key.split(":", 1)
            by_col.setdefault(reason, {})[col] = n
        d["rejected_by_reason_column"] = by_col
        del d["rejected_by_column"]
        return d


class RejectsWriter:
    """Streams reject records to Parquet (or CSV when the path ends in .csv); always creates the
    file, so an empty rejects file proves nothing was rejected."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.csv = path.suffix.lower() == ".csv"
        self._pq = None if self.csv else pq.ParquetWriter(path, REJECT_SCHEMA)
        self._frames: list[pd.DataFrame] = []
        self.n = 0

    def write(self, source: str, rejects: pd.DataFrame) -> None:
        if rejects.empty:
            return
        df = rejects.assign(source=source)[REJECT_SCHEMA.names]
        df = df.astype({"line": "int64"})
        for c in ("column", "reason", "value", "raw"):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
            df[c] = df[c].map(lambda v: v if v is None else str(v))
        self.n += len(df)
        if self._pq is not None:
            self._pq.write_table(pa.Table.from_pandas(df, schema=REJECT_SCHEMA, preserve_index=False))
        else:
            self._frames.append(df)

    def close(self) -> None:
        if self._pq is not None:
            if self.n == 0:
                self._pq.write_table(REJECT_SCHEMA.empty_table())
            self._pq.close()
        else:
            pd.concat(self._frames or [pd.DataFrame(columns=REJECT_SCHEMA.names)]).to_csv(
                self.path, index=False
            )


@dataclass
class IngestReport:
    """What one ingest did. `to_json` is the report file; top-level counts are the main table's."""

    source: str
    layout: str
    out: str
    schema_path: str
    rejects_path: str
    main: Tally
    attributes: dict[str, Tally]
    rows_out: int
    n_users: int
    n_items: int
    time_span: dict[str, Any] | None
    inferred_schema_path: str | None = None
    elapsed_s: float = 0.0
    engine: str = "pandas"  # which executor ran the plan: duckdb | pushdown | pandas

    @property
    def density(self) -> float:
        return self.rows_out / (self.n_users * self.n_items) if self.n_users and self.n_items else 0.0

    def to_dict(self) -> dict[str, Any]:
        m = self.main.as_dict()
        return {
            "source": self.source,
            "layout": self.layout,
            "rows_in": m["rows_in"],
            "rows_kept": m["rows_kept"],
            "rows_rejected": m["rows_rejected"],
            "rows_merged": m["rows_merged"],
            "rows_out": self.rows_out,
            "rejected_by_reason": m["rejected_by_reason"],
            "rejected_by_reason_column": m["rejected_by_reason_column"],
            "n_users": self.n_users,
            "n_items": self.n_items,
            "density": round(self.density, 8),
            "time_span": self.time_span,
            "attributes": {k: v.as_dict() for k, v in self.attributes.items()},
            "outputs": {
                "clean": self.out,
                "schema": self.schema_path,
                "rejects": self.rejects_path,
                "inferred_schema": self.inferred_schema_path,
            },
            "engine": self.engine,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text


def time_span(ts: pd.Series) -> dict[str, Any] | None:
    ts = ts.dropna()
    if ts.empty:
        return None
    lo, hi = ts.min(), ts.max()
    return {"min": lo.isoformat(), "max": hi.isoformat(), "days": round((hi - lo).total_seconds() / 86400, 3)}
