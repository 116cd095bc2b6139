"""The histories family: Mult-VAE and Mult-DAE learn users' whole positive item sets and make virtual
users (new ids) or neighbours of given users, each with a complete row per (user, item)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pandas as pd

from synthdata.errors import ConfigError
from synthdata.model.family import Family, Fitted, GenerativeNet, Request, Tensors
from synthdata.model.histories.backend import HistoryHyper
from synthdata.model.histories.encode import HistoryEncoder
from synthdata.model.histories.sample import UserSampler, iter_users
from synthdata.model.seeds import seed_for
from synthdata.schema import Schema


class HistoriesFamily(Family):
    name: ClassVar[str] = "histories"
    state_key: ClassVar[str] = "encoder"
    monitor: ClassVar[str] = "val_recall"
    default_epochs: ClassVar[int] = 200  # Liang et al.'s setting; an epoch is one pass over the users
    pipeline_epochs: ClassVar[int] = 200

    def fit_encoder(self, schema: Schema, hyper: HistoryHyper, seed: int, df: pd.DataFrame) -> HistoryEncoder:
        return HistoryEncoder(
            schema,
            max_discrete_int=hyper.max_discrete_int,
            max_categories=hyper.max_categories,
            shrinkage=hyper.shrinkage,
            seed=seed_for(seed, "transformer"),
        ).fit(df)

    def encoder_state(self, encoder: HistoryEncoder) -> tuple[dict[str, Any], Tensors]:
        return encoder.state()

    def encoder_from_state(self, doc: dict[str, Any], tensors: Tensors, schema: Schema) -> HistoryEncoder:
        return HistoryEncoder.from_state(doc, tensors, schema)

    def build(self, backend: type[GenerativeNet], encoder: HistoryEncoder, hyper: Any) -> Fitted:
        return Fitted(encoder, backend(encoder.n_items, encoder.attr_dim, hyper))  # type: ignore[call-arg]

    def output_columns(self, encoder: HistoryEncoder) -> list[str]:
        return list(encoder.output_columns)

    def lightning(
        self,
        fitted: Fitted,
        df: pd.DataFrame,
        val_df: pd.DataFrame | None,
        batch_size: int,
        seed: int,
        ckpt_extra: dict[str, Any],
    ) -> tuple[Any, Any, int]:
        """`batch_size` counts users. Validation users come from the training table itself (a share of
        their items held out), so `val_df` is not used."""
        from synthdata.model.histories.lightning import HistoryData, HistoryModule, validation_split

        enc: HistoryEncoder = fitted.encoder
        hp = fitted.net.hp
        split = validation_split(enc, hp.val_users, hp.val_holdout, seed)
        module = HistoryModule(fitted.net, seed=seed, ckpt_extra=ckpt_extra)  # type: ignore[arg-type]
        dm = HistoryData(enc, split, batch_size, seed)
        return module, dm, dm.steps_per_epoch

    def finish(self, fitted: Fitted, seed: int) -> None:
        """The ex-post prior: a Gaussian mixture over the training users' codes (backend.py)."""
        import numpy as np
        import torch

        from synthdata.model.histories.batch import HistoryBatch

        enc: HistoryEncoder = fitted.encoder
        net = fitted.net
        net.cpu().eval()
        users = torch.from_numpy(np.flatnonzero(enc.lengths() > 0))
        indptr, indices = torch.from_numpy(enc.indptr), torch.from_numpy(enc.indices)
        attrs = torch.from_numpy(enc.attr_matrix)
        with torch.no_grad():
            codes = [
                net.code(HistoryBatch.from_csr(indptr, indices, u, enc.n_items), attrs[u])  # type: ignore[attr-defined]
                for u in users.split(4096)
            ]
        net.fit_mixture(torch.cat(codes).numpy(), seed)  # type: ignore[attr-defined]

    def batches(self, fitted: Fitted, request: Request, seed: int) -> Iterator[pd.DataFrame]:
        if request.conditions:
            raise ConfigError(
                f"a {fitted.net.name} model takes no --where conditions; ask for virtual users (--users) "
                "or neighbours of given users (--like)"
            )
        if request.per_user < 1:
            raise ConfigError("per_user (neighbours per user) must be >= 1")
        enc: HistoryEncoder = fitted.encoder
        sampler = UserSampler(fitted.net, enc, seed)  # type: ignore[arg-type]
        # users per seeded block: the model's sample_batch, at most 50M logits (200 MB) decoded at once
        block = max(1, min(fitted.net.hp.sample_batch, 50_000_000 // enc.n_items))
        like = enc.user_codes(request.like) if request.like else None
        if request.users is None and like is None and not request.shard.whole:
            raise ConfigError(
                "--shard with a histories model needs --users N or --like: where a shard of --rows "
                "starts is only known after the users before it are drawn"
            )
        return iter_users(
            sampler,
            n_users=request.users,
            n_rows=request.n if request.users is None and like is None else None,
            like=like,
            per_user=request.per_user,
            block_users=block,
            shard=request.shard,
        )
