"""Tiny inputs and budgets for pipeline tests: a seeded interaction table, its schema, a fast config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

SCHEMA: dict[str, Any] = {
    "version": 1,
    "layout": "interactions",
    "columns": [
        {"name": "user_id", "role": "user_id", "dtype": "int"},
        {"name": "item_id", "role": "item_id", "dtype": "int"},
        {"name": "rating", "role": "signal", "dtype": "int", "min": 1, "max": 5},
        {"name": "timestamp", "role": "timestamp", "dtype": "datetime"},
        {"name": "country", "role": "user_attribute", "dtype": "category"},
        {"name": "category", "role": "item_attribute", "dtype": "category"},
    ],
    "positive": {"column": "rating", "min": 4},
}

# Tiny but real: the GAN and the recommender run for a handful of steps.
TINY_TRAIN: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 200,
    "hp": {
        "z_dim": 16,
        "gen_hidden": [32],
        "dis_hidden": [32],
        "n_modes": 3,
        "bgm_rows": 300,
        "bgm_iter": 20,
        "val_max_rows": 200,
        "num_threads": 1,
    },
}
TINY_EVAL: dict[str, Any] = {
    "k": 5,
    "seeds": 1,
    "factors_grid": [8],
    "regularization_grid": [0.05],
    "alpha_grid": [0.5],
    "iterations": 3,
    "n_bootstrap": 100,
    "n_permutations": 100,
    "fidelity_max_rows": 200,
    "privacy_max_rows": 50,
    "detection_max_rows": 200,
    "cold_threshold": 3,
}

# Gates a broken model fails and the tiny world passes (it scores exact_copy_rate 0.0 and column_shapes
# near 0.94): a generator replaying training rows fails no-copies (rate 1.0; test_pipeline_run), one
# whose columns lost their distributions fails column-shapes.
DEFAULT_GATES: list[dict[str, Any]] = [
    {"name": "no-copies", "metric": "privacy.exact_copy_rate", "op": "<=", "value": 0.1},
    {"name": "column-shapes", "metric": "fidelity.column_shapes", "op": ">=", "value": 0.6},
]


def interactions(n_users: int = 60, n_items: int = 40, seed: int = 0) -> pd.DataFrame:
    """Two taste clusters, so a recommender has something to learn (vectorised construction)."""
    rng = np.random.default_rng(seed)
    per_user = rng.integers(4, 16, n_users)
    users = np.repeat(np.arange(1, n_users + 1), per_user)
    cluster_u = rng.integers(0, 2, n_users + 1)[users]
    items = rng.integers(0, n_items // 2, users.size) * 2 + cluster_u
    df = pd.DataFrame({"user_id": users, "item_id": items + 100}).drop_duplicates(["user_id", "item_id"])
    n = len(df)
    df["rating"] = rng.integers(1, 6, n)
    df["timestamp"] = pd.to_datetime(1_600_000_000 + rng.integers(0, 10_000_000, n), unit="s", utc=True)
    df["country"] = np.array(["DE", "FR", "US"])[df["user_id"].to_numpy() % 3]
    df["category"] = np.array(["a", "b", "c", "d"])[df["item_id"].to_numpy() % 4]
    return df.reset_index(drop=True)


def write_source(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "interactions.csv"
    interactions(seed=seed).to_csv(csv, index=False)
    schema = folder / "schema.yaml"
    schema.write_text(yaml.safe_dump(SCHEMA, sort_keys=False))
    return csv, schema


def tiny_config(src: Path, schema: Path, **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "name": "tiny",
        "seed": 0,
        "source": {"path": str(src), "layout": "interactions", "schema": str(schema)},
        "split": {"test_fraction": 0.25},
        "train": {**TINY_TRAIN, "hp": dict(TINY_TRAIN["hp"])},
        "generate": {"multiplier": 0.5},
        "evaluate": dict(TINY_EVAL),
        "gates": [dict(g) for g in DEFAULT_GATES],
        "export": {"enabled": False},
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


def write_config(path: Path, cfg: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
