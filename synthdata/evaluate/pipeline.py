"""`evaluate(train, test, synthetic, schema)`: does training on real + synthetic beat real alone?

Result layout (also written as metrics.json; every leaf is a plain number, string or list):

    recsys.<run>.<segment>.<metric> = {"mean", "ci_low", "ci_high"}
        run      ∈ real | augmented | popularity
        segment  ∈ all | cold | warm   (cold: ≤ cold_threshold real training positives)
        metric   ∈ precision, recall, f1, ndcg, map, hitrate   (per-user values averaged over users
                   with ≥ 1 test positive; CI: 95% percentile bootstrap over those users)
                   f1_of_means  (2·P̄·R̄/(P̄+R̄); bootstrap CI with P and R resampled together)
                   coverage     ({"mean"}: distinct recommended items / training catalogue, first seed)
    recsys.<run>.<segment>.n_users
    recsys.delta.<segment>.<metric> = {"mean", "ci_low", "ci_high", "p_value"}   augmented − real, paired
    recsys.per_seed.<run> = [{metric: mean}, ...];  recsys.tuning.<run> = {"chosen", "grid"}
    fidelity.*, privacy.*, data.*, config, timings_s.*
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.evaluate import augment
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.fidelity import fidelity_report
from synthdata.evaluate.metrics import PER_USER_METRICS, coverage
from synthdata.evaluate.privacy import privacy_report
from synthdata.evaluate.recommend import (
    Index,
    popularity_recommend,
    positive_rows,
    real_matrices,
    synthetic_matrix,
)
from synthdata.evaluate.stats import bootstrap_ci, bootstrap_f1_of_means, paired_delta
from synthdata.evaluate.tuning import Target, score_seeds, tune
from synthdata.log import get_logger, kv
from synthdata.schema import Schema
from synthdata.split import split

log = get_logger("evaluate")

SEGMENTS: tuple[str, ...] = ("all", "cold", "warm")
DEFINITIONS = {
    "precision": "hits in top-k / k",
    "recall": "hits in top-k / number of the user's test positives",
    "f1": "per-user F1 = 2PR/(P+R) (0 if P=R=0), averaged over users",
    "f1_of_means": "F1 of the averaged precision and recall: 2·mean(P)·mean(R)/(mean(P)+mean(R))",
    "ndcg": "DCG/ideal DCG, binary gains, log2 discount, ideal = min(|test|, k) hits first",
    "map": "sum over ranks r of precision@r·hit_r / min(|test|, k), averaged over users",
    "hitrate": "share of users with at least one hit",
    "coverage": "distinct recommended items / items in the real training data (first seed)",
    "averaging": "users with at least one test positive; 95% percentile bootstrap CI over users",
    "delta": "augmented − real per user, paired bootstrap CI and two-sided sign-flip permutation p-value",
}


def _check_columns(df: pd.DataFrame, schema: Schema, name: str) -> None:
    for col in (schema.user_col, schema.item_col):
        if col not in df.columns:
            raise InputError(f"{name} table lacks a required column", path=name, column=col)


@contextmanager
def _timed(timings: dict[str, float], name: str):
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)


def _summaries(
    per_user: dict[str, np.ndarray],
    recs: np.ndarray,
    masks: dict[str, np.ndarray],
    n_catalogue: int,
    cfg: EvalConfig,
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for seg, m in masks.items():
        d: dict[str, Any] = {
            name: bootstrap_ci(per_user[name][m], n_boot=cfg.n_bootstrap, seed=cfg.seed)
            for name in PER_USER_METRICS
        }
        d["f1_of_means"] = bootstrap_f1_of_means(
            per_user["precision"][m], per_user["recall"][m], n_boot=cfg.n_bootstrap, seed=cfg.seed
        )
        d["coverage"] = {"mean": coverage(recs[m], n_catalogue) if m.any() else float("nan")}
        d["n_users"] = int(m.sum())
        out[seg] = d
    return out


def validation_split(
    train: pd.DataFrame, schema: Schema, config: EvalConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inner train, validation) exactly as `evaluate` carves them for tuning."""
    return split(train, schema, config.split_protocol, config.val_fraction, seed=config.seed)


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame | None,
    schema: Schema,
    config: EvalConfig | None = None,
    *,
    val_synthetic: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Score real-only, augmented (real + synthetic) and popularity recommenders on `test`.

    `synthetic` must come from a synthesizer fitted on `train` only (see `run_experiment`); None or an
    empty table evaluates the real-only and popularity runs and skips fidelity/privacy.

    `val_synthetic`, optional, comes from a synthesizer fitted on the inner training split only
    (`validation_split(train, config)[0]`) and is used for tuning the augmented run: validation then
    mirrors the test situation exactly. Without it, tuning uses `synthetic` minus every training pair
    (validation pairs included, since that synthesizer saw them), which is leak-free but pessimistic
    for the augmented run: see synthdata.evaluate.tuning.
    """
    cfg = config or EvalConfig()
    timings: dict[str, float] = {}
    t_start = time.perf_counter()
    for name, df in (("train", train), ("test", test)) + (
        (("synthetic", synthetic),) if synthetic is not None else ()
    ):
        _check_columns(df, schema, name)
    if val_synthetic is not None:
        _check_columns(val_synthetic, schema, "val_synthetic")
    if len(train) == 0:
        raise InputError("training table is empty", path="train")
    if len(test) == 0:
        raise InputError("test table is empty", path="test")
    has_synth = synthetic is not None and len(synthetic) > 0
    used_synth = (
        augment.select(synthetic, train, schema, cfg.strategy, cfg.cold_threshold, cfg.long_tail_share)
        if has_synth
        else None
    )
    inner, val = validation_split(train, schema, cfg)
    used_val_synth = (
        augment.select(val_synthetic, inner, schema, cfg.strategy, cfg.cold_threshold, cfg.long_tail_share)
        if has_synth and val_synthetic is not None and len(val_synthetic)
        else None
    )

    with _timed(timings, "prepare"):
        index = Index.build(schema, train, test, used_synth, used_val_synth)
        real_pos, seen = real_matrices(train, schema, index)
        tu, ti = index.codes(test, schema)
        pos = positive_rows(test, schema)
        target = Target.from_codes(tu[pos], ti[pos])
        inner_pos, inner_seen = real_matrices(inner, schema, index)
        vu, vi = index.codes(val, schema)
        vpos = positive_rows(val, schema)
        val_target = Target.from_codes(vu[vpos], vi[vpos])
        synth_m, synth_stats = (None, {})
        tune_m, tuning_source = None, "none"
        if used_synth is not None and len(used_synth):
            synth_m, synth_stats = synthetic_matrix(used_synth, schema, index, seen)
            if used_val_synth is not None:
                tune_m, _ = synthetic_matrix(used_val_synth, schema, index, inner_seen)
                tuning_source = "val_synthetic: synthesizer fitted on the inner training split"
            else:  # every training pair dropped (validation included): leak-free, pessimistic
                tune_m = synth_m
                tuning_source = "synthetic minus all training pairs (conservative)"
        train_positives = np.diff(real_pos.indptr)[target.users]
        cold = train_positives <= cfg.cold_threshold
        masks = {"all": np.ones(target.users.size, dtype=bool), "cold": cold, "warm": ~cold}
        n_catalogue = int((np.diff(seen.tocsc().indptr) > 0).sum())
    if target.users.size == 0:
        raise InputError(
            "no user in the test table has a positive interaction; nothing to score", path="test"
        )
    log.info(
        kv(
            stage="prepare",
            users=target.users.size,
            cold=int(cold.sum()),
            items=index.shape[1],
            synthetic_pairs=synth_stats.get("synthetic_pairs_used", 0),
        )
    )

    runs: dict[str, dict] = {}
    per_seed: dict[str, list] = {}
    tuning: dict[str, dict] = {}
    with _timed(timings, "tune_real"):
        chosen_real, grid_real = tune(inner_pos, inner_seen, None, val_target, cfg, augmented=False)
    tuning["real"] = {"chosen": chosen_real.as_dict(), "grid": grid_real}
    with _timed(timings, "fit_real"):
        real_user, real_recs, per_seed["real"] = score_seeds(real_pos, seen, None, target, cfg, chosen_real)
    runs["real"] = _summaries(real_user, real_recs, masks, n_catalogue, cfg)

    delta: dict[str, dict] = {}
    if synth_m is not None and synth_m.nnz > 0:
        with _timed(timings, "tune_augmented"):
            chosen_aug, grid_aug = tune(inner_pos, inner_seen, tune_m, val_target, cfg, augmented=True)
        tuning["augmented"] = {
            "chosen": chosen_aug.as_dict(),
            "grid": grid_aug,
            "synthetic_used": tuning_source,
        }
        with _timed(timings, "fit_augmented"):
            aug_user, aug_recs, per_seed["augmented"] = score_seeds(
                real_pos, seen, synth_m, target, cfg, chosen_aug
            )
        runs["augmented"] = _summaries(aug_user, aug_recs, masks, n_catalogue, cfg)
        with _timed(timings, "paired_tests"):
            for seg, m in masks.items():
                delta[seg] = {
                    name: paired_delta(
                        real_user[name][m],
                        aug_user[name][m],
                        n_boot=cfg.n_bootstrap,
                        n_perm=cfg.n_permutations,
                        seed=cfg.seed,
                    )
                    for name in PER_USER_METRICS
                }
    else:
        log.warning(kv(stage="augment", note="no usable synthetic positives; augmented run skipped"))

    with _timed(timings, "popularity"):
        pop_recs = popularity_recommend(real_pos, seen, target.users, cfg.k)
        pop_user = target.score(pop_recs, cfg.k)
        runs["popularity"] = _summaries(pop_user, pop_recs, masks, n_catalogue, cfg)

    result: dict[str, Any] = {
        "recsys": {
            **runs,
            "delta": delta,
            "per_seed": per_seed,
            "tuning": tuning,
            "segments": {
                "cold_threshold": cfg.cold_threshold,
                "definition": f"cold: ≤ {cfg.cold_threshold} real training positives; warm: more",
            },
        },
        "definitions": DEFINITIONS,
    }
    if has_synth and cfg.fidelity:
        with _timed(timings, "fidelity"):
            result["fidelity"] = fidelity_report(
                train,
                synthetic,
                schema,
                max_rows=cfg.fidelity_max_rows,
                detection_rows=cfg.detection_max_rows,
                seed=cfg.seed,
            )
    if has_synth and cfg.privacy:
        with _timed(timings, "privacy"):
            result["privacy"] = privacy_report(
                train, test, synthetic, schema, max_rows=cfg.privacy_max_rows, seed=cfg.seed
            )
    result["data"] = {
        "train_rows": len(train),
        "test_rows": len(test),
        "synthetic_rows": 0 if synthetic is None else len(synthetic),
        "synthetic_rows_after_strategy": 0 if used_synth is None else len(used_synth),
        "users": index.shape[0],
        "items": index.shape[1],
        "catalogue_items": n_catalogue,
        "validation_rows": len(val),
        "evaluated_users": int(target.users.size),
        **synth_stats,
    }
    result["config"] = cfg.model_dump(mode="json")
    timings["total"] = round(time.perf_counter() - t_start, 3)
    result["timings_s"] = timings
    return result
