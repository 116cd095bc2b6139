"""The row family: GAN and VAE learn single interaction rows through the `DataTransformer`'s encoded
layout and the `ConditionSampler` (training-by-sampling, exact conditions)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.errors import ConfigError
from synthdata.model.family import Family, Fitted, GenerativeNet, Request, Tensors
from synthdata.model.rows.condition import ConditionSampler, resolve_conditions
from synthdata.model.rows.sample import iter_batches
from synthdata.model.rows.state import transformer_from_state, transformer_state
from synthdata.model.rows.transform import DataTransformer
from synthdata.model.seeds import seed_for
from synthdata.schema import Schema


class RowsFamily(Family):
    name: ClassVar[str] = "rows"
    state_key: ClassVar[str] = "transformer"
    monitor: ClassVar[str] = "val_fidelity"
    default_epochs: ClassVar[int] = 100
    pipeline_epochs: ClassVar[int] = 10

    def fit_encoder(self, schema: Schema, hyper: Any, seed: int, df: pd.DataFrame) -> DataTransformer:
        return DataTransformer(schema, seed=seed_for(seed, "transformer"), **hyper.transformer_kwargs()).fit(
            df
        )

    def encoder_state(self, encoder: DataTransformer) -> tuple[dict[str, Any], Tensors]:
        return transformer_state(encoder)

    def encoder_from_state(self, doc: dict[str, Any], tensors: Tensors, schema: Schema) -> DataTransformer:
        return transformer_from_state(doc, tensors, schema)

    def build(self, backend: type[GenerativeNet], encoder: DataTransformer, hyper: Any) -> Fitted:
        cond = ConditionSampler(encoder)
        net = backend(encoder.output_dim, cond.cond_dim, encoder.output_info, hyper)  # type: ignore[call-arg]
        return Fitted(encoder, net, cond)

    def lightning(
        self,
        fitted: Fitted,
        df: pd.DataFrame,
        val_df: pd.DataFrame | None,
        batch_size: int,
        seed: int,
        ckpt_extra: dict[str, Any],
    ) -> tuple[Any, Any, int]:
        from synthdata.model.rows.lightning import DataModule, TrainModule

        tr: DataTransformer = fitted.encoder
        hp = fitted.net.hp
        ref = val_df if val_df is not None and len(val_df) else df
        ref = ref[tr.output_columns]
        if len(ref) > hp.val_max_rows:
            ref = ref.sample(hp.val_max_rows, random_state=seed_for(seed, "validation", 0))
        module = TrainModule(
            fitted.net,
            tr,
            fitted.aux,
            batch_size=batch_size,
            seed=seed,
            ckpt_extra=ckpt_extra,  # type: ignore[arg-type]
        )
        dm = DataModule(tr.transform(df), tr.encode_codes(df), ref.reset_index(drop=True), module.batch_size)
        return module, dm, dm.steps_per_epoch

    def output_columns(self, encoder: DataTransformer) -> list[str]:
        return list(encoder.output_columns)

    def detach(self, fitted: Fitted) -> None:
        fitted.aux.detach_rows()
        fitted.aux.cpu()

    def batches(self, fitted: Fitted, request: Request, seed: int) -> Iterator[pd.DataFrame]:
        if request.users is not None or request.like:
            raise ConfigError(
                f"a {fitted.net.name} model generates rows of real users only; virtual users (--users) and "
                "neighbours (--like) need a histories-family model: --model multvae or multdae"
            )
        tr: DataTransformer = fitted.encoder
        n = int(request.n or 0)
        rng = np.random.default_rng(seed_for(seed, "generate", 0))
        fixed = resolve_conditions(tr, request.conditions, n, rng)
        return iter_batches(
            fitted.net,  # type: ignore[arg-type]
            fitted.aux,
            tr,
            n,
            fixed=fixed,
            seed=seed,
            shard=request.shard,
        )
