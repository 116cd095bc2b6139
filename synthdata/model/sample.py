"""Sampling rows from a trained generator: one batch at a time, optionally streamed to Parquet.

Conditions are exact, never by rejection: a conditioned column's value is placed in the conditional
vector (so the rest of the row is generated *for* it) and also written to the output as given.
Attribute conditions were already turned into id conditions by the caller (ids having that attribute),
and attributes are looked up from ids, so a row never contradicts its user or item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from synthdata.model.condition import ConditionSampler
from synthdata.model.nets import Generator, activate
from synthdata.model.transform import DataTransformer


class GeneratorBundle(Protocol):
    """What sampling needs from a model (the LightningModule satisfies it)."""

    generator: Generator
    cond: ConditionSampler
    transformer: DataTransformer
    z_dim: int
    id_temperature: float


@torch.no_grad()
def generate_batch(
    model: GeneratorBundle,
    n: int,
    fixed: dict[str, np.ndarray] | None,
    tgen: torch.Generator,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """`n` rows; `fixed` maps conditionable columns to per-row value codes (already validated)."""
    cond, tr, gen = model.cond, model.transformer, model.generator
    dev = next(gen.parameters()).device
    was_training = gen.training
    gen.eval()
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
        z = torch.randn(n, model.z_dim, device=dev, generator=tgen)
        act = activate(gen(torch.cat([z, c], dim=1)), tr.output_info, hard=True, generator=tgen)
        id_codes: dict[str, np.ndarray] = {}
        disc_codes: dict[str, np.ndarray] = {}
        for i, s in enumerate(cond.slots):
            span = act[:, s.span_start : s.span_start + s.span_dim]
            if s.column in fixed:
                out = torch.as_tensor(fixed[s.column], device=dev, dtype=torch.long)
            else:
                if s.kind == "id":
                    decoded = cond.decoders[s.column](span, temperature=model.id_temperature, generator=tgen)
                else:
                    decoded = span.argmax(dim=1)
                out = torch.where(col == i, val, decoded)  # the sampled condition is honoured exactly
            (id_codes if s.kind == "id" else disc_codes)[s.column] = out.cpu().numpy()
        return tr.inverse_transform(act.cpu().numpy(), id_codes, disc_codes, rng=rng)
    finally:
        gen.train(was_training)


def iter_batches(
    model: GeneratorBundle,
    n: int,
    *,
    fixed: dict[str, np.ndarray] | None = None,
    seed: int = 0,
    batch_rows: int = 50_000,
) -> Iterator[pd.DataFrame]:
    """Yield DataFrames of at most `batch_rows` rows totalling `n`; memory is O(batch_rows)."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be >= 1")
    dev = next(model.generator.parameters()).device
    tgen = torch.Generator(device=dev)
    tgen.manual_seed(seed)
    rng = np.random.default_rng(seed)
    done = 0
    while done < n:
        k = min(batch_rows, n - done)
        part = {c: v[done : done + k] for c, v in (fixed or {}).items()}
        yield generate_batch(model, k, part, tgen, rng)
        done += k


def write_parquet(batches: Iterator[pd.DataFrame], path: str | Path, schema: pa.Schema | None = None) -> int:
    """Stream batches into one Parquet file with `ParquetWriter`; returns rows written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    writer: pq.ParquetWriter | None = None
    rows = 0
    try:
        for df in batches:
            table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(df)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:  # zero rows: still write a valid, empty file
        if schema is None:
            raise ValueError("an arrow schema is needed to write an empty Parquet file")
        pq.write_table(schema.empty_table(), tmp)
    tmp.replace(path)  # readers never see a half-written file
    return rows
