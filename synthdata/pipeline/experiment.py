"""End-to-end experiment for notebooks and benchmarks: split → fit synthesizer on TRAIN ONLY → generate
→ evaluate. Fitting on train only is the leakage guarantee: the held-out interactions the
recommenders are scored on never reach the synthesizer (a test checks this with a recording fake).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthdata.errors import ConfigError
from synthdata.evaluate import augment
from synthdata.evaluate.api import evaluate, validation_split
from synthdata.evaluate.config import EvalConfig
from synthdata.log import get_logger, kv
from synthdata.schema import Schema
from synthdata.split import split

log = get_logger("pipeline.experiment")

SynthesizerFactory = Callable[[Schema], Any]  # returns an unfitted object with .fit(df) and .sample(n, ...)


@dataclass
class ExperimentResult:
    metrics: dict[str, Any]
    train: pd.DataFrame
    test: pd.DataFrame
    synthetic: pd.DataFrame
    synthesizer: Any
    timings_s: dict[str, float] = field(default_factory=dict)


def default_factory(hyperparams: dict[str, Any] | None = None, seed: int = 0) -> SynthesizerFactory:
    """Factory for synthdata's own GAN (imported lazily: it pulls in torch)."""

    def make(schema: Schema) -> Any:
        from synthdata.model.synthesizer import Synthesizer

        return Synthesizer(schema, seed=seed, **(hyperparams or {}))

    return make


def tuning_synthetic(
    factory: SynthesizerFactory,
    train: pd.DataFrame,
    schema: Schema,
    cfg: EvalConfig,
    *,
    share: float | None = None,
    budget: int = 20,
    seed: int = 0,
) -> pd.DataFrame:
    """Rows for tuning the augmented model leak-free: a synthesizer fitted on the inner training split
    only (the split `evaluate` tunes on), sampled with the evaluation's strategy.

    `share`: unconditional rows per inner training row (default 1). The synthesizer fitted on full
    train has seen the validation rows, so its rows would leak validation pairs into tuning.
    """
    inner, _ = validation_split(train, schema, cfg)
    synth = factory(schema)
    synth.fit(inner.reset_index(drop=True))
    n_rows = None if share is None else max(1, round(share * len(inner)))
    rows = _generate(synth, inner, schema, cfg, n_rows, budget, seed)
    log.info(kv(stage="tuning_synthesizer", inner_rows=len(inner), rows=len(rows)))
    return rows


def _generate(
    synth: Any,
    train: pd.DataFrame,
    schema: Schema,
    cfg: EvalConfig,
    n_rows: int | None,
    budget: int,
    seed: int,
) -> pd.DataFrame:
    """The synthetic rows the configured strategy asks for."""
    return augment.generate(
        synth,
        train,
        schema,
        cfg.strategy,
        n_rows=n_rows,
        budget=budget,
        cold_threshold=cfg.cold_threshold,
        long_tail_share=cfg.long_tail_share,
        cold_item_threshold=cfg.cold_item_threshold,
        neighbours=cfg.neighbours,
        seed=seed,
    )


def _train_test(
    df: pd.DataFrame | None,
    train: pd.DataFrame | None,
    test: pd.DataFrame | None,
    schema: Schema,
    protocol: str,
    test_fraction: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`df` split here, or the given train and test (exactly one of the two)."""
    if df is not None:
        if train is not None or test is not None:
            raise ConfigError("give either df or train+test, not both")
        return split(df, schema, protocol=protocol, test_fraction=test_fraction, seed=seed)  # type: ignore[arg-type]
    if train is None or test is None:
        raise ConfigError("run_experiment needs df, or both train and test")
    return train, test


def run_experiment(
    df: pd.DataFrame | None = None,
    schema: Schema | None = None,
    *,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    synthesizer_factory: SynthesizerFactory | None = None,
    synth_hyperparams: dict[str, Any] | None = None,
    n_synthetic: int | None = None,
    budget: int = 20,
    tune_synthesizer: bool | None = None,
    protocol: str = "user-temporal",
    test_fraction: float = 0.2,
    seed: int = 0,
    config: EvalConfig | None = None,
) -> ExperimentResult:
    """Run the whole comparison. Give either `df` (split here) or both `train` and `test`.

    The augmentation strategy is `config.strategy`: unconditional (`n_synthetic` rows, default
    len(train)), or `budget` exactly-conditioned rows per cold user / long-tail item / cold item (a
    histories model makes virtual users instead, see synthdata.evaluate.augment).

    `tune_synthesizer` (default: `config.tune_synthesizer`, true) fits a second synthesizer on the
    inner training split so the augmented
    run is tuned on validation exactly as it is scored on test (see synthdata.evaluate.tuning); it
    doubles the synthesizer cost, so switch it off for quick looks.
    """
    if schema is None:
        raise ConfigError("run_experiment needs the table's schema")
    cfg = config or EvalConfig(seed=seed)
    if cfg.split_protocol is None:  # validation is carved the way the test split was
        cfg = cfg.model_copy(update={"split_protocol": protocol})
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    train, test = _train_test(df, train, test, schema, protocol, test_fraction, seed)
    timings["split"] = round(time.perf_counter() - t0, 3)

    factory = synthesizer_factory or default_factory(synth_hyperparams, seed)
    synth = factory(schema)
    t0 = time.perf_counter()
    synth.fit(train.reset_index(drop=True))  # train only: test rows never reach the synthesizer
    timings["fit_synthesizer"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    synthetic = _generate(synth, train, schema, cfg, n_synthetic, budget, seed)
    timings["generate"] = round(time.perf_counter() - t0, 3)
    log.info(kv(stage="generate", strategy=cfg.strategy, rows=len(synthetic)))

    val_synthetic = None
    if cfg.tune_synthesizer if tune_synthesizer is None else tune_synthesizer:
        t0 = time.perf_counter()
        n_inner = None if n_synthetic is None else n_synthetic / len(train)
        val_synthetic = tuning_synthetic(factory, train, schema, cfg, share=n_inner, budget=budget, seed=seed)
        timings["tuning_synthesizer"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    metrics = evaluate(train, test, synthetic, schema, cfg, val_synthetic=val_synthetic)
    timings["evaluate"] = round(time.perf_counter() - t0, 3)
    metrics["timings_s"] = {**metrics.get("timings_s", {}), "experiment": timings}
    return ExperimentResult(metrics, train, test, synthetic, synth, timings)
