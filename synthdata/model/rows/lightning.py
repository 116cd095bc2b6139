"""The row family under Lightning: the encoded-rows data module and the module that trains a row
`Backend` by training-by-sampling and selects epochs on `val_fidelity` (synthdata.shapes, the score
evaluate reports) of a fresh sample against held-out rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from synthdata.model.rows.backend import Backend, TrainStep
from synthdata.model.rows.condition import ConditionSampler
from synthdata.model.rows.sample import generate_batch
from synthdata.model.rows.transform import DataTransformer
from synthdata.model.seeds import seed_for
from synthdata.model.training import SynthModule
from synthdata.shapes import shape_score


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


class TrainModule(SynthModule):
    """A row backend under Lightning."""

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
        super().__init__(net, seed=seed, ckpt_extra=ckpt_extra)
        self.transformer = transformer
        self.cond = cond
        self.batch_size = net.batch_rows(batch_size)
        self.data: torch.Tensor | None = None
        self.val_frame: pd.DataFrame | None = None

    def on_fit_start(self) -> None:
        dm = self.trainer.datamodule
        self.data = dm.encoded.to(self.device)
        self.cond.attach_rows(dm.codes)
        self.cond.to(self.device)
        self.val_frame = dm.val_frame
        self.seed_rank()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        assert self.data is not None
        step = TrainStep(
            data=self.data,
            cond=self.cond,
            spans=self.transformer.output_info,
            batch_size=self.batch_size,
            optimizers=self.optimizer_list(),
            backward=self.manual_backward,
        )
        losses = self.net.training_step(step)
        self.log_dict(losses, on_step=False, on_epoch=True, sync_dist=True, batch_size=self.batch_size)

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
