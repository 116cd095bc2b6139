"""Fitting a `Synthesizer` with Lightning: resume checks, warm start, Trainer, best-checkpoint selection.

Kept apart from synthesizer.py so that loading and sampling never import Lightning.
"""

from __future__ import annotations

import hashlib
import json
import signal
import tempfile
import time
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger

from synthdata.errors import ConfigError, InputError, Terminated
from synthdata.log import get_logger, kv, quiet_lightning
from synthdata.model.checkpoint import load_checkpoint, read_model
from synthdata.model.distributed import strategy_for
from synthdata.model.family import Family, Fitted, GenerativeNet
from synthdata.model.seeds import seed_for
from synthdata.model.training import CKPT_KEY, LogProgress, ddp_strategy
from synthdata.rowhash import row_hashes
from synthdata.schema import Schema


class Fittable(Protocol):
    """What fitting needs from the `Synthesizer` facade (kept structural: no import back up)."""

    schema: Schema
    backend: type[GenerativeNet]
    family: Family
    hyper: Any
    seed: int
    epochs: int
    batch_size: int
    max_minutes: float | None
    accelerator: str
    devices: Any
    strategy: Any
    num_nodes: int
    rank: int
    meta: dict[str, Any]

    @property
    def model(self) -> str: ...
    def document(self) -> dict[str, Any]: ...
    def build(self, encoder: Any) -> Fitted: ...
    def set_fitted(self, fitted: Fitted, df: pd.DataFrame) -> None: ...


log = get_logger(__name__)
quiet_lightning()  # notebooks and scripts too, not only the CLI


def data_fingerprint(df: pd.DataFrame) -> str:
    """Content hash of a table (values, column names and dtypes): what a checkpoint was made for."""
    h = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(row_hashes(df).tobytes())
    return h.hexdigest()[:32]


def _selection_from_last(last: Path, epochs: int, steps: int) -> tuple[str, Any, int, int]:
    """Best checkpoint path/score and progress as recorded in `last.ckpt` (ModelCheckpoint state)."""
    state = load_checkpoint(last)
    best, score = "", None
    for cb_state in state.get("callbacks", {}).values():
        if isinstance(cb_state, dict) and cb_state.get("best_model_path"):
            best, score = cb_state["best_model_path"], cb_state.get("best_model_score")
    return best, score, max(epochs, int(state.get("epoch", -1)) + 1), max(steps, int(state["global_step"]))


# how a fit is shown or run, not what it learns: may differ between a run and its resume
_PRESENTATION_HP = ("progress_bar", "num_threads", "sample_batch")


def _model_hp(hp: Any) -> Any:
    return {k: v for k, v in hp.items() if k not in _PRESENTATION_HP} if isinstance(hp, dict) else hp


def _resumed_encoder(syn: Fittable, last: Path, fingerprint: str) -> Any:
    """The encoder saved in `last.ckpt`, after checking it was made for this very table and config."""
    state = load_checkpoint(last)
    extra = state.get(CKPT_KEY)
    try:
        doc = json.loads(extra["json"])  # type: ignore[index]
        tensors = extra["tensors"]  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise InputError(
            "checkpoint was not written by this synthdata version; delete it", path=str(last)
        ) from None
    mine = syn.document()
    what = [
        label
        for label, a, b in (
            ("table (data fingerprint)", doc.get("fingerprint"), fingerprint),
            ("schema", doc.get("schema_yaml"), mine["schema_yaml"]),
            ("model", doc.get("backend"), mine["backend"]),
            ("hyperparameters", _model_hp(doc.get("hp")), _model_hp(mine["hp"])),
        )
        if a != b
    ]
    if what:
        raise InputError(
            f"cannot resume: the checkpoint was made for another {' and '.join(what)}; use a new "
            "checkpoint dir or delete this one to train from scratch",
            path=str(last),
        )
    return syn.family.encoder_from_state(doc[syn.family.state_key], tensors, syn.schema)


