"""Network blocks shared by the backends, and the span-wise output activations.

The span list from the transformer drives the output activations: tanh for normalised scalars,
(Gumbel-)softmax for one-hot blocks, L2 normalisation for id embeddings.
"""

from __future__ import annotations

import torch
from torch import nn

from synthdata.model.rows.columns import SpanInfo


class Residual(nn.Module):
    """Linear → BatchNorm → ReLU, concatenated with its input (CTGAN's generator block)."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.fc = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], dim=1)


class ResidualMLP(nn.Module):
    """Stack of `Residual` blocks then a linear head: the GAN generator and the VAE decoder."""

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


def mlp(
    in_dim: int, hidden: tuple[int, ...], out_dim: int, *, leaky: float = 0.0, dropout: float = 0.0
) -> nn.Sequential:
    """Linear → (Leaky)ReLU [→ Dropout] per hidden width, then a linear head."""
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, h), nn.LeakyReLU(leaky) if leaky else nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


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
