"""The histories family under Lightning: batches of users (their item sets made dense on the device)
and model selection on recall@k of validation users' held-out items (Mult-VAE's protocol: a share of
each validation user's items is held out of training, the rest is folded in, and the top-k of the
scores, excluding the folded-in items, is scored; recall = hits / |held-out items|)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from synthdata.model.histories.backend import HistoryNet
from synthdata.model.histories.batch import HistoryBatch
from synthdata.model.histories.encode import HistoryEncoder
from synthdata.model.seeds import seed_for
from synthdata.model.training import SynthModule


def validation_split(enc: HistoryEncoder, users: int, holdout: float, seed: int) -> dict[str, np.ndarray]:
    """Training CSR without the held-out items of `users` validation users, and those items."""
    rng = np.random.default_rng(seed_for(seed, "validation", 0))
    lens = enc.lengths()
    eligible = np.flatnonzero(lens >= 5)
    val = np.sort(rng.choice(eligible, size=min(users, eligible.size), replace=False))
    held = np.zeros(enc.indices.size, dtype=bool)
    for u in val:
        a, b = enc.indptr[u], enc.indptr[u + 1]
        k = max(1, round(holdout * (b - a)))
        held[a + rng.choice(b - a, size=k, replace=False)] = True
    row = np.repeat(np.arange(enc.n_users), lens)
    keep = ~held
    counts = np.bincount(row[keep], minlength=enc.n_users)
    return {
        "indptr": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "indices": enc.indices[keep],
        "val_users": val,
        "held_rows": row[held],
        "held_items": enc.indices[held].astype(np.int64),
    }


class HistoryData(pl.LightningDataModule):
    def __init__(self, enc: HistoryEncoder, split: dict[str, np.ndarray], batch_size: int, seed: int) -> None:
        super().__init__()
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.attrs = torch.from_numpy(enc.attr_matrix)
        lens = np.diff(split["indptr"])
        self.train_users = torch.from_numpy(np.flatnonzero(lens > 0))
        self.steps_per_epoch = max(1, -(-self.train_users.numel() // batch_size))

    def train_dataloader(self) -> DataLoader:
        g = torch.Generator()
        g.manual_seed(seed_for(self.seed, "train", 1))
        return DataLoader(
            TensorDataset(self.train_users), batch_size=self.batch_size, shuffle=True, generator=g
        )

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.zeros(1)), batch_size=1)


class HistoryModule(SynthModule):
    """A histories backend under Lightning."""

    net: HistoryNet

    def __init__(self, net: HistoryNet, *, seed: int, ckpt_extra: dict[str, Any]) -> None:
        super().__init__(net, seed=seed, ckpt_extra=ckpt_extra)
        self.tensors: dict[str, torch.Tensor] = {}

    def on_fit_start(self) -> None:
        dm: HistoryData = self.trainer.datamodule
        t = {k: torch.from_numpy(np.asarray(v)) for k, v in dm.split.items()}
        self.tensors = {k: v.to(self.device) for k, v in t.items()} | {"attrs": dm.attrs.to(self.device)}
        self.seed_rank()

    def _batch_of(self, users: torch.Tensor) -> tuple[HistoryBatch, torch.Tensor]:
        """The training histories and attribute rows of `users`."""
        t = self.tensors
        return HistoryBatch.from_csr(t["indptr"], t["indices"], users, self.net.n_items), t["attrs"][users]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        (users,) = batch
        x, a = self._batch_of(users.to(self.device))
        total = max(1, int(self.trainer.estimated_stepping_batches))
        losses = self.net.loss(x, a, int(self.global_step), total)
        (opt,) = self.optimizer_list()
        opt.zero_grad(set_to_none=True)
        self.manual_backward(losses["loss"])
        opt.step()
        logged = {k: v.detach() for k, v in losses.items()}
        self.log_dict(logged, on_step=False, on_epoch=True, sync_dist=True, batch_size=users.numel())

    @torch.no_grad()
    def validation_recall(self) -> float:
        t, k = self.tensors, self.net.hp.val_k
        val = t["val_users"]
        if val.numel() == 0:
            return 0.0
        was = self.net.training
        self.net.eval()
        hits, total = 0.0, 0
        for s in range(0, val.numel(), 256):
            users = val[s : s + 256]
            x, a = self._batch_of(users)
            scores = x.mask_(self.net.score(x, a))
            top = scores.topk(min(k, scores.shape[1]), dim=1).indices
            held = torch.isin(t["held_rows"], users)
            rows = torch.searchsorted(users, t["held_rows"][held])  # validation users are sorted
            item = t["held_items"][held]
            hit = (top[rows] == item[:, None]).any(dim=1).float()
            n_held = torch.bincount(rows, minlength=users.numel()).float()
            per_user = torch.zeros(users.numel(), device=self.device).index_add_(0, rows, hit) / n_held
            hits += float(per_user.sum())
            total += users.numel()
        self.net.train(was)
        return hits / max(total, 1)

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self.log("val_recall", self.validation_recall(), prog_bar=True, sync_dist=True, batch_size=1)
