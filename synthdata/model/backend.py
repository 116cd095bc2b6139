"""What a generative model family ("backend") must provide, and the hyperparameters all of them share.

A backend is one `torch.nn.Module` subclass of `Backend` in one file (see gan.py, vae.py) plus one
line in `registry.py`. Everything else is shared and backend-agnostic: the transformer (encoded
layout), the condition sampler (training-by-sampling, exact conditions), id decoding, attribute
look-up, constraints by construction, the Lightning wiring (checkpoints, resume, DDP, model selection
on `val_fidelity`), sampling/streaming and the model file. A backend therefore only says

* `name` and `Hyper` (a pydantic model: typed, validated hyperparameters, unknown keys rejected);
* how to build its networks from the encoded width, the conditional-vector width and the spans;
* `configure_optimizers()` and `training_step(step)` (manual optimisation, any number of optimisers);
* `decode(z, c)`: raw network output for latent `z` and conditional vector `c` (sampling), and
  optionally `noise_continuous` (how a sample's continuous scalars are perturbed, e.g. the VAE's σ).

This module imports torch and pydantic only: loading and sampling never import Lightning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from synthdata.errors import ConfigError
from synthdata.model.columns import SpanInfo
from synthdata.model.condition import ConditionSampler

TRANSFORMER_FIELDS = ("n_modes", "bgm_rows", "bgm_iter", "max_discrete_int", "max_categories", "id_dim")


class Hyper(BaseModel):
    """Hyperparameters every backend has (transformer, training loop, sampling); backends extend it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # transformer (encoded layout)
    n_modes: int = Field(10, ge=1, description="Gaussian-mixture modes per continuous column.")
    bgm_rows: int = Field(5000, ge=10, description="Rows the mixture is fitted on (random subsample).")
    bgm_iter: int = Field(60, ge=1)
    max_discrete_int: int = Field(32, ge=1, description="Integers with at most this many values: one-hot.")
    max_categories: int = Field(500, ge=2)
    id_dim: int = Field(16, ge=4, description="Width of the user/item id embeddings.")
    # latent / sampling
    z_dim: int = Field(64, ge=1)
    id_temperature: float = Field(0.2, ge=0, description="Softness of decoding id vectors to ids.")
    sample_batch: int = Field(50_000, ge=1)
    # training loop
    val_rows: int = Field(2000, ge=10, description="Rows sampled per validation (model selection).")
    val_max_rows: int = Field(5000, ge=10, description="Held-out rows the validation sample is scored on.")
    val_every: int = Field(1, ge=1)
    patience: int | None = Field(None, ge=1, description="Early stopping on val_fidelity (epochs).")
    progress_bar: bool = True
    num_threads: int = Field(1, ge=1, description="torch intra-op threads while fitting/sampling.")

    def transformer_kwargs(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in TRANSFORMER_FIELDS}


@dataclass
class TrainStep:
    """What one training step may use; built by the Lightning wrapper (training.py)."""

    data: torch.Tensor  # encoded training rows on the device
    cond: ConditionSampler
    spans: list[SpanInfo]
    batch_size: int
    optimizers: list[torch.optim.Optimizer]
    backward: Callable[[torch.Tensor], None]  # Lightning's manual_backward (precision, DDP)


class Backend(nn.Module):
    """Base class of a model family; subclasses fill in the abstract parts listed in the module doc."""

    name: ClassVar[str]
    Hyper: ClassVar[type[Hyper]]
    # DDP: True when an optimiser step leaves some parameters unused (e.g. a GAN's two networks)
    ddp_find_unused: ClassVar[bool] = False

    def __init__(self, data_dim: int, cond_dim: int, spans: list[SpanInfo], hp: Hyper) -> None:
        super().__init__()
        self.hp = hp
        self.data_dim, self.cond_dim = data_dim, cond_dim
        self.spans = list(spans)

    # --- training (called through training.py only)
    def batch_rows(self, batch_size: int) -> int:
        """Rows per training batch (a backend may round, e.g. PacGAN to whole packs)."""
        return batch_size

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        raise NotImplementedError

    def training_step(self, step: TrainStep) -> dict[str, torch.Tensor]:
        """Run one step (forward, `step.backward`, optimiser steps); return detached losses to log."""
        raise NotImplementedError

    # --- sampling
    def decode(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Raw (pre-activation) rows for latent `z` (n, z_dim) and conditional vectors `c`."""
        raise NotImplementedError

    def noise_continuous(
        self, act: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:  # pragma: no cover - trivial default
        """Perturb activated continuous scalars when sampling (identity unless the family says so)."""
        return act


def parse_hyper(cls: type[Backend], hp: dict[str, Any], where: str = "hyperparameters") -> Hyper:
    """Validate `hp` against a backend's typed hyperparameters; the error names each bad key."""
    try:
        return cls.Hyper.model_validate(hp)
    except ValidationError as e:
        parts = []
        for err in e.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(root)"
            msg = "unknown hyperparameter" if err["type"] == "extra_forbidden" else err["msg"]
            parts.append(f"{where}.{key}: {msg}")
        raise ConfigError(f"{cls.name} " + "; ".join(parts)) from None
