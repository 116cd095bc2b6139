"""A tiny histories-model pipeline config for tuning tests (each trial trains in well under a second),
and a look into a study's storage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from support.pipeline_world import tiny_config, write_config, write_source

TINY_TUNE_TRAIN: dict[str, Any] = {
    "model": "multvae",
    "epochs": 4,
    "batch_size": 32,
    "hp": {"num_threads": 1, "val_every": 1},
}


def tune_config(folder: Path, registry: str, *, df: pd.DataFrame | None = None, **over: Any) -> Path:
    """Write the tiny world (or `df` as its source) and a Mult-VAE config on it; returns the config."""
    src, schema = write_source(folder / "src")
    if df is not None:
        df.to_csv(src, index=False)
    train = {**TINY_TUNE_TRAIN, **over.pop("train", {})}
    cfg = tiny_config(src, schema, train=train, registry=registry, **over)
    return write_config(folder / "tiny.yaml", cfg)


def study_trials(registry: str, name: str = "tiny-multvae-synthetic-only") -> list[optuna.trial.FrozenTrial]:
    from synthdata.tune.study import open_storage, storage_for

    return optuna.load_study(study_name=name, storage=open_storage(storage_for(registry))).get_trials()
