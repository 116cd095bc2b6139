"""One trial: fit the generator on the inner training split with the trial's settings, make synthetic
data the way the pipeline's generate stage would, and score it on the validation split.

Objectives (all maximised):

* ``synthetic-only``: `evaluate`'s synthetic-only ratio of the tuned metric (NDCG@k by default): an
  ALS recommender trained on the synthetic rows alone over one trained on the real rows, both scored
  on the validation split (virtual users: real users folded in). What a generator is for when the
  synthetic data must stand in for the real data.
* ``augmented``: `evaluate`'s augmented − real difference of the tuned metric, all users, validation.
* ``fidelity``: the mean of column-shape and column-pair-trend similarity (the quality-report view,
  evaluate/fidelity.py) of the synthetic rows against the validation rows.

A trial's evaluation is the pipeline's own (`cfg.evaluate`: its grids, strategy, k and metric) with
the expensive uncertainty estimates cut to what a point score needs: one recommender seed, 100
bootstrap resamples, no privacy attacks. Nothing here ever sees the test split (data.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from synthdata.errors import SynthdataError
from synthdata.evaluate.config import EvalConfig
from synthdata.log import get_logger, kv
from synthdata.model.space import Space
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.signals import cooperative_sigterm, stop_on_signal
from synthdata.tune.data import TuneData
from synthdata.tune.pruning import PruneOnScore
from synthdata.tune.record import TrialRecorder, TrialRun
from synthdata.tune.space import suggest

if TYPE_CHECKING:
    import optuna

    from synthdata.model.synthesizer import Synthesizer

log = get_logger("tune")


def trial_eval_config(cfg: PipelineConfig, objective: str) -> EvalConfig:
    """The pipeline's evaluation settings, cut to a point score on the validation split. For the
    synthetic-only objective the augmented arm and the controls are not scored, so they get only the
    α = 0 candidate (they cannot be switched off; one fit each instead of one per α)."""
    only = {"alpha_grid": [0.0]} if objective == "synthetic-only" else {}
    return cfg.evaluate.model_copy(
        update={
            **only,
            "seeds": 1,
            "n_bootstrap": 100,
            "n_permutations": 100,
            "privacy": False,
            "fidelity": False,
            "synthetic_only": objective == "synthetic-only",
            "tune_synthesizer": False,
            "split_protocol": cfg.evaluate.split_protocol or cfg.split.protocol,
        }
    )


def synthesize(syn: Synthesizer, data: TuneData, cfg: PipelineConfig) -> pd.DataFrame:
    """What the generate stage would make from a model fitted on the inner split (row budgets scaled
    from the training split to the inner split)."""
    from synthdata.evaluate import augment

    users = cfg.user_strategy()
    if users is None:
        g = cfg.generate
        rows = (
            g.rows * len(data.inner) / max(1, data.train_rows) if g.rows else len(data.inner) * g.multiplier
        )
        return syn.sample(max(1, round(rows)), seed=cfg.seed)
    return augment.generate(
        syn,
        data.inner,
        data.schema,
        users["strategy"],
        n_users=users.get("virtual_users"),
        neighbours=users["neighbours"],
        cold_threshold=users.get("cold_threshold", cfg.evaluate.cold_threshold),
        cold_item_threshold=users.get("cold_item_threshold", cfg.evaluate.cold_item_threshold),
        seed=cfg.seed,
    )


def _mean(tree: dict[str, Any], *path: str) -> float | None:
    node: Any = tree
    for p in path:
        node = node.get(p) if isinstance(node, dict) else None
    return None if node is None else float(node)


def score(objective: str, data: TuneData, synthetic: pd.DataFrame, cfg: PipelineConfig) -> dict[str, float]:
    """The objective value (key ``objective``) and the validation figures behind it."""
    if objective == "fidelity":
        from synthdata.evaluate.fidelity import column_scores

        if synthetic.empty:
            return {"objective": 0.0}
        cs = column_scores(data.val, synthetic, data.schema, cfg.evaluate.fidelity_max_rows, cfg.seed)
        parts = [v for v in (cs["column_shapes"], cs["column_pair_trends"]) if not math.isnan(v)]
        value = sum(parts) / len(parts) if parts else math.nan
        return {
            "objective": value,
            "column_shapes": cs["column_shapes"],
            "pair_trends": cs["column_pair_trends"],
        }
    from synthdata.evaluate import evaluate

    ecfg = trial_eval_config(cfg, objective)
    rs = evaluate(data.inner, data.val, synthetic, data.schema, ecfg)["recsys"]
    m = ecfg.tune_metric
    out = {f"real_{m}": _mean(rs, "real", "all", m, "mean")}
    out[f"synthetic_only_ratio_{m}"] = _mean(rs, "synthetic_only_ratio", m, "mean")
    out[f"delta_{m}"] = _mean(rs, "delta", "all", m, "mean")
    # nothing usable generated: the synthetic-only model learned nothing, augmenting added nothing
    value = out[f"synthetic_only_ratio_{m}"] if objective == "synthetic-only" else out[f"delta_{m}"]
    return {"objective": 0.0 if value is None else value, **{k: v for k, v in out.items() if v is not None}}


@dataclass
class Objective:
    """optuna's objective: one trial per call (module docstring); recorded in the registry."""

    cfg: PipelineConfig
    data: TuneData
    space: Space
    objective: str
    recorder: TrialRecorder
    deadline: float | None = None  # time.monotonic() after which no training should run

    def __call__(self, trial: optuna.Trial) -> float:
        import optuna

        params = suggest(trial, self.space)
        try:
            with self.recorder.trial(trial.number, self.cfg, params) as run:
                trial.set_user_attr("registry_run", run.run_id)
                self._run(trial, params, run)
        except (SynthdataError, optuna.TrialPruned):
            raise  # a config or input problem fails every trial alike; a pruned trial is optuna's
        except Exception as e:
            log.warning(kv(event="trial_failed", trial=trial.number, error=f"{type(e).__name__}: {e}"))
            return math.nan  # optuna records the trial as failed and the study goes on
        value = run.metrics["objective"]
        log.info(kv(event="trial_done", trial=trial.number, objective=self.objective, value=f"{value:.4f}"))
        return value

    def _run(self, trial: optuna.Trial, params: dict[str, Any], run: TrialRun) -> None:
        """Fit, generate, score; the figures go to `run.metrics` (also those of a pruned fit)."""
        syn = self._synthesizer(params)
        prune = PruneOnScore(trial, syn.family.monitor)
        t0 = time.perf_counter()
        try:
            with cooperative_sigterm():
                syn.fit(self.data.inner, callbacks=[prune, stop_on_signal()])
        finally:
            run.metrics["fit_seconds"] = round(time.perf_counter() - t0, 3)
            run.curve, run.monitor = prune.reported, syn.family.monitor
            if prune.reported:
                run.metrics["last_epoch"] = prune.reported[-1][0] + 1
                run.metrics[f"last_{syn.family.monitor}"] = prune.reported[-1][1]
        t0 = time.perf_counter()
        run.metrics.update(score(self.objective, self.data, synthesize(syn, self.data, self.cfg), self.cfg))
        run.metrics["score_seconds"] = round(time.perf_counter() - t0, 3)
        run.metrics["epochs_trained"] = syn.meta.get("epochs_trained")
        run.metrics[f"best_{syn.family.monitor}"] = syn.meta.get(f"best_{syn.family.monitor}")

    def _synthesizer(self, params: dict[str, Any]) -> Synthesizer:
        """Configured like the pipeline's train stage, with the trial's settings and the time left."""
        from synthdata.model.synthesizer import Synthesizer

        t = self.cfg.train
        caps = [t.max_minutes] if t.max_minutes else []
        if self.deadline is not None:
            caps.append(max(0.05, (self.deadline - time.monotonic()) / 60))
        return Synthesizer(
            self.data.schema,
            model=t.model,
            epochs=t.epochs,
            batch_size=t.batch_size,
            max_minutes=min(caps) if caps else None,
            seed=self.cfg.seed,
            accelerator=t.accelerator,
            devices=t.devices,
            strategy=t.strategy,
            **{**t.hp, **params, "progress_bar": False},
        )
