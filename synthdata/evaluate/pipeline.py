"""`evaluate(train, test, synthetic, schema)`: does training on real + synthetic beat real alone, and
beat every negative control?

Result layout (also written as metrics.json; every leaf is a plain number, string or list):

    recsys.verdict.<segment>        helps | hurts | no-evidence   (rules: synthdata.evaluate.verdict)
    recsys.verdict_code.<segment>   1 | -1 | 0 (the same, as a number for the run registry)
    recsys.verdict_detail.<segment> {"reason", "tests": [{vs, metric, mean, ci_low, ci_high, p_value,
                                                            p_holm}]}
    recsys.<run>.<segment>.<metric> = {"mean", "ci_low", "ci_high"}
        run      ∈ real | augmented | synthetic_only | popularity (most-popular recommender, a floor)
        segment  ∈ all | cold | warm   (cold: ≤ cold_threshold real training positives)
        metric   ∈ precision, recall, f1, ndcg, map, hitrate   (per-user values averaged over users
                   with ≥ 1 test positive and over seeds; CI: 95% percentile bootstrap over users)
                   f1_of_means  (2·P̄·R̄/(P̄+R̄); bootstrap CI with P and R resampled together)
                   coverage     ({"mean"}: distinct recommended items / training catalogue, first seed)
    recsys.control.<control>.<segment>.<metric>      control ∈ popularity | uniform | shuffled
    recsys.delta.<segment>.<metric> = {"mean", "ci_low", "ci_high", "p_value"}   augmented − real, paired
    recsys.delta_control.<control>.<segment>.<metric>                           augmented − control
    recsys.per_seed_delta.<real|control>.<segment>.<metric> = [per-seed mean delta, ...]
    recsys.synthetic_only_ratio.<metric> = {"mean", "ci_low", "ci_high"}   synthetic_only / real, all users
    recsys.synthetic_only_protocol = fold-in (virtual users; real users folded in) | same-ids
    recsys.per_seed.<run> = [{metric: mean}, ...];  recsys.tuning.<run> = {"chosen", "grid"}
    recsys.chosen_alpha.<run>
    fidelity.*, privacy.* (incl. privacy.mia_auc), data.*, config, timings_s.*
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from synthdata.errors import InputError
from synthdata.evaluate import augment
from synthdata.evaluate.assemble import AT_AUGMENTED_ALPHA, CONTROL_PREFIX, recsys_section, summaries
from synthdata.evaluate.checks import leakage_report, split_checks
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.controls import CONTROLS, control_rngs, control_rows
from synthdata.evaluate.fidelity import fidelity_report
from synthdata.evaluate.inputs import check_columns, check_id_dtypes, drop_unknown_items, virtual_users
from synthdata.evaluate.privacy import privacy_report
from synthdata.evaluate.privacy_users import user_privacy_report
from synthdata.evaluate.recommend import (
    Index,
    popularity_recommend,
    positive_rows,
    real_matrices,
    synthetic_matrix,
)
from synthdata.evaluate.runs import Matrices, Run, Runner, RunResult
from synthdata.evaluate.tuning import Target
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
    "controls": "null generators adding as many rows as the synthesizer: popularity (item ∝ training "
    "popularity), uniform (item uniform over the catalogue), shuffled (synthetic items permuted across rows)",
    "verdict": "helps: α > 0 chosen, ≥ 3 seeds, every per-seed delta > 0, and vs real AND every control the "
    "tune metric and recall have CI > 0 and Holm-adjusted p < significance; hurts: below real with CI < 0; "
    "else no-evidence",
    "synthetic_only_ratio": "synthetic-only model / real-only model, all users, paired bootstrap CI; "
    "protocol fold-in (virtual users: ALS trained on them alone, each real user's factors recomputed from "
    "its training rows with the item factors fixed) or same-ids (synthetic rows carry real user ids)",
}


@contextmanager
def _timed(timings: dict[str, float], name: str):
    t0 = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - t0, 3)


def validation_split(
    train: pd.DataFrame, schema: Schema, config: EvalConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inner train, validation) exactly as `evaluate` carves them for tuning."""
    return split(train, schema, config.protocol, config.val_fraction, seed=config.seed)