def warm_start(syn: Fittable, net: GenerativeNet, path: Path, partial: bool) -> None:
    """Copy the saved model's weights into `net`.

    Same schema: every tensor whose name and shape fit is copied (a new category changes a few
    shapes; those are listed in a WARNING). Another schema or model: an error unless `partial`, and
    then a WARNING lists what was and was not copied.
    """
    doc, tensors = read_model(path)
    same = doc["schema_yaml"] == syn.schema.to_yaml() and doc["backend"] == syn.model
    if not same and not partial:
        why = "model family" if doc["backend"] != syn.model else "schema"
        raise ConfigError(
            f"init_from {path}: that model has another {why} ({doc['backend']}); warm-starting would copy "
            "only some weights. Pass --warm-start-partial (warm_start_partial=True) to do it anyway"
        )
    own = net.state_dict()
    copied, skipped = [], []
    for name, t in ((k[4:], v) for k, v in tensors.items() if k.startswith("net.")):
        if name in own and own[name].shape == t.shape:
            own[name] = t
            copied.append(name)
        else:
            skipped.append(name)
    skipped += [k for k in own if k not in copied and k not in skipped]
    if not copied:
        raise ConfigError(f"init_from {path}: no weight fits this data's layout; train from scratch")
    net.load_state_dict(own)
    if skipped or not same:
        log.warning(
            kv(
                event="warm_start_partial",
                source=path,
                copied=",".join(copied) or "-",
                not_copied=",".join(skipped),
            )
        )
    else:
        log.info(kv(event="warm_start", source=path, copied=len(copied)))


def _encoder(syn: Fittable, df: pd.DataFrame, resume_path: Path | None, fingerprint: str) -> Any:
    if resume_path is not None:
        return _resumed_encoder(syn, resume_path, fingerprint)
    return syn.family.fit_encoder(syn.schema, syn.hyper, syn.seed, df)


def _trainer(
    syn: Fittable,
    ckdir: Path,
    callbacks: list[pl.Callback],
    steps_per_epoch: int,
    loggers: Sequence[Logger] = (),
) -> pl.Trainer:
    hp, monitor = syn.hyper, syn.family.monitor
    ckpt_cb = ModelCheckpoint(
        dirpath=ckdir, filename="best", monitor=monitor, mode="max", save_top_k=1, save_last=True
    )
    callbacks = [ckpt_cb, *callbacks]
    if not hp.progress_bar:
        callbacks.append(LogProgress(syn.epochs, monitor))  # unattended: plain lines, not a bar
    if hp.patience:
        callbacks.append(EarlyStopping(monitor=monitor, mode="max", patience=hp.patience))
    return pl.Trainer(
        max_epochs=syn.epochs,
        max_time=timedelta(minutes=syn.max_minutes) if syn.max_minutes else None,
        accelerator=syn.accelerator,
        devices=syn.devices,
        num_nodes=syn.num_nodes,
        strategy=ddp_strategy(strategy_for(syn.strategy, syn.num_nodes), syn.backend.ddp_find_unused),
        callbacks=callbacks,
        logger=[CSVLogger(save_dir=str(ckdir), name="logs"), *loggers],
        enable_progress_bar=hp.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        check_val_every_n_epoch=max(1, min(hp.val_every, syn.epochs)),  # at least one validation
        log_every_n_steps=max(1, min(50, steps_per_epoch)),
        deterministic="warn",
    )


def _fit_or_terminated(
    trainer: pl.Trainer, module: pl.LightningModule, dm: pl.LightningDataModule, resume: Path | None
) -> None:
    """`trainer.fit`, with Lightning's own SIGTERM stop made an error (exit 143), not a clean exit.

    Lightning's handler ends training with `SIGTERMException`, a `SystemExit` without a code: left
    alone, a scheduler's stop would look like success (exit 0) with no model written.
    """
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    try:
        trainer.fit(module, datamodule=dm, ckpt_path=str(resume) if resume else None, weights_only=True)
    except SIGTERMException:
        raise Terminated(
            f"terminated by signal {int(signal.SIGTERM)} during training (epoch {trainer.current_epoch}); "
            "continue with --resume"
        ) from None


