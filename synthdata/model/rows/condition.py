"""Conditional vectors and training-by-sampling (CTGAN's idea), as tensor ops on the model's device.

Every conditionable column (user id, item id, each discrete column) owns a slot in the conditional
vector: a one-hot block for discrete columns, an embedding block (the id's unit vector) for ids — so
the vector stays O(dim) wide however many users/items there are. Each row conditions on one column.

Training: per row pick a column uniformly, a value by log-frequency (rare values get seen), and a real
row having that value (for the discriminator's real batch) — no per-row Python loops: rows are found
through per-column `order`/`starts`/`counts` index tensors.
Sampling: a column uniformly and a value by its empirical frequency (so marginals are preserved), or
the caller's exact values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from synthdata.errors import ConfigError, InputError
from synthdata.model.rows.embeddings import IdDecoder
from synthdata.model.rows.transform import DataTransformer
from synthdata.schema import Role


@dataclass(frozen=True)
class CondSlot:
    column: str
    kind: str  # "id" | "discrete"
    n_values: int
    offset: int  # start within the conditional vector
    width: int
    span_start: int  # start of the column's span within the encoded row
    span_dim: int


class ConditionSampler(nn.Module):
    """Builds conditional vectors; holds id tables and frequency tables as non-persistent buffers.

    Nothing here is in the state dict: it is rebuilt from the transformer (fit or loaded), and the
    training-row index is attached only while fitting.
    """

    def __init__(self, transformer: DataTransformer) -> None:
        super().__init__()
        self.slots: list[CondSlot] = []
        self.decoders = nn.ModuleDict()
        off = 0
        for i, c in enumerate(transformer.conditional_columns):
            if c.kind == "id":
                cat = transformer.catalogues[c.name]
                width, n, freq = cat.embeddings.shape[1], cat.n, cat.counts.astype(np.float64)
                self.register_buffer(f"table{i}", torch.from_numpy(cat.embeddings), persistent=False)
                self.decoders[c.name] = IdDecoder(cat.embeddings, cat.counts, cat.cluster, cat.centroids)
            else:
                width = n = len(c.categories)
                freq = np.asarray(c.frequencies, dtype=np.float64)
            freq = freq / freq.sum()
            logf = np.log1p(freq * 1e6)  # log-frequency as in CTGAN's training-by-sampling
            self.register_buffer(f"emp{i}", torch.tensor(freq, dtype=torch.float32), persistent=False)
            self.register_buffer(
                f"logf{i}", torch.tensor(logf / logf.sum(), dtype=torch.float32), persistent=False
            )
            self.slots.append(CondSlot(c.name, c.kind, n, off, width, c.start, c.dim))
            off += width
        self.cond_dim = off
        self.has_rows = False

    # ------------------------------------------------------------------ buffers
    def table(self, i: int) -> torch.Tensor:
        return getattr(self, f"table{i}")

    def empirical(self, i: int) -> torch.Tensor:
        return getattr(self, f"emp{i}")

    def slot_index(self, column: str) -> int:
        for i, s in enumerate(self.slots):
            if s.column == column:
                return i
        raise KeyError(column)

    def attach_rows(self, codes: dict[str, np.ndarray]) -> None:
        """Index training rows by value of each conditionable column (for training-by-sampling)."""
        for i, s in enumerate(self.slots):
            c = torch.from_numpy(codes[s.column].astype(np.int64))
            order = torch.argsort(c, stable=True)
            counts = torch.bincount(c, minlength=s.n_values)
            starts = torch.cumsum(counts, 0) - counts
            self.register_buffer(f"order{i}", order, persistent=False)
            self.register_buffer(f"counts{i}", counts, persistent=False)
            self.register_buffer(f"starts{i}", starts, persistent=False)
        self.has_rows = True

    def detach_rows(self) -> None:
        """Drop the training-row index once training is over (it is O(rows), not needed to sample)."""
        for i in range(len(self.slots)):
            for k in ("order", "counts", "starts"):
                if hasattr(self, f"{k}{i}"):
                    delattr(self, f"{k}{i}")
        self.has_rows = False

    # ------------------------------------------------------------------ vectors
    def vector(self, col: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """Conditional vectors for rows that condition column `col[r]` on value code `val[r]`."""
        n = col.shape[0]
        dev = col.device
        cond = torch.zeros(n, self.cond_dim, device=dev)
        for i, s in enumerate(self.slots):
            mask = col == i
            v = torch.where(mask, val, torch.zeros_like(val))
            block = self.table(i)[v] if s.kind == "id" else nn.functional.one_hot(v, s.n_values).float()
            cond[:, s.offset : s.offset + s.width] = block * mask.unsqueeze(1)
        return cond

    def sample_train(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(col, val, cond, real_rows) for a training batch, by log-frequency."""
        if not self.has_rows:
            raise RuntimeError("attach_rows() must be called before training")
        dev = self.emp0.device
        col = torch.randint(len(self.slots), (n,), device=dev)
        val = torch.zeros(n, dtype=torch.long, device=dev)
        rows = torch.zeros(n, dtype=torch.long, device=dev)
        u = torch.rand(n, device=dev)
        for i in range(len(self.slots)):
            mask = col == i
            v = torch.multinomial(getattr(self, f"logf{i}"), n, replacement=True)
            cnt = getattr(self, f"counts{i}")[v]
            pos = getattr(self, f"starts{i}")[v] + torch.minimum((u * cnt).long(), cnt - 1)
            r = getattr(self, f"order{i}")[pos]
            val = torch.where(mask, v, val)
            rows = torch.where(mask, r, rows)
        return col, val, self.vector(col, val), rows

    def sample_original(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(col, val) drawn like the data: a column uniformly, a value by empirical frequency."""
        dev = self.emp0.device
        col = torch.randint(len(self.slots), (n,), device=dev, generator=generator)
        val = torch.zeros(n, dtype=torch.long, device=dev)
        for i in range(len(self.slots)):
            v = torch.multinomial(self.empirical(i), n, replacement=True, generator=generator)
            val = torch.where(col == i, v, val)
        return col, val

    def loss(self, raw: torch.Tensor, col: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """Generator penalty for not honouring the condition: CE (discrete) or 1-cos (ids), batch mean."""
        total = raw.new_zeros(())
        for i, s in enumerate(self.slots):
            mask = (col == i).float()
            out = raw[:, s.span_start : s.span_start + s.span_dim]
            v = torch.where(col == i, val, torch.zeros_like(val))
            if s.kind == "id":
                err = 1 - nn.functional.cosine_similarity(out, self.table(i)[v], dim=1)
            else:
                err = nn.functional.cross_entropy(out, v, reduction="none")
            total = total + (err * mask).sum()
        return total / raw.shape[0]


# --- user conditions --------------------------------------------------------------------------------
def match_codes(values: np.ndarray, categories: np.ndarray, column: str) -> np.ndarray:
    """Codes of requested values; values match exactly or by text (CLI gives `rating=5` as '5')."""
    codes = pd.Categorical(
        pd.Series(values, dtype=object), categories=pd.Index(categories, dtype=object)
    ).codes
    codes = codes.astype(np.int64)
    if (codes < 0).any():
        by_text = {str(c): i for i, c in enumerate(categories)}
        miss = codes < 0
        codes[miss] = [by_text.get(str(v), -1) for v in values[miss]]  # only unmatched condition values
        if (codes < 0).any():
            bad = values[codes < 0][0]
            raise InputError(f"condition value {bad!r} does not occur in the training data", column=column)
    return codes


def _per_row(col: str, vals: Any, n: int) -> np.ndarray:
    arr = np.asarray(
        vals if isinstance(vals, list | tuple | np.ndarray | pd.Series) else [vals], dtype=object
    )
    if len(arr) == 1:
        arr = np.repeat(arr, n)
    if len(arr) != n:
        raise ConfigError(f"condition {col!r} has {len(arr)} values for {n} rows (give 1 or {n})")
    return arr


def resolve_conditions(
    tr: DataTransformer, conditions: dict[str, Any] | None, n: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Turn user conditions into exact per-row codes of conditionable columns (no rejection).

    Attribute conditions become ids having those attributes (drawn by the ids' frequency), so a row
    never contradicts its user or item; an id given together with an attribute must have it.
    """
    if not conditions:
        return {}
    fixed: dict[str, np.ndarray] = {}
    attr_conds: dict[str, dict[str, np.ndarray]] = {}
    for col, vals in conditions.items():
        if col not in tr.output_columns:
            raise ConfigError(f"cannot condition on {col!r}: not a column of the model")
        arr = _per_row(col, vals, n)
        role = tr.schema.column(col).role
        if col in tr.catalogues:
            fixed[col] = match_codes(arr, tr.catalogues[col].values, col)
        elif role in (Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE):
            attr_conds.setdefault(tr.attribute_owner[col], {})[col] = arr
        else:
            info = tr.column_info(col) if col in [c.name for c in tr.columns] else None
            if info is None or info.kind != "discrete":
                raise ConfigError(
                    f"cannot condition on {col!r}: only ids, their attributes and discrete columns"
                )
            fixed[col] = match_codes(arr, info.categories, col)
    for owner, attrs in attr_conds.items():
        fixed[owner] = _ids_with(tr, owner, attrs, fixed.get(owner), n, rng)
    return fixed


def _ids_with(
    tr: DataTransformer,
    owner: str,
    attrs: dict[str, np.ndarray],
    given: np.ndarray | None,
    n: int,
    rng: np.random.Generator,
) -> np.ndarray:
    cat = tr.catalogues[owner]
    table = cat.attributes[list(attrs)].astype(str)
    frame = pd.DataFrame({a: pd.Series(v, dtype=object).astype(str) for a, v in attrs.items()})
    codes = given if given is not None else np.empty(n, dtype=np.int64)
    for key, rows in frame.groupby(list(attrs), sort=True).indices.items():
        key_t = key if isinstance(key, tuple) else (key,)
        mask = np.ones(cat.n, dtype=bool)
        for a, v in zip(attrs, key_t, strict=True):
            mask &= table[a].to_numpy() == v
        desc = ", ".join(f"{a}={v}" for a, v in zip(attrs, key_t, strict=True))
        if given is not None:
            bad = ~mask[codes[rows]]
            if bad.any():
                raise InputError(
                    f"{owner} {cat.values[codes[rows][bad][0]]!r} does not have {desc}", column=owner
                )
            continue
        cand = np.flatnonzero(mask)
        if len(cand) == 0:
            raise InputError(f"no {owner} in the training data has {desc}", column=next(iter(attrs)))
        p = cat.counts[cand] / cat.counts[cand].sum()
        codes[rows] = rng.choice(cand, size=len(rows), p=p)
    return codes
