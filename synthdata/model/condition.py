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

import numpy as np
import torch
from torch import nn

from synthdata.model.embeddings import IdDecoder
from synthdata.model.transform import DataTransformer


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