def _prepare_synthetic(
    df: pd.DataFrame | None, reference: pd.DataFrame, schema: Schema, name: str, data: dict[str, Any]
) -> pd.DataFrame | None:
    """Checked, with rows whose items `reference` lacks dropped and counted in `data` (virtual users
    are kept and counted)."""
    if df is None:
        return None
    check_columns(df, schema, name)
    check_id_dtypes(df, reference, schema, name)
    df, dropped, n_virtual = drop_unknown_items(df, reference, schema, name)
    data[f"{name}_rows_unknown_items_dropped"] = dropped
    data[f"{name}_virtual_users"] = n_virtual
    return df


def _extra_runs(
    used: pd.DataFrame,
    used_val: pd.DataFrame | None,
    train: pd.DataFrame,
    inner: pd.DataFrame,
    schema: Schema,
    index: Index,
    seen: sp.csr_matrix,
    inner_seen: sp.csr_matrix,
    cfg: EvalConfig,
    data: dict[str, Any],
) -> list[Run]:
    """The augmented run, one run per negative control and the synthetic-only run (see runs.py)."""
    alphas = tuple(cfg.alpha_grid)
    synth_m, stats = synthetic_matrix(used, schema, index, seen)
    data.update(stats)
    if used_val is not None and len(used_val):
        tune_rows, tune_ref, tune_seen = used_val, inner, inner_seen
        data["tuning_synthetic"] = "val_synthetic: synthesizer fitted on the inner training split"
    else:  # that synthesizer saw the validation pairs: drop every training pair (leak-free, pessimistic)
        tune_rows, tune_ref, tune_seen = used, train, seen
        data["tuning_synthetic"] = "synthetic minus all training pairs (conservative)"
    tune_m = synthetic_matrix(tune_rows, schema, index, tune_seen)[0]
    runs = [Run("augmented", synth_m, tune_m, alphas, params_from="real")]
    # Each recommender seed refits a control on a fresh draw: the variation between draws of a null
    # generator then enters the per-seed deltas that `helps` needs all > 0 (a single draw can be lucky).
    draws = [control_rngs(cfg.seed + 2 + s) for s in range(cfg.seeds)]
    tune_rngs = control_rngs(cfg.seed + 1)
    for name in CONTROLS:
        ms = []
        for s, rngs in enumerate(draws):
            m, st = synthetic_matrix(control_rows(name, used, train, schema, rngs[name]), schema, index, seen)
            ms.append(m)
            if s == 0:
                data[f"control_{name}_pairs_used"] = st["synthetic_pairs_used"]
        trows = control_rows(name, tune_rows, tune_ref, schema, tune_rngs[name])
        tm = synthetic_matrix(trows, schema, index, tune_seen)[0]
        runs.append(
            Run(f"{CONTROL_PREFIX}{name}", ms[0], tm, alphas, params_from="real", extra_per_seed=tuple(ms))
        )
    if cfg.synthetic_only:
        empty = sp.csr_matrix(seen.shape, dtype=np.float32)
        only = synthetic_matrix(used, schema, index, empty)[0]  # every synthetic positive, duplicates too
        only_tune = synthetic_matrix(used_val, schema, index, empty)[0] if tune_rows is used_val else tune_m
        fold = synthetic_only_protocol(used, train, schema) == "fold-in"
        if fold and cfg.model != "als":  # BPR has no exact per-user solve to fold real users in with
            data["synthetic_only_skipped"] = "fold-in (virtual users) needs the ALS recommender"
            log.warning(kv(stage="synthetic_only", skipped=data["synthetic_only_skipped"]))
        else:
            runs.append(Run("synthetic_only", only, only_tune, (), only_extra=True, fold_in=fold))
    return runs


def synthetic_only_protocol(synthetic: pd.DataFrame | None, train: pd.DataFrame, schema: Schema) -> str:
    """`fold-in` when every synthetic user is virtual (train on them alone, fold the real users in from
    their training rows: strong generalisation); `same-ids` when synthetic rows carry real user ids."""
    if synthetic is None or not len(synthetic):
        return "same-ids"
    return (
        "fold-in"
        if len(virtual_users(synthetic, train, schema)) == synthetic[schema.user_col].nunique()
        else "same-ids"
    )


