"""`evaluate(train, test, synthetic, schema)`: does training on real + synthetic beat real alone, and
beat every negative control?

Result layout (also written as metrics.json; every leaf is a plain number, string or list):

    recsys.verdict.<segment>        helps | hurts | no-evidence   (rules: synthdata.evaluate.verdict)
    recsys.verdict_code.<segment>   1 | -1 | 0 (the same, as a number for the run registry)
    recsys.verdict_detail.<segment> {"reason", "clause", "tests": [{vs, metric, mean, ci_low, ci_high,
                                                                      p_value, p_holm}]}
    recsys.<arm>.<segment>.<metric> = {"mean", "ci_low", "ci_high"}     (arms and their roles: arms.py)
        arm      ∈ real | augmented | synthetic_only | popularity (most-popular recommender, a floor)
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
    recsys.items.summary.<arm>.<item segment>.<recall|rec_share> = {"mean", "ci_low", "ci_high", "n_users"}
    recsys.items.summary.<arm>.<item segment>.coverage = {"mean"}   item segment ∈ cold_items | head | tail
    recsys.items.delta.real.<item segment>.<recall|rec_share>   augmented − real, paired; recsys.items.n_items
    recsys.synthetic_only_protocol = fold-in (virtual users; real users folded in) | same-ids
    recsys.per_seed.<run> = [{metric: mean}, ...];  recsys.tuning.<run> = {"chosen", "grid"}
    recsys.chosen_alpha.<run>;  recsys.recommender_fits, recsys.tuning_workers, recsys.comparator_refits
    fidelity.*, privacy.* (incl. privacy.mia_auc, mia_auc_null, mia_auc_excess), data.*, config, timings_s.*
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.evaluate import augment, items
from synthdata.evaluate.arms import Arm, ArmInputs, ArmResult, Role, synthetic_arms, synthetic_only_protocol
from synthdata.evaluate.assemble import recsys_section, settled_segments, summaries
from synthdata.evaluate.checks import leakage_report, split_checks
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.fidelity import fidelity_report
from synthdata.evaluate.inputs import check_columns, check_id_dtypes, drop_unknown_items, virtual_users
from synthdata.evaluate.privacy import privacy_report
from synthdata.evaluate.privacy_users import user_privacy_report
from synthdata.evaluate.recommend import Index, popularity_recommend, positive_rows, real_matrices
from synthdata.evaluate.runs import Matrices, Runner
from synthdata.evaluate.tuning import Target
from synthdata.evaluate.verdict import comparator_arms, rule_text
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
    "verdict": rule_text(),
    "comparator_refits": "controls refitted at the augmented α (refitted), or not because the tests against "
    "real-only settled every segment's verdict and clause (skipped, with settled_by_real per segment)",
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
    sel = (cfg.strategy, cfg.cold_threshold, cfg.long_tail_share, cfg.cold_item_threshold)
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


def _score(
    arms: list[Arm], runner: Runner, masks: dict[str, np.ndarray], timings: dict[str, float]
) -> tuple[list[ArmResult], dict[str, Any]]:
    """Every arm through one loop (tune → refit over seeds → score), then the comparator variants
    the verdict asks for (verdict.comparator_arms), unless the tests against real-only already settle
    every segment (assemble.settled_segments). Returns the results and what was refitted or skipped."""
    results = []
    for arm in arms:
        with _timed(timings, f"run_{arm.name}"):
            results.append(runner.execute(arm))
    extra = comparator_arms(arms, results)
    note: dict[str, Any] = {"refitted": [a.name for a in extra], "skipped": []}
    if extra:
        settled = settled_segments(results, masks, runner.cfg)
        if all(v is not None for v in settled.values()):
            note = {"refitted": [], "skipped": note["refitted"], "settled_by_real": settled}
            log.info(kv(stage="run", comparator_refits="skipped", settled_by_real=settled))
            extra = []
    for arm in extra:
        with _timed(timings, f"run_{arm.name}"):
            results.append(runner.execute(arm))
    return results, note


def _item_segments(
    results: list[ArmResult], pop_recs: np.ndarray, mats: Matrices, in_train: np.ndarray, cfg: EvalConfig
) -> dict[str, Any]:
    """recsys.items: the same top-k lists (first seed) scored on cold, head and tail items of the
    training catalogue (`in_train`: items only in test can never be recommended), each arm summarised
    and augmented − real paired (items.py)."""
    masks = items.item_segments(mats.real_pos, cfg.cold_item_threshold, cfg.long_tail_share, in_train)
    recs = {r.name: r.recs for r in results if not r.arm.at_augmented_alpha} | {"popularity": pop_recs}
    kw = {"n_boot": cfg.n_bootstrap, "n_perm": cfg.n_permutations, "seed": cfg.seed}
    out = items.item_section(recs, mats.target, masks, cfg.k, **kw)
    out["segments"] = {
        "cold_item_threshold": cfg.cold_item_threshold,
        "long_tail_share": cfg.long_tail_share,
        "definition": items.DEFINITIONS["item_segments"],
    }
    return out


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
    with _timed(timings, "inputs"):  # the checks, the validation split, the strategy's selection
        inp = _inputs(train, test, synthetic, val_synthetic, schema, cfg, data)
    with _timed(timings, "prepare"):
        prep = _prepare(train, test, inp, schema, cfg)
        arms = _build_arms(train, inp, prep, schema, cfg, data)  # build arms
    runner = Runner(prep.mats, cfg)
    results, refits = _score(arms, runner, prep.masks, timings)  # score
    recsys = _assemble(results, prep, cfg, timings)  # assemble
    recsys["recommender_fits"] = runner.n_fits
    recsys["tuning_workers"] = runner.workers  # processes the tuning fits used (fitpool.py)
    recsys["comparator_refits"] = refits
    if any(r.role is Role.SYNTHETIC_ONLY for r in results):
        recsys["synthetic_only_protocol"] = synthetic_only_protocol(inp.used, train, schema)
    result: dict[str, Any] = {"recsys": recsys, "definitions": {**DEFINITIONS, **items.DEFINITIONS}}
    if inp.has_synth:
        result |= _synthetic_checks(train, test, inp.synthetic, schema, cfg, data, timings)
    result["data"] = _data_section(train, test, inp, prep, cfg, data)
    result["config"] = cfg.model_dump(mode="json")
    timings["total"] = round(time.perf_counter() - t_start, 3)
    result["timings_s"] = timings
    return result


@dataclass
class _Prepared:
    """What every arm shares: the index, the real matrices, the user segments and the training catalogue."""

    index: Index
    mats: Matrices
    masks: dict[str, np.ndarray]
    in_train: np.ndarray  # items with a training interaction: the catalogue
    test_users: int  # users with a test positive (scored: all, or `max_eval_users` of them)

    @property
    def n_catalogue(self) -> int:
        return int(self.in_train.sum())


def _prepare(train, test, inp: _Inputs, schema: Schema, cfg: EvalConfig) -> _Prepared:
    index, mats = _matrices(train, test, inp, schema)
    test_users = int(mats.target.users.size)
    mats.target = mats.target.sample(cfg.max_eval_users, cfg.seed)
    if mats.target.users.size < test_users:
        log.info(kv(stage="prepare", scored_users=int(mats.target.users.size), test_users=test_users))
    cold = np.diff(mats.real_pos.indptr)[mats.target.users] <= cfg.cold_threshold
    masks = {"all": np.ones(cold.size, dtype=bool), "cold": cold, "warm": ~cold}
    return _Prepared(index, mats, masks, np.diff(mats.seen.tocsc().indptr) > 0, test_users)


def _build_arms(
    train, inp: _Inputs, prep: _Prepared, schema: Schema, cfg: EvalConfig, data: dict
) -> list[Arm]:
    """The real-only arm, and the synthetic arms when the strategy left usable synthetic positives."""
    arms = [Arm(Role.REAL)]
    if inp.used is not None and len(inp.used):
        m = prep.mats
        ai = ArmInputs(inp.used, inp.used_val, train, inp.inner, prep.index, m.seen, m.inner_seen)
        arms += synthetic_arms(ai, schema, cfg, data)
    augmented = next((a for a in arms if a.role is Role.AUGMENTED), None)
    if augmented is None or augmented.extra is None or augmented.extra.nnz == 0:
        arms = arms[:1]
        if inp.has_synth:
            log.warning(kv(stage="augment", note="no usable synthetic positives; augmented run skipped"))
    cold = prep.masks["cold"]
    log.info(
        kv(stage="prepare", users=cold.size, cold=int(cold.sum()), items=prep.index.shape[1], arms=len(arms))
    )
    return arms


def _assemble(results: list[ArmResult], prep: _Prepared, cfg: EvalConfig, timings: dict) -> dict[str, Any]:
    """The recsys section: every arm with CIs, the paired tests and the verdict, the popularity floor,
    the item segments."""
    target = prep.mats.target
    with _timed(timings, "paired_tests"):
        recsys = recsys_section(results, prep.masks, prep.n_catalogue, cfg)
    with _timed(timings, "popularity"):
        pop_recs = popularity_recommend(prep.mats.real_pos, prep.mats.seen, target.users, cfg.k)
        pop = ArmResult(Arm(Role.POPULARITY), results[0].chosen, [], target.score(pop_recs, cfg.k), pop_recs)
        recsys["popularity"] = summaries(pop, prep.masks, prep.n_catalogue, cfg)
    with _timed(timings, "item_segments"):
        recsys["items"] = _item_segments(results, pop_recs, prep.mats, prep.in_train, cfg)
    recsys["segments"] = {
        "cold_threshold": cfg.cold_threshold,
        "definition": f"cold: ≤ {cfg.cold_threshold} real training positives; warm: more",
    }
    return recsys


def _data_section(train, test, inp: _Inputs, prep: _Prepared, cfg: EvalConfig, data: dict) -> dict[str, Any]:
    return {
        "train_rows": len(train),
        "test_rows": len(test),
        "synthetic_rows": 0 if inp.synthetic is None else len(inp.synthetic),
        "synthetic_rows_after_strategy": 0 if inp.used is None else len(inp.used),
        "users": prep.index.shape[0],
        "items": prep.index.shape[1],
        "catalogue_items": prep.n_catalogue,
        "validation_rows": len(inp.val),
        "validation_protocol": cfg.protocol,
        "evaluated_users": int(prep.mats.target.users.size),
        "test_users_with_positives": prep.test_users,
        **data,
    }
