"""Conditional WGAN-GP with PacGAN (the CTGAN recipe) as a synthdata backend.

Only what is GAN-specific lives here: the PacGAN critic and its gradient penalty, the two-optimiser
step (critic on a detached fake, then generator against the critic plus the condition loss) and the
hyperparameters. Data, conditions, validation, checkpoints and sampling are shared (backend.py).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from pydantic import Field
from torch import nn

from synthdata.model.rows.backend import Backend, Hyper, TrainStep
from synthdata.model.rows.columns import SpanInfo
from synthdata.model.rows.nets import ResidualMLP, activate, mlp
from synthdata.model.space import Choice, Float, Int, Space


class GanHyper(Hyper):
    gen_hidden: tuple[int, ...] = (128, 128)
    dis_hidden: tuple[int, ...] = (128, 128)
    pac: int = Field(10, ge=1, description="Rows per critic input (PacGAN).")
    lr_g: float = Field(2e-4, gt=0)
    lr_d: float = Field(2e-4, gt=0)
    weight_decay: float = Field(1e-6, ge=0)
    gp_lambda: float = Field(10.0, ge=0)
    gp_fraction: float = Field(0.5, gt=0, le=1, description="Share of packs the gradient penalty uses.")
    d_steps: int = Field(1, ge=1)
    cond_weight: float = Field(1.0, ge=0)
    tau: float = Field(0.2, gt=0, description="Gumbel-softmax temperature while training.")

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """CTGAN's knobs: network widths, the two step sizes, pack size, penalty, critic steps."""
        return {
            **super().hyperparameter_space(),
            "gen_hidden": Choice(((128, 128), (256, 256), (256, 256, 256))),
            "dis_hidden": Choice(((128, 128), (256, 256))),
            "lr_g": Float(5e-5, 1e-3, log=True),
            "lr_d": Float(5e-5, 1e-3, log=True),
            "pac": Choice((1, 5, 10)),
            "gp_lambda": Float(1.0, 20.0, log=True),
            "d_steps": Int(1, 3),
            "tau": Float(0.1, 1.0, log=True),
        }


class Discriminator(nn.Module):
    """Critic over packs of `pac` rows (PacGAN) so mode collapse is visible to it."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        self.seq = mlp(in_dim * pac, hidden, 1, leaky=0.2, dropout=0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x.reshape(-1, x.shape[1] * self.pac))

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, lambda_: float = 10.0) -> torch.Tensor:
        """WGAN-GP on interpolates, one mixing weight per pack, norm taken over the whole pack."""
        n = real.shape[0] // self.pac
        alpha = torch.rand(n, 1, 1, device=real.device).expand(n, self.pac, real.shape[1]).reshape(real.shape)
        mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = self(mix)
        (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
        norm = grad.reshape(n, -1).norm(2, dim=1)
        return lambda_ * ((norm - 1) ** 2).mean()


class Gan(Backend):
    name: ClassVar[str] = "gan"
    Hyper: ClassVar[type[Hyper]] = GanHyper
    ddp_find_unused: ClassVar[bool] = True  # each optimiser step uses one network's parameters
    hp: GanHyper

    def __init__(self, data_dim: int, cond_dim: int, spans: list[SpanInfo], hp: Hyper) -> None:
        super().__init__(data_dim, cond_dim, spans, hp)
        h = self.hp
        self.generator = ResidualMLP(h.z_dim + cond_dim, tuple(h.gen_hidden), data_dim)
        self.discriminator = Discriminator(data_dim + cond_dim, tuple(h.dis_hidden), h.pac)

    def batch_rows(self, batch_size: int) -> int:
        if batch_size < self.hp.pac:
            raise ValueError(f"batch_size {batch_size} must be at least pac {self.hp.pac}")
        return batch_size - batch_size % self.hp.pac  # PacGAN needs whole packs

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        h = self.hp
        opt_g = torch.optim.Adam(
            self.generator.parameters(), lr=h.lr_g, betas=(0.5, 0.9), weight_decay=h.weight_decay
        )
        opt_d = torch.optim.Adam(
            self.discriminator.parameters(), lr=h.lr_d, betas=(0.5, 0.9), weight_decay=h.weight_decay
        )
        return [opt_g, opt_d]

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, c], dim=1))

    def _fake(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw = self.decode(torch.randn(c.shape[0], self.hp.z_dim, device=c.device), c)
        return raw, activate(raw, self.spans, tau=self.hp.tau)

    def _critic_step(
        self, step: TrainStep, fake: torch.Tensor, c: torch.Tensor, rows: torch.Tensor
    ) -> torch.Tensor:
        h, pac, opt_d = self.hp, self.discriminator.pac, step.optimizers[1]
        real_cat = torch.cat([step.data[rows], c], dim=1)
        fake_cat = torch.cat([fake, c], dim=1)
        y = self.discriminator(torch.cat([real_cat, fake_cat], dim=0))  # one pass; packs never mix
        n_packs = real_cat.shape[0] // pac
        loss_d = y[n_packs:].mean() - y[:n_packs].mean()
        # the penalty is a mean over packs: an unbiased estimate from a subset of packs costs less
        k = max(1, math.ceil(n_packs * h.gp_fraction)) * pac
        gp = self.discriminator.gradient_penalty(real_cat[:k], fake_cat[:k], h.gp_lambda)
        opt_d.zero_grad(set_to_none=True)
        step.backward(loss_d + gp)
        opt_d.step()
        return loss_d.detach()

    def training_step(self, step: TrainStep) -> dict[str, torch.Tensor]:
        opt_g = step.optimizers[0]
        b, h = step.batch_size, self.hp
        # one generator pass serves both updates: the critic sees it detached, the generator after
        col, val, c, rows = step.cond.sample_train(b)
        raw, fake = self._fake(c)
        loss_d = self._critic_step(step, fake.detach(), c, rows)
        for _ in range(h.d_steps - 1):
            _, _, c2, rows2 = step.cond.sample_train(b)
            with torch.no_grad():
                _, fake2 = self._fake(c2)
            loss_d = self._critic_step(step, fake2, c2, rows2)
        self.discriminator.requires_grad_(False)  # no critic gradients needed for the generator step
        y_fake = self.discriminator(torch.cat([fake, c], dim=1))
        loss_cond = step.cond.loss(raw, col, val)
        loss_g = -y_fake.mean() + h.cond_weight * loss_cond
        opt_g.zero_grad(set_to_none=True)
        step.backward(loss_g)
        opt_g.step()
        self.discriminator.requires_grad_(True)
        return {"loss_d": loss_d, "loss_g": loss_g.detach(), "loss_cond": loss_cond.detach()}
