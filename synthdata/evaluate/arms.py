"""Every model `evaluate` scores is an `Arm` with an explicit role, and every arm goes through the same
loop (runs.Runner: tune on validation → refit over seeds → score on test).

Roles:
- `real`: the real training positives only (the baseline every claim is measured against);
- `augmented`: real + the synthesizer's rows weighted by α (tuned, 0 included);
- `control`: real + as many rows from a null generator (controls.py), α tuned the same way; each
  recommender seed refits on a fresh draw. Strategies centred on items (long-tail, cold-items on a row
  model) draw the null's items from the same item pool (augment.strategy_item_pool).
  `verdict.comparator_arms` may add a second arm per control refitted at the augmented arm's α
  (`at_augmented_alpha`);
- `synthetic_only`: the synthetic rows alone (virtual users: real users folded in);
- `popularity`: the most-popular recommender, a floor (scored without a fit).

An arm is its role, the extra rows it trains on (for the test-time fit and for tuning) and its α grid.
The real-only arm has no extra rows; the others differ only in their extra rows, so adding a control
is one more `Arm(...)`. `Arm.name` is the key the result (metrics.json) uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from synthdata.evaluate.augment import strategy_item_pool
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.controls import CONTROLS, control_rngs, control_rows
from synthdata.evaluate.inputs import virtual_users
from synthdata.evaluate.recommend import Index, synthetic_matrix
from synthdata.evaluate.tuning import Candidate
from synthdata.log import get_logger, kv
from synthdata.schema import Schema

log = get_logger("evaluate.arms")


class Role(StrEnum):
    REAL = "real"
    AUGMENTED = "augmented"
    CONTROL = "control"
    SYNTHETIC_ONLY = "synthetic_only"
    POPULARITY = "popularity"


@dataclass(frozen=True)
class Arm:
    """One model to score. `alphas` empty: trains on real rows only; `only_extra`: on the extra rows alone."""

    role: Role
    control: str | None = None  # the null generator of a control arm
    extra: sp.csr_matrix | None = None  # extra positives for the fit scored on test
    tune_extra: sp.csr_matrix | None = None  # extra positives for the fits scored on validation
    alphas: tuple[float, ...] = ()
    only_extra: bool = False
    params_from: Role | None = None  # take factors/regularisation chosen by this role, tune only α
    extra_per_seed: tuple[sp.csr_matrix, ...] = ()  # a fresh draw per recommender seed (controls)
    fold_in: bool = False  # only_extra on virtual users: real users' factors come from their real rows
    at_augmented_alpha: bool = False  # a control refitted at the augmented arm's chosen α

    def __post_init__(self) -> None:
        if (self.role is Role.CONTROL) != (self.control is not None):
            raise ValueError("a control arm names its null generator, and only a control arm does")
        if self.at_augmented_alpha and self.role is not Role.CONTROL:
            raise ValueError("only a control arm is refitted at the augmented arm's α")

    @property
    def name(self) -> str:
        """The arm's key in the result: real | augmented | synthetic_only | control.<null generator>."""
        if self.role is not Role.CONTROL:
            return self.role.value
        return f"control.{self.control}" + ("@augmented_alpha" if self.at_augmented_alpha else "")

    def extra_for(self, s: int) -> sp.csr_matrix | None:
        """The extra rows of refit `s`: a control is a random process, so each seed gets its own draw."""
        return self.extra_per_seed[s % len(self.extra_per_seed)] if self.extra_per_seed else self.extra

    def at_alpha(self, alpha: float) -> Arm:
        """This control, refitted at a fixed α (the augmented arm's): a comparator variant."""
        return replace(self, alphas=(alpha,), at_augmented_alpha=True)


@dataclass
class ArmResult:
    """What scoring an arm gave: the chosen candidate, its tuning grid and per-user test metrics."""

    arm: Arm
    chosen: Candidate
    grid: list[dict]
    user: dict[str, np.ndarray]  # per-user metrics averaged over seeds
    recs: np.ndarray  # first seed's top-k lists
    per_seed: list[dict[str, np.ndarray]] = field(default_factory=list)  # per-user metrics per seed

    @property
    def name(self) -> str:
        return self.arm.name

    @property
    def role(self) -> Role:
        return self.arm.role


def find(results: list[ArmResult], role: Role) -> ArmResult | None:
    """The single arm of `role` (real, augmented, synthetic_only), or None when it was not scored."""
    found = [r for r in results if r.role is role and not r.arm.at_augmented_alpha]
    return found[0] if found else None


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


