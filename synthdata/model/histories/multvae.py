"""Mult-VAE (Liang et al., WWW 2018) as a synthdata backend: a VAE over each user's item set with a
multinomial likelihood. Encoder [items (+attrs) → 600 → 2·200], decoder [200 (+attrs) → 600 → items],
tanh; the input is corrupted by dropout and L2-normalised; β is annealed linearly from 0 to
`beta_cap` over `anneal_share` of the training steps. Virtual users come from the ex-post mixture
prior fitted to the training users' posterior means (default) or from N(0, I) (`prior: normal`);
neighbours of a real user from its posterior q(z | x)."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field

from synthdata.model.histories.backend import Encoder, HistoryBatch, HistoryHyper, HistoryNet, tower
from synthdata.model.space import Float, Space


class MultVaeHyper(HistoryHyper):
    beta_cap: float = Field(0.2, gt=0, description="Final KL weight (Liang et al.: 0.2).")
    anneal_share: float = Field(0.8, gt=0, le=1, description="Share of training steps β grows over.")
    prior: Literal["mixture", "normal"] = Field(
        "mixture", description="Brand-new users' codes: the ex-post mixture (backend.py) or N(0, I)."
    )

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """The KL weight and its annealing: what makes Mult-VAE's codes more or less prior-shaped."""
        return {
            **super().hyperparameter_space(),
            "beta_cap": Float(0.05, 1.0, log=True),
            "anneal_share": Float(0.2, 1.0),
        }


class MultVae(HistoryNet):
    name: ClassVar[str] = "multvae"
    Hyper: ClassVar[type[MultVaeHyper]] = MultVaeHyper
    hp: MultVaeHyper

    def __init__(self, n_items: int, attr_dim: int, hp: MultVaeHyper) -> None:
        super().__init__(n_items, attr_dim, hp)
        h = list(hp.hidden)
        self.encoder = Encoder(n_items, attr_dim, h, 2 * hp.latent_dim)
        self.decoder = tower([hp.latent_dim + attr_dim, *reversed(h), n_items])

    def _posterior(self, x: HistoryBatch, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x.drop(self.hp.dropout) if self.training else x, a).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.cat([z, a], dim=1))

    def loss(self, x: HistoryBatch, a: torch.Tensor, step: int, total_steps: int) -> dict[str, torch.Tensor]:
        mu, logvar = self._posterior(x, a)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        nll = self.multinomial_nll(self.decode(z, a), x)
        kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)).mean()
        beta = self.hp.beta_cap * min(1.0, step / max(1.0, self.hp.anneal_share * total_steps))
        return {"loss": nll + beta * kl, "loss_nll": nll, "loss_kl": kl, "beta": torch.tensor(beta)}

    def latent(self, x: HistoryBatch, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        mu, logvar = self._posterior(x, a)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)
        return mu + eps * torch.exp(0.5 * logvar)

    @property
    def has_prior(self) -> bool:
        return self.hp.prior == "normal" or bool(self.mix_fitted)

    def prior(self, n: int, a: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor | None:
        if self.hp.prior == "mixture" and bool(self.mix_fitted):
            return self.sample_mixture(n, generator)
        return torch.randn((n, self.hp.latent_dim), generator=generator, device=a.device)

    def code(self, x: HistoryBatch, a: torch.Tensor) -> torch.Tensor:
        return self._posterior(x, a)[0]
