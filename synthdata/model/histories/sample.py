"""Sampling whole users: item sets from a histories network, then one complete row per (user, item).

* virtual users: a code from the network's prior (backend.py), attributes copied whole from a
  randomly drawn real user (so the combination is a real one), history length from the real length
  distribution; a network without a fitted prior makes neighbours of randomly drawn users instead;
* neighbours of given users: a stochastic code of their history, their attributes and length.

Items are drawn without replacement from the decoded distribution (Gumbel top-k, exact for sampling
without replacement). A drawn history identical to a training history is drawn again (up to 10
times, then left out), so no output user copies a real one; the count is logged. Item attributes
come by look-up and other columns from the item-conditional head (columns.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from synthdata.log import get_logger, kv
from synthdata.model.histories.backend import HistoryNet
from synthdata.model.histories.batch import HistoryBatch
from synthdata.model.histories.encode import HistoryEncoder, history_key
from synthdata.model.rows.columns import restore_dtypes
from synthdata.model.shard import WHOLE, Shard, block_seed

log = get_logger(__name__)
REDRAWS = 10


@dataclass
class Sources:
    """Per output user: the real user its attributes (and, for neighbours, history) come from."""

    users: np.ndarray  # real user codes
    neighbours: bool  # True: code from the source's history; False: from the prior


class UserSampler:
    """Draws one seeded block of users at a time (`start_block`, model/shard.py)."""

    def __init__(self, net: HistoryNet, enc: HistoryEncoder, seed: int) -> None:
        self.net, self.enc, self.seed = net, enc, seed
        self.dev = next(net.parameters()).device
        self.tgen = torch.Generator(device=self.dev)
        self.rng: np.random.Generator
        self.start_block(0)  # seeds tgen and sets rng
        self.t_indptr = torch.from_numpy(enc.indptr).to(self.dev)
        self.t_indices = torch.from_numpy(enc.indices).to(self.dev)
        self.t_attrs = torch.from_numpy(enc.attr_matrix).to(self.dev)
        lens = enc.lengths()
        self.real_lengths = lens[lens > 0]
        self.active = np.flatnonzero(lens > 0)
        self.max_len = min(net.hp.max_history or int(lens.max()), enc.n_items)
        self.keys = enc.training_keys()
        self.copies_redrawn = 0
        self.copies_dropped = 0

    def start_block(self, block: int) -> None:
        """Reseed: block `block`'s users are drawn from generators of their own."""
        s = block_seed(self.seed, block)
        self.tgen.manual_seed(s)
        self.rng = np.random.default_rng(s)

    def virtual_sources(self, n: int) -> tuple[Sources, np.ndarray]:
        """Sources and lengths of `n` brand-new users."""
        has_prior = self.net.has_prior
        src = self.rng.choice(self.active, size=n)  # whose attributes (no prior: and history) it takes
        lengths = self.real_lengths[self.rng.integers(0, self.real_lengths.size, size=n)]
        return Sources(src, neighbours=not has_prior), np.minimum(lengths, self.max_len)

    @torch.no_grad()
    def _items(self, src: Sources, lengths: np.ndarray) -> list[np.ndarray]:
        users = torch.from_numpy(src.users).to(self.dev)
        a = self.t_attrs[users]
        if src.neighbours:
            x = HistoryBatch.from_csr(self.t_indptr, self.t_indices, users, self.enc.n_items)
            z = self.net.latent(x, a, self.tgen)
        else:
            z = self.net.prior(users.numel(), a, self.tgen)
        logits = torch.log_softmax(self.net.decode(z, a), dim=1)
        u = torch.rand(logits.shape, generator=self.tgen, device=self.dev).clamp_(1e-20, 1.0)
        top = (logits - torch.log(-torch.log(u))).topk(int(lengths.max()), dim=1).indices.cpu().numpy()
        return [top[r, : lengths[r]] for r in range(len(lengths))]

    def draw(self, src: Sources, lengths: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Item sets for each source; copies of training histories redrawn, then dropped (the mask of
        the sources kept and their item sets)."""
        was = self.net.training
        self.net.eval()
        try:
            items = self._items(src, lengths)
            todo = [r for r, s in enumerate(items) if history_key(s) in self.keys]
            for _ in range(REDRAWS):
                if not todo:
                    break
                self.copies_redrawn += len(todo)
                sub = Sources(src.users[todo], src.neighbours)
                for r, s in zip(todo, self._items(sub, lengths[todo]), strict=True):
                    items[r] = s
                todo = [r for r in todo if history_key(items[r]) in self.keys]
        finally:
            self.net.train(was)
        keep = np.ones(len(items), dtype=bool)
        keep[todo] = False
        self.copies_dropped += len(todo)
        return keep, [s for s, k in zip(items, keep, strict=True) if k]

    def block_rows(self, src: Sources, lengths: np.ndarray, first: int) -> pd.DataFrame:
        """The block's table; its users get the virtual ids `first`, `first`+1, … by position, so
        ids do not depend on other blocks (a dropped copy leaves its id unused)."""
        keep, items = self.draw(src, lengths)
        ids = self.enc.virtual_ids(first, keep.size).to_numpy()[keep]
        return self.rows(src.users[keep], items, ids)

    def rows(self, src_users: np.ndarray, items: list[np.ndarray], ids: np.ndarray) -> pd.DataFrame:
        """One row per (new user, item) with the clean table's columns and dtypes."""
        enc, s = self.enc, self.enc.schema
        lens = np.array([len(i) for i in items], dtype=np.int64)
        owner = np.repeat(np.arange(len(items)), lens)
        item_codes = np.concatenate(items) if items else np.empty(0, np.int64)
        out: dict[str, object] = {s.user_col: ids[owner], s.item_col: enc.item_ids[item_codes]}
        for c in enc.user_attrs.columns:
            out[c] = enc.user_attrs[c].to_numpy()[src_users[owner]]
        for c in enc.item_attrs.columns:
            out[c] = enc.item_attrs[c].to_numpy()[item_codes]
        assert enc.columns is not None
        for c, v in enc.columns.sample(item_codes, self.rng, enc.shrinkage).items():
            out[c] = v.to_numpy() if not isinstance(v.dtype, pd.DatetimeTZDtype) else v.array
        df = pd.DataFrame(out)[enc.output_columns]
        return restore_dtypes(df, enc.dtypes)

    def log_copies(self) -> None:
        if self.copies_redrawn:
            log.info(kv(event="history_copies", redrawn=self.copies_redrawn, dropped=self.copies_dropped))


def iter_users(
    sampler: UserSampler,
    *,
    n_users: int | None = None,
    n_rows: int | None = None,
    like: np.ndarray | None = None,
    per_user: int = 1,
    block_users: int = 2000,
    shard: Shard = WHOLE,
) -> Iterator[pd.DataFrame]:
    """One table per seeded block of `block_users` users: `n_users` virtual users, or `per_user`
    neighbours of each real user code in `like` (`shard`'s blocks of either), or virtual users until
    `n_rows` rows (whole jobs only: where a shard's rows start is unknown until earlier blocks are drawn)."""
    if like is not None:
        src_all = np.repeat(like, per_user)
        lens_all = np.minimum(sampler.enc.lengths()[src_all], sampler.max_len)
        for b in shard.blocks(src_all.size, block_users):
            sampler.start_block(b)
            s, e = b * block_users, min(src_all.size, (b + 1) * block_users)
            yield sampler.block_rows(Sources(src_all[s:e], neighbours=True), lens_all[s:e], s)
    elif n_users is not None:
        for b in shard.blocks(n_users, block_users):
            sampler.start_block(b)
            s, e = b * block_users, min(n_users, (b + 1) * block_users)
            yield sampler.block_rows(*sampler.virtual_sources(e - s), s)
    else:
        if not shard.whole:
            raise ValueError("n_rows cannot be sharded")
        rows_done, b = 0, 0
        while rows_done < (n_rows or 0):
            sampler.start_block(b)
            df = sampler.block_rows(*sampler.virtual_sources(block_users), b * block_users)
            df = df.iloc[: n_rows - rows_done] if rows_done + len(df) > n_rows else df
            rows_done, b = rows_done + len(df), b + 1
            yield df
    sampler.log_copies()
