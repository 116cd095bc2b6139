"""A batch of user histories as coordinates, and the encoder's input layer that reads it sparsely.

A history batch is the (user row, item) pairs of a few hundred users: never a dense users × items
matrix on the input side, so the first layer costs O(positives · width) instead of O(users · items ·
width) (`nn.EmbeddingBag` with per-pair weights, one kernel on CPU and GPU). The decoder's output
is dense (the multinomial over the catalogue); the likelihood reads it at the pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class HistoryBatch:
    rows: torch.Tensor  # int64, sorted: which user of the batch each pair belongs to
    items: torch.Tensor  # int64 item codes
    n_users: int
    n_items: int

    @classmethod
    def from_csr(
        cls, indptr: torch.Tensor, indices: torch.Tensor, users: torch.Tensor, n_items: int
    ) -> HistoryBatch:
        """The histories of `users` from a CSR matrix held as two tensors (no Python loop per user)."""
        starts = indptr[users]
        lens = indptr[users + 1] - starts
        rows = torch.repeat_interleave(torch.arange(users.numel(), device=users.device), lens)
        offset = torch.arange(int(lens.sum()), device=users.device) - torch.repeat_interleave(
            torch.cumsum(lens, 0) - lens, lens
        )
        items = indices[torch.repeat_interleave(starts, lens) + offset].long()
        return cls(rows, items, users.numel(), n_items)

    def lengths(self) -> torch.Tensor:
        return torch.bincount(self.rows, minlength=self.n_users)

    def keep(self, mask: torch.Tensor) -> HistoryBatch:
        """The batch without the pairs where `mask` is False (input dropout, neighbour corruption)."""
        return HistoryBatch(self.rows[mask], self.items[mask], self.n_users, self.n_items)

    def drop(self, p: float, generator: torch.Generator | None = None) -> HistoryBatch:
        if p <= 0:
            return self
        u = torch.rand(self.rows.shape, generator=generator, device=self.rows.device)
        return self.keep(u >= p)

    def dense(self) -> torch.Tensor:
        x = torch.zeros((self.n_users, self.n_items), device=self.rows.device)
        x[self.rows, self.items] = 1.0
        return x

    def mask_(self, scores: torch.Tensor, value: float = float("-inf")) -> torch.Tensor:
        """Set the batch's pairs in a users × items score matrix to `value` (in place)."""
        return scores.index_put_((self.rows, self.items), torch.tensor(value, device=scores.device))

    def log_likelihood(self, logits: torch.Tensor) -> torch.Tensor:
        """Σ over each user's items of log softmax(logits): the multinomial log-likelihood per user."""
        logp = torch.log_softmax(logits, dim=1)[self.rows, self.items]
        return torch.zeros(self.n_users, device=logits.device).index_add(0, self.rows, logp)


class HistoryInput(nn.Module):
    """First encoder layer on L2-normalised histories (+ attributes): W·x/‖x‖ + V·a + b, sparse in x."""

    def __init__(self, n_items: int, attr_dim: int, width: int) -> None:
        super().__init__()
        self.items = nn.EmbeddingBag(n_items, width, mode="sum")
        self.attrs = nn.Linear(attr_dim, width, bias=False) if attr_dim else None
        self.bias = nn.Parameter(torch.zeros(width))
        nn.init.uniform_(self.items.weight, -(n_items**-0.5), n_items**-0.5)  # nn.Linear's scale

    def forward(self, batch: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        lens = batch.lengths()
        norm = lens.clamp(min=1).float().rsqrt()[batch.rows]
        offsets = torch.cumsum(lens, 0) - lens
        h = self.items(batch.items, offsets, per_sample_weights=norm) + self.bias
        return h + self.attrs(a) if self.attrs is not None else h
