"""Mult-DAE (Liang et al., WWW 2018), the seed's denoising autoencoder, as a synthdata backend: the
input history is corrupted by dropout and L2-normalised, encoded to a 200-d code and decoded to a
multinomial over items. It makes *neighbours* of given users (AR-CF's virtual neighbours) by dropping
part of a real history and reconstructing it, and brand-new users from the ex-post mixture prior
fitted to its training users' codes (backend.py)."""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field

from synthdata.model.histories.backend import Encoder, HistoryBatch, HistoryHyper, HistoryNet, tower
from synthdata.model.space import Float, Space


class MultDaeHyper(HistoryHyper):
    weight_decay: float = Field(1e-5, ge=0)
    neighbour_drop: float = Field(
        0.5, ge=0, lt=1, description="Share of a history dropped before reconstructing a neighbour."
    )

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """Its L2 penalty (Liang et al. tune it for Mult-DAE) and how far neighbours stray."""
        return {
            **super().hyperparameter_space(),
            "weight_decay": Float(1e-7, 1e-3, log=True),
            "neighbour_drop": Float(0.1, 0.8),
        }


class MultDae(HistoryNet):
    name: ClassVar[str] = "multdae"
    Hyper: ClassVar[type[MultDaeHyper]] = MultDaeHyper
    hp: MultDaeHyper

    def __init__(self, n_items: int, attr_dim: int, hp: MultDaeHyper) -> None:
        super().__init__(n_items, attr_dim, hp)
        h = list(hp.hidden)
        self.encoder = Encoder(n_items, attr_dim, h, hp.latent_dim)
        self.decoder = tower([hp.latent_dim + attr_dim, *reversed(h), n_items])

    def code(self, x: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.encoder(x, a))

    def decode(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, a], dim=1))

    def loss(self, x: HistoryBatch, a: torch.Tensor, step: int, total_steps: int) -> dict[str, torch.Tensor]:
        nll = self.multinomial_nll(self.decode(self.code(x.drop(self.hp.dropout), a), a), x)
        return {"loss": nll, "loss_nll": nll}

    def latent(self, x: HistoryBatch, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self.code(x.drop(self.hp.neighbour_drop, generator), a)