def _select_best(trainer: pl.Trainer, module: pl.LightningModule, last: Path) -> tuple[int, int, Any]:
    """Load the best epoch's weights (model selection on the family's score); (epochs, steps, score).

    Rank 0 reads the best checkpoint (it wrote it) and every other rank receives its choice: ranks on
    other nodes may not see rank 0's files, and all ranks must end with the same model."""
    ckpt_cb = trainer.checkpoint_callback
    best, score = ckpt_cb.best_model_path, ckpt_cb.best_model_score  # type: ignore[union-attr]
    epochs, steps = int(trainer.current_epoch), int(trainer.global_step)
    if (not best or steps == 0) and last.exists():
        # Spawned DDP workers keep the loop (and maybe callback) state: read their last.ckpt.
        lbest, lscore, epochs, steps = _selection_from_last(last, epochs, steps)
        best, score = (best or lbest), (score if score is not None else lscore)
    state = None
    if trainer.is_global_zero and best and Path(best).exists():
        state = load_checkpoint(Path(best))["state_dict"]
    state, score = trainer.strategy.broadcast((state, score), src=0)  # no-op in a single process
    if state is not None:
        module.load_state_dict(state)
    return epochs, steps, score


def fit_synthesizer(
    syn: Fittable,
    df: pd.DataFrame,
    val_df: pd.DataFrame | None,
    checkpoint_dir: str | Path | None,
    resume: bool,
    init_from: str | Path | None,
    partial: bool,
    extra_callbacks: list[pl.Callback],
    extra_loggers: Sequence[Logger] = (),
) -> None:
    t0 = time.perf_counter()
    pl.seed_everything(seed_for(syn.seed, "train"), workers=True, verbose=False)
    fingerprint = data_fingerprint(df)
    with tempfile.TemporaryDirectory(prefix="synthdata-ckpt-") as tmp:
        ckdir = Path(checkpoint_dir) if checkpoint_dir is not None else Path(tmp)
        ckdir.mkdir(parents=True, exist_ok=True)
        last = ckdir / "last.ckpt"
        resume_path = last if resume and last.exists() else None
        if resume and resume_path is None:
            log.info(kv(event="resume_fresh", reason="no last.ckpt", dir=ckdir))
        encoder = _encoder(syn, df, resume_path, fingerprint)
        t_fit = time.perf_counter() - t0
        fitted = syn.build(encoder)
        if init_from is not None and resume_path is None:
            warm_start(syn, fitted.net, Path(init_from), partial)
        enc_doc, enc_tensors = syn.family.encoder_state(encoder)
        doc = {**syn.document(), "fingerprint": fingerprint, syn.family.state_key: enc_doc}
        extra = {"json": json.dumps(doc), "tensors": enc_tensors}
        module, dm, steps_per_epoch = syn.family.lightning(
            fitted, df, val_df, syn.batch_size, syn.seed, extra
        )
        trainer = _trainer(syn, ckdir, list(extra_callbacks), steps_per_epoch, extra_loggers)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            # our checkpoint dir also holds the CSV logs, and resumes reuse it on purpose
            warnings.filterwarnings("ignore", message=".*exists and is not empty.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            _fit_or_terminated(trainer, module, dm, resume_path)
        t_train = time.perf_counter() - t1
        epochs, steps, score = _select_best(trainer, module, last)
        syn.rank = int(trainer.global_rank)
        syn.family.finish(fitted, seed_for(syn.seed, "train", 2))
        syn.set_fitted(fitted, df)
        syn.meta = {
            "model": syn.model,
            "family": syn.family.name,
            "epochs_trained": epochs,
            "global_step": steps,
            f"best_{syn.family.monitor}": float(score) if score is not None else None,
            "train_rows": len(df),
            "data_fingerprint": fingerprint,
            "transform_fit_seconds": round(t_fit, 3),
            "train_seconds": round(t_train, 3),
            "steps_per_epoch": steps_per_epoch,
            **getattr(fitted.encoder, "meta", {}),
        }
    log.info(kv(event="fit_done", **syn.meta))