@dataclass(frozen=True)
class ArmInputs:
    """The tables the synthetic arms are built from, and the real matrices they are masked against."""

    used: pd.DataFrame  # synthetic rows the strategy selected (synthesizer fitted on train)
    used_val: pd.DataFrame | None  # the same from a synthesizer fitted on the inner training split
    train: pd.DataFrame
    inner: pd.DataFrame
    index: Index
    seen: sp.csr_matrix
    inner_seen: sp.csr_matrix


def synthetic_arms(a: ArmInputs, schema: Schema, cfg: EvalConfig, data: dict[str, Any]) -> list[Arm]:
    """The augmented arm, one arm per negative control and the synthetic-only arm."""
    alphas = tuple(cfg.alpha_grid)
    synth_m, stats = synthetic_matrix(a.used, schema, a.index, a.seen)
    data.update(stats)
    if a.used_val is not None and len(a.used_val):
        tune_rows, tune_ref, tune_seen = a.used_val, a.inner, a.inner_seen
        data["tuning_synthetic"] = "val_synthetic: synthesizer fitted on the inner training split"
    else:  # that synthesizer saw the validation pairs: drop every training pair (leak-free, pessimistic)
        tune_rows, tune_ref, tune_seen = a.used, a.train, a.seen
        data["tuning_synthetic"] = "synthetic minus all training pairs (conservative)"
    tune_m = synthetic_matrix(tune_rows, schema, a.index, tune_seen)[0]
    arms = [Arm(Role.AUGMENTED, extra=synth_m, tune_extra=tune_m, alphas=alphas, params_from=Role.REAL)]
    arms += _control_arms(a, tune_rows, tune_ref, tune_seen, schema, cfg, data)
    if cfg.synthetic_only:
        empty = sp.csr_matrix(a.seen.shape, dtype=np.float32)
        only = synthetic_matrix(a.used, schema, a.index, empty)[0]  # every synthetic positive, duplicates too
        only_tune = (
            synthetic_matrix(a.used_val, schema, a.index, empty)[0] if tune_rows is a.used_val else tune_m
        )
        fold = synthetic_only_protocol(a.used, a.train, schema) == "fold-in"
        if fold and cfg.model != "als":  # BPR has no exact per-user solve to fold real users in with
            data["synthetic_only_skipped"] = "fold-in (virtual users) needs the ALS recommender"
            log.warning(kv(stage="synthetic_only", skipped=data["synthetic_only_skipped"]))
        else:
            arms.append(
                Arm(Role.SYNTHETIC_ONLY, extra=only, tune_extra=only_tune, only_extra=True, fold_in=fold)
            )
    return arms


def _control_arms(
    a: ArmInputs,
    tune_rows: pd.DataFrame,
    tune_ref: pd.DataFrame,
    tune_seen: sp.csr_matrix,
    schema: Schema,
    cfg: EvalConfig,
    data: dict[str, Any],
) -> list[Arm]:
    """One arm per null generator. Each recommender seed refits a control on a fresh draw: the variation
    between draws of a null generator then enters the per-seed deltas the verdict tests (a single draw
    can be lucky)."""
    draws = [control_rngs(cfg.seed + 2 + s) for s in range(cfg.seeds)]
    tune_rngs = control_rngs(cfg.seed + 1)
    where = {"cold_item_threshold": cfg.cold_item_threshold, "long_tail_share": cfg.long_tail_share}
    pool = strategy_item_pool(cfg.strategy, a.train, schema, synthetic=a.used, **where)
    tune_pool = strategy_item_pool(cfg.strategy, tune_ref, schema, synthetic=tune_rows, **where)
    arms = []
    for name in CONTROLS:
        ms = []
        for s, rngs in enumerate(draws):
            rows = control_rows(name, a.used, a.train, schema, rngs[name], pool=pool)
            m, st = synthetic_matrix(rows, schema, a.index, a.seen)
            ms.append(m)
            if s == 0:
                data[f"control_{name}_pairs_used"] = st["synthetic_pairs_used"]
        trows = control_rows(name, tune_rows, tune_ref, schema, tune_rngs[name], pool=tune_pool)
        tm = synthetic_matrix(trows, schema, a.index, tune_seen)[0]
        arms.append(
            Arm(
                Role.CONTROL,
                control=name,
                extra=ms[0],
                tune_extra=tm,
                alphas=tuple(cfg.alpha_grid),
                params_from=Role.REAL,
                extra_per_seed=tuple(ms),
            )
        )
    return arms
