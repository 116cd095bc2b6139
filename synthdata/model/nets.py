"""Generator and discriminator networks (CTGAN architecture: residual generator, PacGAN critic).

The span list from the transformer drives the output activations: tanh for normalised scalars,
(Gumbel-)softmax for one-hot blocks, L2 normalisation for id embeddings.
"""

from __future__ import annotations

import torch
from torch import nn

from synthdata.model.transform import SpanInfo


class Residual(nn.Module):
    """Linear → BatchNorm → ReLU, concatenated with its input (CTGAN's generator block)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class Generator(nn.Module):
    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden:
            layers.append(Residual(d, h))
            d += h
        layers.append(nn.Linear(d, out_dim))
        self.seq = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.seq(z)


class Discriminator(nn.Module):
    """Critic over packs of `pac` rows (PacGAN) so mode collapse is visible to it."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], pac: int) -> None:
        super().__init__()
        self.pac = pac
        layers: list[nn.Module] = []
        d = in_dim * pac
        for h in hidden:
            layers += [nn.Linear(d, h), nn.LeakyReLU(0.2), nn.Dropout(0.5)]
            d = h
        layers.append(nn.Linear(d, 1))
        self.seq = nn.Sequential(*layers)

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


def activate(
    raw: torch.Tensor,
    spans: list[SpanInfo],
    *,
    tau: float = 0.2,
    hard: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Apply each span's activation. `hard=True` draws one-hot samples (for sampling, not training)."""
    out: list[torch.Tensor] = []
    a = 0
    for s in spans:
        x = raw[:, a : a + s.dim]
        if s.activation == "tanh":
            out.append(torch.tanh(x))
        elif s.activation == "embed":
            out.append(nn.functional.normalize(x, dim=1))
        elif hard:
            u = torch.rand(x.shape, generator=generator, device=x.device).clamp_(1e-12, 1 - 1e-7)
            idx = (x - torch.log(-torch.log(u))).argmax(dim=1)
            out.append(nn.functional.one_hot(idx, s.dim).to(x.dtype))
        else:
            out.append(nn.functional.gumbel_softmax(x, tau=tau))
        a += s.dim
    return torch.cat(out, dim=1)
