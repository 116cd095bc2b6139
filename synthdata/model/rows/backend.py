"""What a row backend must provide, and the hyperparameters every row backend shares.

A row backend is one `Backend` subclass in one file (see gan.py, vae.py) plus one line in
`model/registry.py`. Everything else in the row family is shared: the transformer (encoded
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
from pydantic import Field

from synthdata.model.family import GenerativeNet, Settings, TrainerSettings, parse_hyper
from synthdata.model.rows.columns import SpanInfo
from synthdata.model.rows.condition import ConditionSampler
from synthdata.model.space import Float, Int, Space

TRANSFORMER_FIELDS = ("n_modes", "bgm_rows", "bgm_iter", "max_discrete_int", "max_categories", "id_dim")


class EncoderSettings(Settings):
    """The row family's encoder (the `DataTransformer`'s encoded layout)."""

    n_modes: int = Field(10, ge=1, description="Gaussian-mixture modes per continuous column.")
    bgm_rows: int = Field(5000, ge=10, description="Rows the mixture is fitted on (random subsample).")
    bgm_iter: int = Field(60, ge=1)
    max_discrete_int: int = Field(32, ge=1, description="Integers with at most this many values: one-hot.")
    max_categories: int = Field(500, ge=2)
    id_dim: int = Field(16, ge=4, description="Width of the user/item id embeddings.")

    def transformer_kwargs(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in TRANSFORMER_FIELDS}


class RowSettings(Settings):
    """Latent, id decoding and row-sample model selection (every row backend)."""

    z_dim: int = Field(64, ge=1)
    id_temperature: float = Field(0.2, ge=0, description="Softness of decoding id vectors to ids.")
    val_rows: int = Field(2000, ge=10, description="Rows sampled per validation (model selection).")
    val_max_rows: int = Field(5000, ge=10, description="Held-out rows the validation sample is scored on.")


class Hyper(EncoderSettings, RowSettings, TrainerSettings):
    """Hyperparameters every row backend has; a backend extends it with its network settings."""

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """The encoded layout (mixture modes, id embedding width), the latent size and how softly
        generated id vectors are decoded: shared by every row backend."""
        return {
            **super().hyperparameter_space(),
            "n_modes": Int(3, 15),
            "id_dim": Int(4, 64, log=True),
            "z_dim": Int(16, 256, log=True),
            "id_temperature": Float(0.05, 1.0, log=True),
        }


@dataclass
class TrainStep:
    """What one training step may use; built by the Lightning wrapper (training.py)."""

    data: torch.Tensor  # encoded training rows on the device
    cond: ConditionSampler
    spans: list[SpanInfo]
    batch_size: int
    optimizers: list[torch.optim.Optimizer]
    backward: Callable[[torch.Tensor], None]  # Lightning's manual_backward (precision, DDP)


class Backend(GenerativeNet):
    """Base class of a row backend; subclasses fill in the abstract parts listed in the module doc."""

    family: ClassVar[str] = "rows"
    hp: Hyper

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


__all__ = ["Backend", "EncoderSettings", "Hyper", "RowSettings", "TrainStep", "parse_hyper"]
