"""Lightning wiring shared by every backend: data module, the LightningModule around a `Backend`,
checkpoint contents, per-epoch model selection and progress lines. Only fitting imports this module.

Device- and strategy-agnostic by construction: tensors are created on `self.device`, metrics are
logged with `sync_dist=True`, and the data module hands out step indices through an ordinary
DataLoader (Lightning inserts a DistributedSampler under DDP, so each rank runs its share of steps).
Model selection uses `val_fidelity` (synthdata.shapes, the score evaluate reports) on a fresh sample
against held-out rows, never the training losses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from synthdata.log import get_logger, kv
from synthdata.model.backend import Backend, TrainStep
from synthdata.model.condition import ConditionSampler
from synthdata.model.sample import generate_batch
from synthdata.model.seeds import seed_for
from synthdata.model.transform import DataTransformer
from synthdata.shapes import shape_score

log = get_logger(__name__)
CKPT_KEY = "synthdata"  # plain JSON string + tensors: last.ckpt loads with weights_only=True


class DataModule(pl.LightningDataModule):
    """Encoded training matrix + per-column codes (for training-by-sampling) + validation rows.

    The DataLoader yields step numbers only: real rows are chosen on the model's device by the
    conditional sampler, so no per-row work happens in Python or in worker processes.
    """

    def __init__(
        self, encoded: np.ndarray, codes: dict[str, np.ndarray], val_frame: pd.DataFrame, batch_size: int
    ) -> None:
        super().__init__()
        self.encoded = torch.from_numpy(np.ascontiguousarray(encoded, dtype=np.float32))
        self.codes = codes
        self.val_frame = val_frame
        self.batch_size = batch_size
        self.steps_per_epoch = max(1, math.ceil(len(encoded) / batch_size))

    def train_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.arange(self.steps_per_epoch)), batch_size=1, shuffle=False)

    def val_dataloader(self) -> DataLoader:
        return DataLoader(TensorDataset(torch.zeros(1)), batch_size=1)


class TrainModule(pl.LightningModule):
    """Any backend under Lightning (manual optimisation: the backend steps its own optimisers)."""

    def __init__(
        self,
        net: Backend,
        transformer: DataTransformer,
        cond: ConditionSampler,
        *,
        batch_size: int,
        seed: int,
        ckpt_extra: dict[str, Any],
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.transformer = transformer
        self.cond = cond
        self.batch_size = net.batch_rows(batch_size)
        self.seed = seed
        self.ckpt_extra = ckpt_extra  # {"json": str, "tensors": {...}}: the model document for resume
        self.data: torch.Tensor | None = None
        self.val_frame: pd.DataFrame | None = None

    def on_fit_start(self) -> None:
        dm = self.trainer.datamodule
        self.data = dm.encoded.to(self.device)
        self.cond.attach_rows(dm.codes)
        self.cond.to(self.device)
        self.val_frame = dm.val_frame
        # every rank was seeded alike; training-by-sampling must draw different batches per rank
        torch.manual_seed(seed_for(self.seed, "train", self.global_rank))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # the encoded layout must survive a resume exactly, so the fitted transformer rides along
        checkpoint[CKPT_KEY] = self.ckpt_extra

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return self.net.configure_optimizers()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        assert self.data is not None
        opts = self.optimizers()
        step = TrainStep(
            data=self.data,
            cond=self.cond,
            spans=self.transformer.output_info,
            batch_size=self.batch_size,
            optimizers=list(opts) if isinstance(opts, list | tuple) else [opts],
            backward=self.manual_backward,
        )
        losses = self.net.training_step(step)
        self.log_dict(losses, on_step=False, on_epoch=True, sync_dist=True, batch_size=self.batch_size)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None  # the score needs a whole sample; it is computed once per epoch below

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or self.val_frame is None:
            return
        seed = seed_for(self.seed, "validation", 1 + self.current_epoch)
        tgen = torch.Generator(device=self.device)
        tgen.manual_seed(seed)
        synth = generate_batch(
            self.net,
            self.cond,
            self.transformer,
            self.net.hp.val_rows,
            None,
            tgen,
            np.random.default_rng(seed),
        )
        ids = {self.transformer.schema.user_col, self.transformer.schema.item_col}
        score = shape_score(self.val_frame, synth, list(self.val_frame.columns), categorical=ids)
        self.log("val_fidelity", score, prog_bar=True, sync_dist=True, batch_size=1)


class LogProgress(pl.Callback):
    """One structured log line per epoch, for runs without a terminal (nightly jobs, CI logs)."""

    def __init__(self, total_epochs: int) -> None:
        self.total = total_epochs

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            score = trainer.callback_metrics.get("val_fidelity")
            log.info(
                kv(
                    task="train",
                    epoch=trainer.current_epoch + 1,
                    total=self.total,
                    val_fidelity=f"{float(score):.4f}" if score is not None else "-",
                )
            )


def ddp_strategy(strategy: Any, find_unused: bool) -> Any:
    """Map Lightning's DDP names to their find-unused variant for backends whose optimiser steps use
    only part of the parameters (a GAN); plain DDP would abort on 'unused parameters'."""
    if (
        find_unused
        and isinstance(strategy, str)
        and strategy in {"ddp", "ddp_spawn", "ddp_fork", "ddp_notebook"}
    ):
        return f"{strategy}_find_unused_parameters_true"
    return strategy
