"""A backend's declared search space (synthdata.model.space) as optuna suggestions, and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthdata.model.space import Choice, Float, Int, Space, label

if TYPE_CHECKING:
    import optuna


def suggest(trial: optuna.Trial, space: Space) -> dict[str, Any]:
    """One value per dimension, as the backend's Hyper takes it (tuples for layer widths)."""
    out: dict[str, Any] = {}
    for name, dim in space.items():
        if isinstance(dim, Float):
            out[name] = trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        elif isinstance(dim, Int):
            out[name] = trial.suggest_int(name, dim.low, dim.high, log=dim.log)
        else:
            out[name] = dim.option(trial.suggest_categorical(name, dim.labels))
    return out


def decode(params: dict[str, Any], space: Space) -> dict[str, Any]:
    """A stored trial's parameters (categorical labels) as Hyper values; names outside `space` kept."""
    out = {}
    for name, value in params.items():
        dim = space.get(name)
        out[name] = dim.option(value) if isinstance(dim, Choice) else value
    return out


def as_yaml(values: dict[str, Any]) -> dict[str, Any]:
    """Hyper values as a YAML config writes them (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def starting_point(space: Space, current: dict[str, Any]) -> dict[str, Any]:
    """The config's own values of the searched settings, as stored parameters: the first trial of a new
    study, so the defaults are always among the candidates (values outside the space are sampled)."""
    out = {}
    for name, dim in space.items():
        value = current.get(name)
        if value is not None and dim.contains(value):
            out[name] = label(tuple(value) if isinstance(value, list) else value)
    return out