@dataclass
class _Inputs:
    """The checked tables `evaluate` works on (synthetic rows already selected by the strategy)."""

    inner: pd.DataFrame
    val: pd.DataFrame
    synthetic: pd.DataFrame | None
    used: pd.DataFrame | None
    used_val: pd.DataFrame | None

    @property
    def has_synth(self) -> bool:
        return self.synthetic is not None and len(self.synthetic) > 0


def _inputs(train, test, synthetic, val_synthetic, schema: Schema, cfg: EvalConfig, data: dict) -> _Inputs:
    """Prepare: the checks a sceptic runs first, the validation split, the strategy's selection."""
    check_columns(train, schema, "train")
    check_columns(test, schema, "test")
    if len(train) == 0:
        raise InputError("training table is empty", path="train")
    if len(test) == 0:
        raise InputError("test table is empty", path="test")
    data.update(split_checks(train, test, schema, cfg.max_shared_pairs))
    inner, val = validation_split(train, schema, cfg)
    synthetic = _prepare_synthetic(synthetic, train, schema, "synthetic", data)
    val_synthetic = _prepare_synthetic(val_synthetic, inner, schema, "val_synthetic", data)
    has_synth = synthetic is not None and len(synthetic) > 0
    sel = (cfg.strategy, cfg.cold_threshold, cfg.long_tail_share)
    used = augment.select(synthetic, train, schema, *sel) if has_synth else None
    used_val = None
    if has_synth and val_synthetic is not None:
        used_val = augment.select(val_synthetic, inner, schema, *sel)
    return _Inputs(inner, val, synthetic, used, used_val)


def _matrices(train, test, inp: _Inputs, schema: Schema) -> tuple[Index, Matrices]:
    """One index (real users, then virtual ones) and the real matrices every run shares."""
    virtual = [*virtual_users(inp.used, train, schema), *virtual_users(inp.used_val, inp.inner, schema)]
    index = Index.build(schema, train, test).with_users(pd.Index(virtual, dtype=object))
    real_pos, seen = real_matrices(train, schema, index)
    inner_pos, inner_seen = real_matrices(inp.inner, schema, index)
    tu, ti = index.codes(test, schema)
    pos = positive_rows(test, schema)
    vu, vi = index.codes(inp.val, schema)
    vpos = positive_rows(inp.val, schema)
    target, val_target = Target.from_codes(tu[pos], ti[pos]), Target.from_codes(vu[vpos], vi[vpos])
    if target.users.size == 0:
        raise InputError(
            "no user in the test table has a positive interaction; nothing to score", path="test"
        )
    return index, Matrices(real_pos, seen, inner_pos, inner_seen, target, val_target)


def _score(runs: list[Run], runner: Runner, timings: dict[str, float]) -> dict[str, RunResult]:
    """Every run through one loop: tune → refit over seeds → score.

    α is tuned on all users; its noise alone can make one control look weak on a segment. Each control
    whose α differs is also refitted at the augmented run's α, and the verdict compares against the
    stronger of the two per segment."""
    results = {}
    for run in runs:
        with _timed(timings, f"run_{run.name}"):
            results[run.name] = runner.execute(run)
    aug_alpha = results["augmented"].chosen.alpha if "augmented" in results else None
    for run in runs:
        if aug_alpha and run.name.startswith(CONTROL_PREFIX) and results[run.name].chosen.alpha != aug_alpha:
            alt = replace(run, name=run.name + AT_AUGMENTED_ALPHA, alphas=(aug_alpha,))
            with _timed(timings, f"run_{alt.name}"):
                results[alt.name] = runner.execute(alt)
    return results


