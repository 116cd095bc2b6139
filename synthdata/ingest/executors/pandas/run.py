"""The streaming (pandas) executor: memory bounded by the output, not the input.

1. read chunks -> validate (reason codes) -> merge exact duplicates -> count attribute votes ->
   spill typed good rows to a temporary Parquet file beside the output;
2. re-read the spill in batches -> reject attribute conflicts -> write rows (interactions) or feed
   the per-(user, item) aggregator (events) -> join attribute tables -> write the clean Parquet.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthdata.errors import InputError
from synthdata.ingest.executors.pandas.checks import raw_json, validate_chunk
from synthdata.ingest.executors.pandas.dedup import AttributeVotes, Deduper, conflict_mask
from synthdata.ingest.executors.pandas.write import write_events, write_rows
from synthdata.ingest.output import ParquetOut, canonical
from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.report import Tally
from synthdata.ingest.rules import ATTRIBUTE_CONFLICT
from synthdata.ingest.sources import LINE, Source
from synthdata.ingest.sources.csvtext import MALFORMED, malformed_rejects
from synthdata.rowhash import row_hashes


def run_streaming(src: Source, plan: Plan, spill_dir: Path, rejects: Any) -> Outcome:
    """Pass 1 over the source, attribute tables, pass 2 over the spill; returns counts and paths."""
    schema, specs, names = plan.schema, plan.specs, plan.names
    uid, iid = schema.user_col, schema.item_col
    votes = {
        "u": AttributeVotes(uid, plan.inline_user_attributes),
        "i": AttributeVotes(iid, plan.inline_item_attributes),
    }
    main = Tally(source=src.label)
    dedup = Deduper()
    spill = spill_dir / f".{plan.out.stem}.pass1.{time.monotonic_ns()}.parquet"
    spill_w = ParquetOut(spill, specs, {LINE: pa.int64()})
    try:
        for raw in src.chunks():
            main.rows_in += len(raw)
            bad = raw.attrs.get(MALFORMED)
            checked = validate_chunk(raw, specs, schema.event_types, plan.now, schema.constraints)
            rej = checked.rejects
            if bad:  # malformed records take their place in line order
                main.rows_in += len(bad)
                rej = pd.concat([malformed_rejects(bad, len(src.columns)), rej], ignore_index=True)
                rej = rej.sort_values("line", kind="stable")
            main.reject(rej)
            rejects.write(src.label, rej)
            good = checked.good
            dup = dedup.seen_before(row_hashes(good[names]))
            main.rows_merged += int(dup.sum())
            good = good.loc[~dup]
            votes["u"].add(good)
            votes["i"].add(good)
            spill_w.write(pd.concat([canonical(good, specs), good[[LINE]].reset_index(drop=True)], axis=1))
        spill_w.close()
        if main.rows_in == 0:
            raise InputError("empty input: no data rows", path=src.label, row=plan.first_row)
        del dedup
        tables, attr_tallies, out_schema = plan.attributes(rejects)
        winners = {"u": votes["u"].winners(), "i": votes["i"].winners()}
        out = _second_pass(spill, plan, out_schema, winners, tables, main, rejects)
    finally:
        spill_w.close()  # no-op when already closed; an error mid-read must not leak the writer
        spill.unlink(missing_ok=True)
    out.main, out.attributes, out.schema = main, attr_tallies, out_schema
    return out


def _second_pass(
    spill: Path,
    plan: Plan,
    out_schema: Any,
    winners: dict[str, dict[str, pd.Series]],
    tables: dict[str, pd.DataFrame],
    main: Tally,
    rejects: Any,
) -> Outcome:
    """The spill read again: rows conflicting with an id's kept attributes rejected, the rest
    written (interactions) or aggregated per (user, item) (events)."""
    kept = _kept_rows(spill, plan, winners, main, rejects)
    if plan.layout == "events":
        return write_events(kept, plan, out_schema, winners, tables)
    return write_rows(kept, plan, out_schema, tables)


def _kept_rows(
    spill: Path, plan: Plan, winners: dict[str, dict[str, pd.Series]], main: Tally, rejects: Any
) -> Iterator[pd.DataFrame]:
    """Batches of the spill without `attribute_conflict` rows (rejected here), every id's
    attributes set to its kept value."""
    schema, names = plan.schema, plan.names
    uid, iid = schema.user_col, schema.item_col
    for batch in pq.ParquetFile(spill).iter_batches(batch_size=plan.chunk_size):
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
            rejects.write(plan.label, rej)
            df = df.loc[~bad].reset_index(drop=True)
        main.rows_kept += len(df)
        for key, idc in (("u", uid), ("i", iid)):
            for a, w in winners[key].items():  # an id's attribute is its kept value, also where empty
                df[a] = df[idc].map(w).astype(df[a].dtype) if len(w) else df[a]
        yield df
