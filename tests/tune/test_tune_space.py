"""Every backend's declared search space fits its typed hyperparameters, and round-trips through optuna."""

from __future__ import annotations

import optuna
import pytest

from synthdata.model.family import parse_hyper
from synthdata.model.registry import BACKENDS
from synthdata.model.space import Choice, Float, Int
from synthdata.tune.space import as_yaml, decode, starting_point, suggest


@pytest.mark.parametrize("model", sorted(BACKENDS))
def test_space_names_fields_and_every_bound_validates(model: str) -> None:
    hyper = BACKENDS[model].Hyper
    space = hyper.hyperparameter_space()
    assert space, f"{model} declares no search space"
    assert set(space) <= set(hyper.model_fields), set(space) - set(hyper.model_fields)
    for name, dim in space.items():
        values = list(dim.options) if isinstance(dim, Choice) else [dim.low, dim.high]
        for v in values:
            parse_hyper(BACKENDS[model], {name: v})  # raises ConfigError when out of the field's range


@pytest.mark.parametrize("model", sorted(BACKENDS))
def test_defaults_lie_inside_the_space_and_start_the_study(model: str) -> None:
    """The first trial of a new study is the config's own settings: every default must be a candidate."""
    space = BACKENDS[model].Hyper.hyperparameter_space()
    defaults = parse_hyper(BACKENDS[model], {}).model_dump()
    start = starting_point(space, defaults)
    assert set(start) == set(space)
    assert decode(start, space) == {k: defaults[k] for k in space}


@pytest.mark.parametrize("model", sorted(BACKENDS))
def test_random_trials_give_valid_hyperparameters_that_round_trip(model: str) -> None:
    space = BACKENDS[model].Hyper.hyperparameter_space()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(15):
        trial = study.ask()
        hp = suggest(trial, space)
        parsed = parse_hyper(BACKENDS[model], as_yaml(hp))  # YAML form (lists) is what a config holds
        assert {k: getattr(parsed, k) for k in hp} == hp
        assert decode(trial.params, space) == hp
        for name, dim in space.items():
            if isinstance(dim, Float | Int):
                assert dim.low <= hp[name] <= dim.high
        study.tell(trial, 0.0)


def test_starting_point_leaves_out_values_outside_the_space() -> None:
    space = {"lr": Float(1e-4, 1e-2, log=True), "hidden": Choice(((300,), (600,))), "k": Int(1, 5)}
    assert starting_point(space, {"lr": 0.5, "hidden": [600], "k": 3}) == {"hidden": "600", "k": 3}


def test_bad_dimensions_are_refused() -> None:
    with pytest.raises(ValueError):
        Float(1.0, 1.0)
    with pytest.raises(ValueError):
        Float(0.0, 1.0, log=True)
    with pytest.raises(ValueError):
        Choice(((1, 2), (1, 2)))
