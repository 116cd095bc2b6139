"""The model boundary: a *family* owns what it learns from the training table; the rest is shared.

Two families exist:

* `rows` (model/rows/): GAN and VAE learn the joint distribution of single interaction rows;
* `histories` (model/histories/): Mult-VAE and Mult-DAE learn whole user histories (item sets) and
  make virtual users or neighbours of given users, each with a complete row per (user, item).

A family says how to fit its encoder on the training table, how to save and load that encoder, how to
build fresh networks for it, which Lightning module and data module train them, what validation score
model selection maximises, and how to sample tables. `Synthesizer`, fitting (`fit.py`), the Lightning
wiring (`training.py`), the model file and resume checkpoints (`checkpoint.py`), DDP and warm starts
are shared and know no family.

A backend (one network recipe, e.g. `gan.py`, `multvae.py`) is one `GenerativeNet` subclass in one
file plus one line in `registry.py`; its `family` names the family it plugs into.

Hyperparameters are split by who reads them: `TrainerSettings` (the shared training loop), each
family's encoder settings, and each backend's network settings; a backend's `Hyper` inherits only
the parts that are its own, so `multvae` has no Gaussian-mixture settings and `gan` no dropout rate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from synthdata.errors import ConfigError
from synthdata.model.shard import WHOLE, Shard
from synthdata.model.space import Space

if TYPE_CHECKING:  # Lightning is imported by fitting only
    import pytorch_lightning as pl

    from synthdata.schema import Schema

Tensors = dict[str, torch.Tensor]


class Settings(BaseModel):
    """Base of every settings group: typed, frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def hyperparameter_space(cls) -> Space:
        """The settings worth searching and their ranges (model/space.py; `synthdata tune` uses it).
        Empty by default; a backend's Hyper adds its own dimensions to its parents'."""
        return {}


class TrainerSettings(Settings):
    """The shared training loop and sampling loop (every family)."""

    val_every: int = Field(1, ge=1)
    patience: int | None = Field(None, ge=1, description="Early stopping on the family's score (epochs).")
    progress_bar: bool = True
    num_threads: int = Field(1, ge=1, description="torch intra-op threads while fitting/sampling.")
    sample_batch: int = Field(50_000, ge=1)


class GenerativeNet(nn.Module):
    """Base of every backend's networks: its name, typed hyperparameters and family."""

    name: ClassVar[str]
    Hyper: ClassVar[type[Settings]]
    family: ClassVar[str]
    # DDP: True when an optimiser step leaves some parameters unused (e.g. a GAN's two networks)
    ddp_find_unused: ClassVar[bool] = False
    hp: Any

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        raise NotImplementedError


@dataclass
class Fitted:
    """What a fitted (or loaded) model holds: the family's encoder, the networks, a family helper."""

    encoder: Any
    net: GenerativeNet
    aux: Any = None  # rows: the ConditionSampler; histories: None


@dataclass(frozen=True)
class Request:
    """What to sample. Rows: `n` rows under `conditions`. Histories: `n` rows of virtual users, or
    `users` virtual users, or `per_user` neighbours of each id in `like`. `shard`: which part of the
    job's seeded blocks to draw (model/shard.py)."""

    n: int | None = None
    conditions: dict[str, Any] | None = None
    users: int | None = None
    like: tuple[Any, ...] = ()
    per_user: int = 1
    shard: Shard = WHOLE


class Family(ABC):
    """One model family (see the module docstring). Stateless: one instance serves every model."""

    name: ClassVar[str]
    state_key: ClassVar[str]  # the encoder's key in the model document
    monitor: ClassVar[str]  # validation score model selection maximises
    default_epochs: ClassVar[int]  # when the caller gives none
    pipeline_epochs: ClassVar[int]  # a pipeline's default (nightly jobs)

    @abstractmethod
    def fit_encoder(self, schema: Schema, hyper: Any, seed: int, df: pd.DataFrame) -> Any:
        """Fit the family's encoder on the training table (sklearn's `fit`)."""

    @abstractmethod
    def encoder_state(self, encoder: Any) -> tuple[dict[str, Any], Tensors]: ...

    @abstractmethod
    def encoder_from_state(self, doc: dict[str, Any], tensors: Tensors, schema: Schema) -> Any: ...

    @abstractmethod
    def build(self, backend: type[GenerativeNet], encoder: Any, hyper: Any) -> Fitted:
        """Fresh networks (and family helper) for a fitted encoder."""

    @abstractmethod
    def lightning(
        self,
        fitted: Fitted,
        df: pd.DataFrame,
        val_df: pd.DataFrame | None,
        batch_size: int,
        seed: int,
        ckpt_extra: dict[str, Any],
    ) -> tuple[pl.LightningModule, pl.LightningDataModule, int]:
        """(module, data module, steps per epoch) that train `fitted.net` on `df`."""

    @abstractmethod
    def batches(self, fitted: Fitted, request: Request, seed: int) -> Iterator[pd.DataFrame]:
        """Sampled tables, one per seeded block (model/shard.py), with the clean table's columns."""

    @abstractmethod
    def output_columns(self, encoder: Any) -> list[str]:
        """The clean table's columns, in order, as sampled tables have them."""

    def finish(self, fitted: Fitted, seed: int) -> None:  # noqa: B027 - optional hook
        """After training and model selection: fit what is estimated from the final networks."""

    def detach(self, fitted: Fitted) -> None:  # noqa: B027 - optional hook
        """Drop training-only state before the model is kept for sampling."""


def parse_hyper(cls: type[GenerativeNet], hp: dict[str, Any], where: str = "hyperparameters") -> Any:
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