def _synthetic_checks(train, test, synthetic, schema, cfg: EvalConfig, data: dict, timings) -> dict[str, Any]:
    """Leakage, fidelity and privacy of the synthetic table (sections of the result)."""
    out: dict[str, Any] = {"leakage": leakage_report(synthetic, train, test, schema, cfg.seed)}
    if cfg.fidelity:
        with _timed(timings, "fidelity"):
            out["fidelity"] = fidelity_report(
                train,
                synthetic,
                schema,
                max_rows=cfg.fidelity_max_rows,
                detection_rows=cfg.detection_max_rows,
                seed=cfg.seed,
            )
    if cfg.privacy:
        with _timed(timings, "privacy"):
            out["privacy"] = privacy_report(
                train,
                test,
                synthetic,
                schema,
                max_rows=cfg.privacy_max_rows,
                mia_rows=cfg.mia_max_rows,
                seed=cfg.seed,
            )
            if data.get("synthetic_virtual_users"):
                out["privacy"]["users"] = user_privacy_report(
                    train, test, synthetic, schema, max_users=cfg.privacy_max_rows, seed=cfg.seed
                )
    return out


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    synthetic: pd.DataFrame | None,
    schema: Schema,
    config: EvalConfig | None = None,
    *,
    val_synthetic: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Score real-only, augmented, the negative controls, synthetic-only and popularity on `test`.

    `synthetic` must come from a synthesizer fitted on `train` only (see
    synthdata.pipeline.experiment.run_experiment); None or an empty table scores the real-only and
    popularity runs and skips fidelity/privacy. Synthetic rows with items absent from `train` are
    counted and dropped with a warning; users absent from `train` are virtual users.

    `val_synthetic`, optional, comes from a synthesizer fitted on the inner training split only
    (`validation_split(train, config)[0]`) and is used for tuning the augmented run and the controls:
    validation then mirrors the test situation exactly. Without it, tuning uses `synthetic` minus
    every training pair (leak-free but pessimistic for the augmented run).
    """
    cfg = config or EvalConfig()
    timings: dict[str, float] = {}
    data: dict[str, Any] = {}
    t_start = time.perf_counter()
    inp = _inputs(train, test, synthetic, val_synthetic, schema, cfg, data)
    with _timed(timings, "prepare"):
        index, mats = _matrices(train, test, inp, schema)
        target = mats.target
        cold = np.diff(mats.real_pos.indptr)[target.users] <= cfg.cold_threshold
        masks = {"all": np.ones(target.users.size, dtype=bool), "cold": cold, "warm": ~cold}
        n_catalogue = int((np.diff(mats.seen.tocsc().indptr) > 0).sum())
        runs = [Run("real")]
        if inp.used is not None and len(inp.used):
            args = (inp.used, inp.used_val, train, inp.inner, schema, index, mats.seen, mats.inner_seen)
            runs += _extra_runs(*args, cfg, data)
    if len(runs) == 1 or runs[1].extra is None or runs[1].extra.nnz == 0:
        runs = runs[:1]
        if inp.has_synth:
            log.warning(kv(stage="augment", note="no usable synthetic positives; augmented run skipped"))
    log.info(
        kv(
            stage="prepare",
            users=target.users.size,
            cold=int(cold.sum()),
            items=index.shape[1],
            runs=len(runs),
        )
    )
    runner = Runner(mats, cfg)
    results = _score(runs, runner, timings)
    with _timed(timings, "paired_tests"):
        recsys = recsys_section(results, masks, n_catalogue, cfg)
    with _timed(timings, "popularity"):
        pop_recs = popularity_recommend(mats.real_pos, mats.seen, target.users, cfg.k)
        pop = RunResult("popularity", results["real"].chosen, [], target.score(pop_recs, cfg.k), pop_recs)
        recsys["popularity"] = summaries(pop, masks, n_catalogue, cfg)
    recsys["segments"] = {
        "cold_threshold": cfg.cold_threshold,
        "definition": f"cold: ≤ {cfg.cold_threshold} real training positives; warm: more",
    }
    recsys["recommender_fits"] = runner.n_fits
    if "synthetic_only" in results:
        recsys["synthetic_only_protocol"] = synthetic_only_protocol(inp.used, train, schema)
    result: dict[str, Any] = {"recsys": recsys, "definitions": DEFINITIONS}
    if inp.has_synth:
        result |= _synthetic_checks(train, test, inp.synthetic, schema, cfg, data, timings)
    result["data"] = {
        "train_rows": len(train),
        "test_rows": len(test),
        "synthetic_rows": 0 if inp.synthetic is None else len(inp.synthetic),
        "synthetic_rows_after_strategy": 0 if inp.used is None else len(inp.used),
        "users": index.shape[0],
        "items": index.shape[1],
        "catalogue_items": n_catalogue,
        "validation_rows": len(inp.val),
        "validation_protocol": cfg.protocol,
        "evaluated_users": int(target.users.size),
        **data,
    }
    result["config"] = cfg.model_dump(mode="json")
    timings["total"] = round(time.perf_counter() - t_start, 3)
    result["timings_s"] = timings
    return result
