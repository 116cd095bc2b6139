"""Lightning wiring: the conditional WGAN-GP (manual optimisation, two optimisers) and its data module.

Device- and strategy-agnostic by construction: tensors are created on `self.device`, metrics are
logged with `sync_dist=True`, and the data module hands out step indices through an ordinary
DataLoader (Lightning inserts a DistributedSampler under DDP, so each rank runs its share of steps).
Model selection uses `val_fidelity` (a column-shape score of a fresh sample against held-out rows),
never the adversarial losses.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from synthdata.model.condition import ConditionSampler
from synthdata.model.nets import Discriminator, Generator, activate
from synthdata.model.sample import generate_batch
from synthdata.model.transform import DataTransformer
from synthdata.shapes import shape_score

TRANSFORMER_KEY = "synthdata_transformer"


class GanDataModule(pl.LightningDataModule):
    """Encoded training matrix + per-column codes (for training-by-sampling) + validation rows.

    The DataLoader yields step numbers only: real rows are chosen on the model's device by the
    conditional sampler, so no per-row work happens in Python or in worker processes.
    """

    def __init__(
        self,
        encoded: np.ndarray,
        codes: dict[str, np.ndarray],
        val_frame: pd.DataFrame,
        batch_size: int,
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


class GanModule(pl.LightningModule):
    """CTGAN-style conditional WGAN-GP with PacGAN and id embeddings."""

    def __init__(
        self,
        transformer: DataTransformer,
        *,
        batch_size: int = 2000,
        z_dim: int = 64,
        gen_hidden: tuple[int, ...] = (128, 128),
        dis_hidden: tuple[int, ...] = (128, 128),
        pac: int = 10,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        weight_decay: float = 1e-6,
        gp_lambda: float = 10.0,
        gp_fraction: float = 0.5,
        d_steps: int = 1,
        cond_weight: float = 1.0,
        tau: float = 0.2,
        id_temperature: float = 0.2,
        val_rows: int = 2000,
        val_seed: int = 0,
    ) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters(ignore=["transformer"])
        if batch_size < pac:
            raise ValueError(f"batch_size {batch_size} must be at least pac {pac}")
        self.batch_size = batch_size - batch_size % pac  # PacGAN needs whole packs
        self.transformer = transformer
        self.cond = ConditionSampler(transformer)
        self.z_dim = z_dim
        self.id_temperature = id_temperature
        data_dim = transformer.output_dim
        self.generator = Generator(z_dim + self.cond.cond_dim, tuple(gen_hidden), data_dim)
        self.discriminator = Discriminator(data_dim + self.cond.cond_dim, tuple(dis_hidden), pac)
        self.data: torch.Tensor | None = None
        self.val_frame: pd.DataFrame | None = None

    # ------------------------------------------------------------------ lifecycle
    def on_fit_start(self) -> None:
        dm = self.trainer.datamodule
        self.data = dm.encoded.to(self.device)
        self.cond.attach_rows(dm.codes)
        self.cond.to(self.device)
        self.val_frame = dm.val_frame
        if self.trainer.world_size > 1:
            # every rank was seeded alike; training-by-sampling must draw different batches per rank
            torch.manual_seed(self.hparams.val_seed + 1_000_003 * self.global_rank)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # the encoded layout must survive a resume exactly, so the fitted transformer rides along
        checkpoint[TRANSFORMER_KEY] = pickle.dumps(self.transformer)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        hp = self.hparams
        opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=hp.lr_g, betas=(0.5, 0.9), weight_decay=hp.weight_decay
        )
        opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=hp.lr_d, betas=(0.5, 0.9), weight_decay=hp.weight_decay
        )
        return [opt_g, opt_d]

    # ------------------------------------------------------------------ training
    def _fake(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.randn(c.shape[0], self.z_dim, device=self.device)
        raw = self.generator(torch.cat([z, c], dim=1))
        return raw, activate(raw, self.transformer.output_info, tau=self.hparams.tau)

    def _critic_step(
        self, opt_d: Any, fake: torch.Tensor, c: torch.Tensor, rows: torch.Tensor
    ) -> torch.Tensor:
        assert self.data is not None
        hp, pac = self.hparams, self.discriminator.pac
        real_cat = torch.cat([self.data[rows], c], dim=1)
        fake_cat = torch.cat([fake, c], dim=1)
        y = self.discriminator(torch.cat([real_cat, fake_cat], dim=0))  # one pass; packs never mix
        n_packs = real_cat.shape[0] // pac
        loss_d = y[n_packs:].mean() - y[:n_packs].mean()
        # the penalty is a mean over packs: an unbiased estimate from a subset of packs costs less
        k = max(1, math.ceil(n_packs * hp.gp_fraction)) * pac
        gp = self.discriminator.gradient_penalty(real_cat[:k], fake_cat[:k], hp.gp_lambda)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d + gp)
        opt_d.step()
        return loss_d.detach()

    def training_step(self, batch: Any, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        b, hp = self.batch_size, self.hparams
        # one generator pass serves both updates: the critic sees it detached, the generator after
        col, val, c, rows = self.cond.sample_train(b)
        raw, fake = self._fake(c)
        loss_d = self._critic_step(opt_d, fake.detach(), c, rows)
        for _ in range(hp.d_steps - 1):
            _, _, c2, rows2 = self.cond.sample_train(b)
            with torch.no_grad():
                _, fake2 = self._fake(c2)
            loss_d = self._critic_step(opt_d, fake2, c2, rows2)
        self.discriminator.requires_grad_(False)  # no critic gradients needed for the generator step
        y_fake = self.discriminator(torch.cat([fake, c], dim=1))
        loss_cond = self.cond.loss(raw, col, val)
        loss_g = -y_fake.mean() + hp.cond_weight * loss_cond
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g)
        opt_g.step()
        self.discriminator.requires_grad_(True)
        self.log_dict(
            {"loss_d": loss_d, "loss_g": loss_g.detach(), "loss_cond": loss_cond.detach()},
            on_step=False,
            on_epoch=True,
            sync_dist=True,
            batch_size=b,
        )

    # ------------------------------------------------------------------ validation
    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None  # the score needs a whole sample; it is computed once per epoch below

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or self.val_frame is None:
            return
        seed = self.hparams.val_seed + self.current_epoch
        tgen = torch.Generator(device=self.device)
        tgen.manual_seed(seed)
        synth = generate_batch(self, self.hparams.val_rows, None, tgen, np.random.default_rng(seed))
        ids = {self.transformer.schema.user_col, self.transformer.schema.item_col}
        score = shape_score(self.val_frame, synth, list(self.val_frame.columns), categorical=ids)
        self.log("val_fidelity", score, prog_bar=True, sync_dist=True, batch_size=1)
