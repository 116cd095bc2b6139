"""Conditional VAE (the TVAE recipe) as a synthdata backend.

What differs from the GAN, and nothing else: an encoder q(z | x, c), a decoder p(x | z, c) whose
continuous scalars are Gaussian with a learned per-column σ (clamped to [0.01, 1] as in TVAE) and
whose one-hot blocks are categorical (softmax cross-entropy), id embeddings scored like continuous
values, and the ELBO: `loss_factor` · reconstruction + `beta` · KL, both per row. Training rows come
from the shared condition sampler, so the decoder learns p(x | c) and sampling conditions exactly, as
the GAN does. Sampling draws z ~ N(0, I), categorical blocks from the decoder's softmax and adds the
learned σ to continuous scalars.

`beta = 0` (a plain autoencoder) is refused: without the KL term the latent codes are not shaped
like the N(0, I) prior that sampling draws from, so it would not be a generative model.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field
from torch import nn

from synthdata.model.rows.backend import Backend, Hyper, TrainStep
from synthdata.model.rows.columns import SpanInfo
from synthdata.model.rows.nets import ResidualMLP, mlp
from synthdata.model.space import Choice, Float, Space


class VaeHyper(Hyper):
    z_dim: int = Field(128, ge=1)
    enc_hidden: tuple[int, ...] = (128, 128)
    dec_hidden: tuple[int, ...] = (128, 128)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-5, ge=0)
    loss_factor: float = Field(2.0, gt=0, description="Weight of the reconstruction term (TVAE: 2).")
    beta: float = Field(1.0, gt=0, description="Weight of the KL term (0 is refused: see vae.py).")

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """TVAE's knobs: widths, step size and the balance of reconstruction and KL."""
        return {
            **super().hyperparameter_space(),
            "enc_hidden": Choice(((128, 128), (256, 256))),
            "dec_hidden": Choice(((128, 128), (256, 256))),
            "lr": Float(1e-4, 1e-2, log=True),
            "loss_factor": Float(0.5, 5.0, log=True),
            "beta": Float(0.1, 2.0, log=True),
        }


class Vae(Backend):
    name: ClassVar[str] = "vae"
    Hyper: ClassVar[type[Hyper]] = VaeHyper
    hp: VaeHyper

    def __init__(self, data_dim: int, cond_dim: int, spans: list[SpanInfo], hp: Hyper) -> None:
        super().__init__(data_dim, cond_dim, spans, hp)
        h = self.hp
        self.encoder = mlp(data_dim + cond_dim, tuple(h.enc_hidden), 2 * h.z_dim)
        self.decoder = ResidualMLP(h.z_dim + cond_dim, tuple(h.dec_hidden), data_dim)
        gauss = [s.activation != "softmax" for s in spans]
        self.sigma = nn.Parameter(torch.full((sum(gauss),), 0.1))

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=self.hp.lr, weight_decay=self.hp.weight_decay)]

    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, c], dim=1))

    def _reconstruction(self, raw: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood summed over columns, mean over rows (TVAE's loss, per row)."""
        total = raw.new_zeros(())
        a, k = 0, 0
        for s in self.spans:
            r, t = raw[:, a : a + s.dim], x[:, a : a + s.dim]
            if s.activation == "softmax":
                total = total + nn.functional.cross_entropy(r, t.argmax(dim=1), reduction="sum")
            else:
                mean = torch.tanh(r) if s.activation == "tanh" else nn.functional.normalize(r, dim=1)
                std = self.sigma[k]
                total = total + ((t - mean) ** 2 / 2 / std**2).sum() + torch.log(std) * t.numel()
                k += 1
            a += s.dim
        return total / raw.shape[0]

    def training_step(self, step: TrainStep) -> dict[str, torch.Tensor]:
        (opt,) = step.optimizers
        _, _, c, rows = step.cond.sample_train(step.batch_size)
        x = step.data[rows]
        mu, logvar = self.encoder(torch.cat([x, c], dim=1)).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        rec = self._reconstruction(self.decode(z, c), x)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum() / x.shape[0]
        loss = self.hp.loss_factor * rec + self.hp.beta * kl
        opt.zero_grad(set_to_none=True)
        step.backward(loss)
        opt.step()
        with torch.no_grad():
            self.sigma.clamp_(0.01, 1.0)
        return {"loss": loss.detach(), "loss_rec": rec.detach(), "loss_kl": kl.detach()}

    def noise_continuous(self, act: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Continuous scalars get the learned σ (TVAE samples them from N(tanh(·), σ))."""
        pairs = self._tanh_positions()
        if not pairs:
            return act
        tanh_pos = torch.tensor([p for _, p in pairs], dtype=torch.long, device=act.device)
        sig = self.sigma[torch.tensor([k for k, _ in pairs], device=act.device)]
        eps = torch.randn((act.shape[0], len(tanh_pos)), generator=generator, device=act.device)
        out = act.clone()
        out[:, tanh_pos] = (act[:, tanh_pos] + eps * sig).clamp(-1, 1)
        return out

    def _tanh_positions(self) -> list[tuple[int, int]]:
        """(σ index, encoded position) of every tanh scalar."""
        out, a, k = [], 0, 0
        for s in self.spans:
            if s.activation == "tanh":
                out.append((k, a))
            if s.activation != "softmax":
                k += 1
            a += s.dim
        return out
