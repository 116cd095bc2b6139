"""Pruning bad trials while they train: the family's validation score, reported per validation epoch.

optuna_integration's `PyTorchLightningPruningCallback` (5.0) imports the `lightning` package, not the
`pytorch_lightning` this project trains with, so it cannot be used here; this is its single-process
logic against `pytorch_lightning`. Under DDP a prune raised on one rank would hang the others, so a
distributed fit only reports its scores and is never cut short.

What is reported is the score model selection maximises (`Family.monitor`: `val_recall` of held-out
items for histories models, `val_fidelity` of a fresh sample for row models), computed inside the
inner training split: a proxy for the study's objective, good enough to stop a trial that trains badly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytorch_lightning as pl

from synthdata.log import get_logger, kv

if TYPE_CHECKING:
    import optuna

log = get_logger("tune")


class PruneOnScore(pl.Callback):
    """Report `monitor` to the trial after each validation; raise `TrialPruned` when the pruner says so."""

    def __init__(self, trial: optuna.Trial, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        self.reported: list[tuple[int, float]] = []

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        import optuna

        score = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or score is None:
            return
        epoch = int(trainer.current_epoch)
        self.trial.report(float(score), step=epoch)
        self.reported.append((epoch, float(score)))
        if trainer.world_size > 1 or not self.trial.should_prune():
            return
        log.info(
            kv(
                event="trial_pruned",
                trial=self.trial.number,
                epoch=epoch + 1,
                **{self.monitor: f"{float(score):.4f}"},
            )
        )
        raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}: {self.monitor}={float(score):.4f}")
