"""What a histories backend must provide, and the settings every histories backend shares.

A histories backend is one `HistoryNet` subclass in one file (multvae.py, multdae.py) plus one line
in `model/registry.py`. It maps a user's item multi-hot vector `x` (n_users × n_items, dense per
batch) and attribute vector `a` to item logits, and says

* `loss(x, a, step)`: the training loss of one batch (the family's Lightning module steps it);
* `latent(x, a, generator)`: a stochastic code of given histories (neighbours of real users);
* `prior(n, a, generator)`: codes of brand-new users, or None when the model has no prior (a
  denoising autoencoder: its virtual users are neighbours of randomly chosen real users);
* `decode(z, a)`: item logits; `score(x, a)`: deterministic logits of known histories (validation).

Both networks condition on user attributes by concatenation (encoder input and decoder input).
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar

import torch
from pydantic import Field
from torch import nn

from synthdata.model.family import GenerativeNet, Settings, TrainerSettings


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


def tower(sizes: list[int]) -> nn.Sequential:
    """Linear layers with tanh between them (Liang et al.'s networks), none after the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class HistoryNet(GenerativeNet):
    family: ClassVar[str] = "histories"
    has_prior: ClassVar[bool] = False  # True: `prior` makes brand-new users
    hp: HistoryHyper

    def __init__(self, n_items: int, attr_dim: int, hp: HistoryHyper) -> None:
        super().__init__()
        self.hp = hp
        self.n_items, self.attr_dim = n_items, attr_dim

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=self.hp.lr, weight_decay=self.hp.weight_decay)]

    @staticmethod
    def normalise(x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=1)

    @staticmethod
    def multinomial_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """−Σ x log softmax(logits), mean over users (the multinomial likelihood)."""
        return -(torch.log_softmax(logits, dim=1) * x).sum(dim=1).mean()

    def loss(self, x: torch.Tensor, a: torch.Tensor, step: int, total_steps: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def latent(self, x: torch.Tensor, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def prior(self, n: int, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor | None:
        return None

    def decode(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
