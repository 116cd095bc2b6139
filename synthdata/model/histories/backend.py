"""What a histories backend must provide, and the settings every histories backend shares.

A histories backend is one `HistoryNet` subclass in one file (multvae.py, multdae.py) plus one line
in `model/registry.py`. It maps a batch of users' item sets (`HistoryBatch`, batch.py: (user, item)
pairs, read sparsely by `HistoryInput`) and their attribute vectors `a` to item logits, and says

* `loss(x, a, step, total_steps)`: the training loss of one batch (the Lightning module steps it);
* `latent(x, a, generator)`: a stochastic code of given histories (neighbours of real users);
* `code(x, a)`: the deterministic code of a history (validation, the ex-post prior below);
* `decode(z, a)`: item logits; `score(x, a)` = decode(code(x, a), a) (validation).

Brand-new users come from a prior over codes. After training, the family fits an *ex-post* density
to the training users' codes: a Gaussian mixture with `prior_components` diagonal components
(Ghosh et al., ICLR 2020, "From variational to deterministic autoencoders"). Mult-VAE may instead
sample its N(0, I) prior (`prior: normal`); with β capped at 0.2 its codes are not shaped like
N(0, I), so those users drift toward the average user. The mixture is stored as buffers of the
network, so it travels in the model file and checkpoints like any weight.

Both networks condition on user attributes by concatenation (encoder input and decoder input).
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar

import numpy as np
import torch
from pydantic import Field
from torch import nn

from synthdata.model.family import GenerativeNet, Settings, TrainerSettings
from synthdata.model.histories.batch import HistoryBatch, HistoryInput
from synthdata.model.space import Choice, Float, Int, Space


class HistoryEncoderSettings(Settings):
    """The histories encoder (columns.py) and the model-selection protocol."""

    max_discrete_int: int = Field(32, ge=1, description="Integers with at most this many values: labels.")
    max_categories: int = Field(64, ge=2, description="Per-item label counts up to this many labels.")
    shrinkage: float = Field(5.0, ge=0, description="Pseudo-rows pulling an item's columns to overall.")
    val_users: int = Field(500, ge=0, description="Users whose held-out items score model selection.")
    val_holdout: float = Field(0.2, gt=0, lt=1, description="Share of a validation user's items held out.")
    val_k: int = Field(20, ge=1, description="Cut-off of the validation recall (Mult-VAE's protocol).")


class HistoryHyper(HistoryEncoderSettings, TrainerSettings):
    """Every histories backend's settings; backends add their network settings."""

    hidden: tuple[int, ...] = (600,)
    latent_dim: int = Field(200, ge=1)
    dropout: float = Field(0.5, ge=0, lt=1, description="Input dropout (the denoising corruption).")
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    max_history: int | None = Field(
        None, ge=1, description="Longest virtual history (default: the longest real one)."
    )
    sample_batch: int = Field(2000, ge=1, description="Users decoded at once when sampling.")
    val_every: int = Field(
        5, ge=1, description="Epochs between validations (and best.ckpt): an epoch is one pass over users."
    )
    prior_components: int = Field(10, ge=1, description="Components of the ex-post Gaussian mixture prior.")

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """Around Liang et al.'s setting: width, code size, corruption, step size, and the prior that
        brand-new users are drawn from (it shapes virtual users, which a reconstruction loss never sees)."""
        return {
            **super().hyperparameter_space(),
            "hidden": Choice(((300,), (600,), (600, 300))),
            "latent_dim": Int(32, 256, log=True),
            "dropout": Float(0.1, 0.7),
            "lr": Float(3e-4, 3e-3, log=True),
            "prior_components": Int(1, 30, log=True),
        }


def tower(sizes: list[int]) -> nn.Sequential:
    """Linear layers with tanh between them (Liang et al.'s networks), none after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """[items (+ attributes) → hidden… → out]: the sparse input layer, then a tanh tower."""

    def __init__(self, n_items: int, attr_dim: int, hidden: list[int], out: int) -> None:
        super().__init__()
        self.input = HistoryInput(n_items, attr_dim, hidden[0])
        self.rest = tower([*hidden, out])

    def forward(self, x: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        return self.rest(torch.tanh(self.input(x, a)))


class HistoryNet(GenerativeNet):
    family: ClassVar[str] = "histories"
    hp: HistoryHyper

    def __init__(self, n_items: int, attr_dim: int, hp: HistoryHyper) -> None:
        super().__init__()
        self.hp = hp
        self.n_items, self.attr_dim = n_items, attr_dim
        k, d = hp.prior_components, hp.latent_dim
        self.register_buffer("mix_logits", torch.zeros(k))
        self.register_buffer("mix_mean", torch.zeros(k, d))
        self.register_buffer("mix_logvar", torch.zeros(k, d))
        self.register_buffer("mix_fitted", torch.tensor(False))

    def fit_mixture(self, codes: np.ndarray, seed: int) -> None:
        """The ex-post prior: a diagonal Gaussian mixture fitted to the training users' codes."""
        from sklearn.mixture import GaussianMixture

        k = min(self.hp.prior_components, len(codes))
        gm = GaussianMixture(k, covariance_type="diag", reg_covar=1e-4, random_state=seed, max_iter=200)
        gm.fit(codes.astype(np.float64))
        pad = self.hp.prior_components - k  # fewer users than components: unused slots never drawn
        with torch.no_grad():
            self.mix_logits.copy_(torch.tensor(np.r_[np.log(gm.weights_), np.full(pad, -np.inf)]))
            self.mix_mean.copy_(torch.tensor(np.r_[gm.means_, np.zeros((pad, codes.shape[1]))]))
            self.mix_logvar.copy_(
                torch.tensor(np.r_[np.log(gm.covariances_), np.zeros((pad, codes.shape[1]))])
            )
            self.mix_fitted.fill_(True)

    def sample_mixture(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        dev = self.mix_mean.device
        comp = torch.multinomial(torch.softmax(self.mix_logits, 0), n, replacement=True, generator=generator)
        eps = torch.randn((n, self.mix_mean.shape[1]), generator=generator, device=dev)
        return self.mix_mean[comp] + eps * torch.exp(0.5 * self.mix_logvar[comp])

    def code(self, x: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=self.hp.lr, weight_decay=self.hp.weight_decay)]

    @staticmethod
    def multinomial_nll(logits: torch.Tensor, x: HistoryBatch) -> torch.Tensor:
        """−Σ x log softmax(logits), mean over users (the multinomial likelihood)."""
        return -x.log_likelihood(logits).mean()

    def score(self, x: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        return self.decode(self.code(x, a), a)

    def loss(self, x: HistoryBatch, a: torch.Tensor, step: int, total_steps: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def latent(self, x: HistoryBatch, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    @property
    def has_prior(self) -> bool:
        """Can `prior` make brand-new users (else virtual users are neighbours of random users)?"""
        return bool(self.mix_fitted)

    def prior(self, n: int, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor | None:
        """Codes of `n` brand-new users (None: the network has no prior yet)."""
        return self.sample_mixture(n, generator) if bool(self.mix_fitted) else None

    def decode(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
