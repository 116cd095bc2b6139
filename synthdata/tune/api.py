"""`tune(config, trials=...)`: run (or resume) a study and write its best trial as a pipeline config.

    from synthdata.tune.api import tune
    res = tune("pipelines/nightly.yaml", trials=20, timeout=1800, objective="synthetic-only")
    res.best_value, res.out          # validation score of the best trial, and its config file

The study is named ``<config name>-<model>-<objective>`` unless `study` is given, lives beside the
registry (study.py), and counts completed and pruned trials towards `trials`: a re-run after a kill
only runs what is missing, and several processes running the same command share the work. The first
trial of a new study is the config's own settings, so the tuned config is never worse than the
starting one on the validation split.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthdata.atomic import ensure_writable
from synthdata.errors import ConfigError
from synthdata.log import get_logger, kv
from synthdata.model.family import parse_hyper
from synthdata.model.registry import backend
from synthdata.model.seeds import seed_for
from synthdata.model.space import Space
from synthdata.pipeline.config import PipelineConfig, load_config
from synthdata.pipeline.signals import Terminated, sigterm_raises
from synthdata.registry import ENV_VAR, Registry, resolve_url
from synthdata.tracking.config import with_mlflow_uri
from synthdata.tune import OBJECTIVES
from synthdata.tune.best import write_best
from synthdata.tune.data import tune_data
from synthdata.tune.objective import Objective
from synthdata.tune.record import TrialRecorder
from synthdata.tune.space import decode, starting_point
from synthdata.tune.study import (
    NoTrialCompleted,
    StudyKey,
    default_study_name,
    finished_trials,
    open_storage,
    open_study,
    storage_for,
)

if TYPE_CHECKING:
    import optuna

log = get_logger("tune")


@dataclass
class TuneResult:
    """What a study holds after this call: its trials, the best one and where its config went."""

    study: str
    storage: str  # masked URL
    objective: str
    finished: int  # completed + pruned trials in the study
    best_number: int
    best_value: float
    best_params: dict[str, Any]
    out: Path
    trials: list[optuna.trial.FrozenTrial] = field(default_factory=list)


def _sampler(
    cfg: PipelineConfig, trials: int, existing: int, seed: int | None
) -> optuna.samplers.BaseSampler:
    """TPE (with optuna's constant liar, so parallel workers spread out); random for the first third of
    the budget. The seed follows the config's seed and the trials already in the study, so a resumed
    study does not replay its earlier proposals (workers started together pass their own seed)."""
    import optuna

    s = seed if seed is not None else seed_for(cfg.seed, "tune", existing)
    return optuna.samplers.TPESampler(seed=s, n_startup_trials=max(3, min(10, trials // 3)))


def _pruner(cfg: PipelineConfig, pruning: bool) -> optuna.pruners.BasePruner:
    """Median rule: after three trials, stop one whose score lags the median at the same epoch; never
    in the first quarter of training (every net starts badly)."""
    import optuna

    if not pruning:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=3, n_warmup_steps=max(1, (cfg.train.epochs or 1) // 4)
    )


def _space(cfg: PipelineConfig) -> Space:
    space = backend(cfg.train.model).Hyper.hyperparameter_space()
    if not space:
        raise ConfigError(f"model {cfg.train.model} declares no search space (Hyper.hyperparameter_space)")
    return space


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(done, key=lambda t: (t.value, -t.number)) if done else None


def _start_from_config(study: optuna.Study, start: dict[str, Any]) -> None:
    """Make the config's own settings the next trial unless one with them is finished, running or
    waiting (a first trial that failed, e.g. under SIGTERM, is tried again on the next run)."""
    from optuna.trial import TrialState

    live = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.FAIL]
    if not any(t.system_attrs.get("fixed_params", t.params) == start for t in live):
        study.enqueue_trial(start)


def _keep_best(write: Callable[..., Path], study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """After each trial: rewrite the best config when this trial is the new best (a kill keeps it)."""
    from optuna.trial import TrialState

    best = _best(study)
    if trial.state == TrialState.COMPLETE and best is not None and best.number == trial.number:
        write(trial)


def _checked(
    config_path: Path, objective: str, trials: int, timeout: float | None, mlflow_uri: str | None
) -> PipelineConfig:
    """The config (with `--mlflow` applied) after every check that needs no work done."""
    cfg = load_config(config_path)
    if mlflow_uri is not None:
        cfg = cfg.model_copy(update={"tracking": with_mlflow_uri(cfg.tracking, mlflow_uri)})
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if trials < 1 or (timeout is not None and timeout <= 0):
        raise ConfigError("--trials must be >= 1 and --timeout > 0")
    return cfg


def _optimize(
    study: optuna.Study, fn: Objective, trials: int, timeout: float | None, callbacks: list
) -> None:
    """Run trials until the study holds `trials` finished ones (across workers) or time is up."""
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    try:
        study.optimize(
            fn,
            n_trials=trials - finished_trials(study),
            timeout=timeout,
            callbacks=[MaxTrialsCallback(trials, states=finished), *callbacks],
            gc_after_trial=True,
        )
    except Terminated:  # the running trial is recorded as failed; the finished ones are kept
        raise Terminated(
            f"terminated by SIGTERM; run the same command again to resume study {study.study_name!r}"
        ) from None


def tune(
    config: str | Path,
    *,
    trials: int,
    timeout: float | None = None,
    objective: str = "synthetic-only",
    study: str | None = None,
    registry_url: str | None = None,
    storage_url: str | None = None,
    out: str | Path | None = None,
    pruning: bool = True,
    pruner: optuna.pruners.BasePruner | None = None,
    sampler_seed: int | None = None,
    mlflow_uri: str | None = None,
) -> TuneResult:
    """Run the study until it holds `trials` finished trials (or `timeout` seconds passed); see the
    module docstring. `out` defaults to ``<config stem>.tuned.yaml`` in the working directory;
    `mlflow_uri` mirrors every trial into MLflow (wins over the config's ``tracking.mlflow.uri``)."""
    import optuna

    config_path = Path(config)
    cfg = _checked(config_path, objective, trials, timeout, mlflow_uri)
    out_path = Path(out) if out is not None else Path(f"{config_path.stem}.tuned.yaml")
    ensure_writable(out_path, what="tuned config")
    url = resolve_url(registry_url or os.environ.get(ENV_VAR) or cfg.registry)
    space, name = _space(cfg), study or default_study_name(cfg, objective)
    where = storage_for(url, storage_url)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our own key=value lines say what happens
    st = open_study(
        open_storage(where), name, StudyKey.of(cfg, objective, set(space)), pruner or _pruner(cfg, pruning)
    )
    st.sampler = _sampler(cfg, trials, len(st.trials), sampler_seed)  # seeded by what the study holds
    _start_from_config(
        st, starting_point(space, parse_hyper(backend(cfg.train.model), cfg.train.hp).model_dump())
    )
    log.info(
        kv(event="tune_start", study=name, storage=where.masked, finished=finished_trials(st), trials=trials)
    )

    write = partial(
        write_best, out_path, config_path, cfg.train.model, space, how=f"study {name}, {objective}"
    )
    if finished_trials(st) < trials:
        deadline = time.monotonic() + timeout if timeout is not None else None
        with Registry(url) as reg, tune_data(cfg) as data, sigterm_raises():
            fn = Objective(cfg, data, space, objective, TrialRecorder(reg, name, objective), deadline)
            _optimize(st, fn, trials, timeout, [partial(_keep_best, write)])
    best = _best(st)
    if best is None:
        raise NoTrialCompleted(
            f"study {name!r}: no trial completed (all failed or were pruned); nothing to write"
        )
    write(best)
    log.info(
        kv(event="tune_end", study=name, best_trial=best.number, best_value=f"{best.value:.4f}", out=out_path)
    )
    return TuneResult(
        study=name,
        storage=where.masked,
        objective=objective,
        finished=finished_trials(st),
        best_number=best.number,
        best_value=float(best.value),
        best_params=decode(best.params, space),
        out=out_path,
        trials=st.get_trials(deepcopy=False),
    )
