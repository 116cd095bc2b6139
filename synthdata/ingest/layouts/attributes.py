"""User / item attribute tables (e.g. users.csv, u.user): validated, de-duplicated, one row per id.

Attribute tables are small next to behaviour logs (one row per user or item), so after chunked
reading and validation they are held in memory. Exact duplicate rows are merged; rows giving an id
a different value than the one kept (majority value, ties to the first seen) are rejected as
`attribute_conflict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.executors.pandas.checks import raw_json, validate_chunk
from synthdata.ingest.executors.pandas.dedup import AttributeVotes, Deduper, conflict_mask
from synthdata.ingest.infer import _ITEM, _USER, clean_name, infer_attribute_specs
from synthdata.ingest.report import RejectsWriter, Tally
from synthdata.ingest.rules import ATTRIBUTE_CONFLICT
from synthdata.ingest.sources import LINE, Source, open_source
from synthdata.ingest.sources.csvtext import MALFORMED, with_malformed
from synthdata.rowhash import row_hashes
from synthdata.schema import ColumnSpec, Role


@dataclass
class SideTable:
    """Where an attribute table is and how to read it."""

    kind: str  # "users" or "items"
    path: Path
    csv_opts: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None

    @property
    def role(self) -> Role:
        return Role.USER_ATTRIBUTE if self.kind == "users" else Role.ITEM_ATTRIBUTE


def _id_column(columns: list[Any], id_spec: ColumnSpec, kind: str, label: str) -> Any:
    for cand in (id_spec.input_name, id_spec.name):
        if cand in columns:
            return cand
    names = _USER if kind == "users" else _ITEM
    for c in columns:
        if clean_name(c) in names:
            return c
    if not columns:
        raise InputError("attribute table has no columns", path=label)
    return columns[0]


def load_attributes(
    side: SideTable,
    id_spec: ColumnSpec,
    specs: list[ColumnSpec] | None,
    *,
    taken: set[str],
    now: pd.Timestamp,
    rejects: RejectsWriter,
    chunk_size: int,
    pad_short_records: bool = False,
) -> tuple[pd.DataFrame, Tally, list[ColumnSpec]]:
    """Returns (attributes indexed by id, row tally, attribute specs used)."""
    src = open_source(
        side.path,
        encoding=side.encoding,
        csv_opts=side.csv_opts,
        chunk_size=chunk_size,
        pad_short_records=pad_short_records,
    )
    id_col = _id_column(src.columns, id_spec, side.kind, src.label)
    key = id_spec.model_copy(update={"source": id_col})
    tally = Tally(source=src.label)
    rows, specs = _valid_rows(src, key, specs, side.role, taken, now, rejects, tally)
    table = _one_row_per_id(rows, key, specs, src.label, rejects, tally)
    return table, tally, specs


def _valid_rows(
    src: Source,
    key: ColumnSpec,
    specs: list[ColumnSpec] | None,
    role: Role,
    taken: set[str],
    now: pd.Timestamp,
    rejects: RejectsWriter,
    tally: Tally,
) -> tuple[pd.DataFrame, list[ColumnSpec]]:
    """(the table's valid rows, exact duplicates merged; the attribute specs, inferred from the
    first chunk when not declared). Invalid and malformed rows are rejected."""
    goods: list[pd.DataFrame] = []
    dedup = Deduper()
    for raw in src.chunks():
        if specs is None:
            specs = infer_attribute_specs(raw.head(20_000), key.input_name, role, src.raw_text, taken)
        for s in specs:
            if s.input_name not in raw.columns:
                raise InputError(
                    "required attribute column missing",
                    path=src.label,
                    column=str(s.input_name),
                    row=src.header_line,
                )
        tally.rows_in += len(raw)
        checked = validate_chunk(raw, [key, *specs], None, now)
        tally.rows_in += len(raw.attrs.get(MALFORMED, []))
        rej = with_malformed(checked.rejects, raw.attrs.get(MALFORMED), len(src.columns))
        tally.reject(rej)
        rejects.write(src.label, rej)
        good = checked.good
        dup = dedup.seen_before(row_hashes(good.drop(columns=[LINE])))
        tally.rows_merged += int(dup.sum())
        goods.append(good.loc[~dup])
    if tally.rows_in == 0 or specs is None:
        raise InputError("empty input: attribute table has no data rows", path=src.label, row=2)
    return pd.concat(goods, ignore_index=True), specs


def _one_row_per_id(
    rows: pd.DataFrame,
    key: ColumnSpec,
    specs: list[ColumnSpec],
    label: str,
    rejects: RejectsWriter,
    tally: Tally,
) -> pd.DataFrame:
    """The attributes indexed by id: each id's winning value per attribute (`AttributeVotes`);
    rows giving an id another value are `attribute_conflict` rejects."""
    names = [s.name for s in specs]
    votes = AttributeVotes(key.name, names)
    votes.add(rows)
    winners = votes.winners()
    bad, col = conflict_mask(rows, key.name, winners)
    if bad.any():
        rej = pd.DataFrame(
            {
                "line": rows.loc[bad, LINE].to_numpy(),
                "column": col[bad],
                "reason": ATTRIBUTE_CONFLICT,
                "value": [str(rows.at[i, c]) for i, c in zip(rows.index[bad], col[bad], strict=True)],
                "raw": raw_json(rows.loc[bad].drop(columns=[LINE])),
            }
        )
        tally.reject(rej)
        rejects.write(label, rej)
    tally.rows_kept = int((~bad).sum())
    tally.check()
    ids = pd.unique(rows.loc[~bad, key.name])
    table = pd.DataFrame({a: pd.Series(ids).map(winners[a]).to_numpy() for a in names}, index=ids)
    for s in specs:  # restore typed dtypes lost by the object-valued map
        table[s.name] = table[s.name].astype(rows[s.name].dtype) if len(table) else table[s.name]
    table.index.name = key.name
    return table
