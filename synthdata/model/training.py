"""Lightning wiring shared by every family: the LightningModule base around a `GenerativeNet`
(manual optimisation, checkpoint contents), per-epoch progress lines and DDP strategy names. Only
fitting imports this module; each family's own module and data module (rows/lightning.py,
histories/lightning.py) build on `SynthModule`.

Device- and strategy-agnostic by construction: tensors are created on `self.device`, metrics are
logged with `sync_dist=True`, and data modules hand out step indices through an ordinary DataLoader
(Lightning inserts a DistributedSampler under DDP, so each rank runs its share of steps). Model
selection uses the family's validation score (`Family.monitor`), never the training losses.
"""

from __future__ import annotations

import atexit
from typing import Any

import pytorch_lightning as pl
import torch

from synthdata.log import get_logger, kv
from synthdata.model.family import GenerativeNet
from synthdata.model.seeds import seed_for

log = get_logger(__name__)
CKPT_KEY = "synthdata"  # plain JSON string + tensors: last.ckpt loads with weights_only=True
_EXIT_HOOK: list[bool] = []


def _destroy_group() -> None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def destroy_group_at_exit() -> None:
    """Destroy the DDP process group while the interpreter is still whole, once per process.

    Lightning does this for NCCL only. A gloo group left to interpreter finalisation can abort a
    spawned worker that trained fine (SIGABRT, "terminate called without an active exception"):
    gloo's threads may still hold tensors whose release needs the GIL (pytorch/pytorch#179291).
    """
    if not _EXIT_HOOK and torch.distributed.is_available() and torch.distributed.is_initialized():
        atexit.register(_destroy_group)
        _EXIT_HOOK.append(True)


class SynthModule(pl.LightningModule):
    """Any family's networks under Lightning (manual optimisation: the backend steps its optimisers)."""

    def __init__(self, net: GenerativeNet, *, seed: int, ckpt_extra: dict[str, Any]) -> None:
        super().__init__()
        self.automatic_optimization = False
        self.net = net
        self.seed = seed
        self.ckpt_extra = ckpt_extra  # {"json": str, "tensors": {...}}: the model document for resume

    def setup(self, stage: str) -> None:
        destroy_group_at_exit()  # runs in each DDP process once its group exists

    def seed_rank(self) -> None:
        """Every rank was seeded alike; training must draw different batches per rank."""
        torch.manual_seed(seed_for(self.seed, "train", self.global_rank))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # the fitted encoder must survive a resume exactly, so it rides along
        checkpoint[CKPT_KEY] = self.ckpt_extra

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return self.net.configure_optimizers()

    def optimizer_list(self) -> list[torch.optim.Optimizer]:
        opts = self.optimizers()
        return list(opts) if isinstance(opts, list | tuple) else [opts]

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        return None  # the score needs a whole sample; families compute it in on_validation_epoch_end


class LogProgress(pl.Callback):
    """One structured log line per epoch, for runs without a terminal (nightly jobs, CI logs)."""

    def __init__(self, total_epochs: int, monitor: str = "val_fidelity") -> None:
        self.total = total_epochs
        self.monitor = monitor

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.is_global_zero:
            score = trainer.callback_metrics.get(self.monitor)
            line = {self.monitor: f"{float(score):.4f}" if score is not None else "-"}
            log.info(kv(task="train", epoch=trainer.current_epoch + 1, total=self.total, **line))


def ddp_strategy(strategy: Any, find_unused: bool) -> Any:
    """Map Lightning's DDP names to their find-unused variant for backends whose optimiser steps use
    only part of the parameters (a GAN); plain DDP would abort on 'unused parameters'."""
    if (
        find_unused
        and isinstance(strategy, str)
        and strategy in {"ddp", "ddp_spawn", "ddp_fork", "ddp_notebook"}
    ):
        return f"{strategy}_find_unused_parameters_true"
    return strategy
