"""Sampling rows from a trained backend: one batch at a time, optionally streamed to Parquet.

Conditions are exact, never by rejection: a conditioned column's value is placed in the conditional
vector (so the rest of the row is generated *for* it) and also written to the output as given.
Attribute conditions were already turned into id conditions by the caller (ids having that attribute),
and attributes are looked up from ids, so a row never contradicts its user or item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import torch

from synthdata.atomic import atomic_path
from synthdata.errors import ConfigError
from synthdata.model.rows.backend import Backend
from synthdata.model.rows.condition import ConditionSampler
from synthdata.model.rows.nets import activate
from synthdata.model.rows.transform import DataTransformer
from synthdata.model.shard import WHOLE, Shard, block_seed

BLOCK_ROWS = 10_000  # rows per seeded block: the unit of determinism and of sharding (model/shard.py)


@torch.no_grad()
def generate_batch(
    net: Backend,
    cond: ConditionSampler,
    tr: DataTransformer,
    n: int,
    fixed: dict[str, np.ndarray] | None,
    tgen: torch.Generator,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """`n` rows; `fixed` maps conditionable columns to per-row value codes (already validated)."""
    dev = next(net.parameters()).device
    was_training = net.training
    net.eval()
    try:
        fixed = fixed or {}
        if fixed:
            idx = torch.tensor([cond.slot_index(c) for c in fixed], device=dev)
            pick = torch.randint(len(idx), (n,), device=dev, generator=tgen)
            col = idx[pick]
            codes = torch.stack([torch.as_tensor(v, device=dev, dtype=torch.long) for v in fixed.values()])
            val = codes.gather(0, pick.unsqueeze(0)).squeeze(0)
        else:
            col, val = cond.sample_original(n, generator=tgen)
        c = cond.vector(col, val)
        z = torch.randn(n, net.hp.z_dim, device=dev, generator=tgen)
        act = activate(net.decode(z, c), tr.output_info, hard=True, generator=tgen)
        act = net.noise_continuous(act, tgen)
        id_codes: dict[str, np.ndarray] = {}
        disc_codes: dict[str, np.ndarray] = {}
        for i, s in enumerate(cond.slots):
            span = act[:, s.span_start : s.span_start + s.span_dim]
            if s.column in fixed:
                out = torch.as_tensor(fixed[s.column], device=dev, dtype=torch.long)
            else:
                if s.kind == "id":
                    decoded = cond.decoders[s.column](span, temperature=net.hp.id_temperature, generator=tgen)
                else:
                    decoded = span.argmax(dim=1)
                out = torch.where(col == i, val, decoded)  # the sampled condition is honoured exactly
            (id_codes if s.kind == "id" else disc_codes)[s.column] = out.cpu().numpy()
        return tr.inverse_transform(act.cpu().numpy(), id_codes, disc_codes, rng=rng)
    finally:
        net.train(was_training)


def iter_batches(
    net: Backend,
    cond: ConditionSampler,
    tr: DataTransformer,
    n: int,
    *,
    fixed: dict[str, np.ndarray] | None = None,
    seed: int = 0,
    shard: Shard = WHOLE,
) -> Iterator[pd.DataFrame]:
    """The `n` rows (or `shard`'s part of them) in blocks of BLOCK_ROWS rows, block `b` drawn from its
    own generators (model/shard.py), so the rows never depend on batch sizes or on the other shards.
    `fixed` holds per-row codes for all `n` rows; each block takes its slice. Memory: one block."""
    dev = next(net.parameters()).device
    for b in shard.blocks(n, BLOCK_ROWS):
        start, stop = b * BLOCK_ROWS, min(n, (b + 1) * BLOCK_ROWS)
        s = block_seed(seed, b)
        tgen = torch.Generator(device=dev)
        tgen.manual_seed(s)
        part = {c: v[start:stop] for c, v in (fixed or {}).items()}
        yield generate_batch(net, cond, tr, stop - start, part, tgen, np.random.default_rng(s))


FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def output_format(path: str | Path) -> str:
    """File format from the suffix; an unknown suffix is refused before anything is sampled."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out {path}: unknown file type; use one of {', '.join(sorted(FORMATS))}")
    return fmt


def _for_format(table: pa.Table, fmt: str) -> pa.Table:
    """CSV has no dictionary type: categorical columns are written as their values."""
    if fmt != "csv":
        return table
    plain = [
        pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in table.schema
    ]
    return table.cast(pa.schema(plain))


def write_rows(batches: Iterator[pd.DataFrame], path: str | Path, schema: pa.Schema | None = None) -> int:
    """Stream batches into one Parquet or CSV file (by suffix; CSV timestamps ISO-8601); returns rows.

    Written to a temporary file beside the target and renamed into place (synthdata.atomic), so
    readers never see a half-written file; on failure the temporary file is removed.
    """
    fmt = output_format(path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = pacsv.CSVWriter if fmt == "csv" else pq.ParquetWriter
    rows = 0
    with atomic_path(path, durable=False) as tmp:
        writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        try:
            for df in batches:
                table = _for_format(pa.Table.from_pandas(df, schema=schema, preserve_index=False), fmt)
                if writer is None:
                    writer = opener(tmp, table.schema)
                writer.write_table(table)
                rows += len(df)
            if writer is None:  # zero rows: still a valid, empty file with the columns
                if schema is None:
                    raise ValueError("an arrow schema is needed to write an empty file")
                writer = opener(tmp, _for_format(schema.empty_table(), fmt).schema)
        finally:
            if writer is not None:
                writer.close()
    return rows
