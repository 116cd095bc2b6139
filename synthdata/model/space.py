"""Search spaces, declared next to each backend's typed hyperparameters.

A backend's `Hyper` says which of its settings are worth searching and over what range
(`Hyper.hyperparameter_space()`); the tuner (synthdata.tune) turns each dimension into a
`trial.suggest_*` call. The spec is plain data, so the model package never imports optuna and a test
can check every space against the settings it describes (each name a field, each bound valid).

A dimension's name is a field of the Hyper; `Choice` options may be tuples (layer widths): optuna
stores categorical values as text, so each option has a label (``600x200``) that maps back to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Float:
    """A real number in [low, high]; `log` samples its logarithm uniformly (learning rates)."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ValueError(f"bad Float range [{self.low}, {self.high}] (log={self.log})")

    def contains(self, value: Any) -> bool:
        return isinstance(value, int | float) and self.low <= float(value) <= self.high


@dataclass(frozen=True)
class Int:
    """An integer in [low, high]; `log` samples its logarithm uniformly (widths, counts)."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low < 1):
            raise ValueError(f"bad Int range [{self.low}, {self.high}] (log={self.log})")

    def contains(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and self.low <= value <= self.high


@dataclass(frozen=True)
class Choice:
    """One of a few options (numbers, text, or tuples such as layer widths)."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        labels = [label(o) for o in self.options]
        if len(self.options) < 2 or len(set(labels)) != len(labels):
            raise ValueError(f"a Choice needs at least two distinct options, got {self.options!r}")

    @property
    def labels(self) -> list[Any]:
        return [label(o) for o in self.options]

    def option(self, chosen_label: Any) -> Any:
        """The option a stored label stands for."""
        return dict(zip(self.labels, self.options, strict=True))[chosen_label]

    def contains(self, value: Any) -> bool:
        return label(_as_tuple(value)) in self.labels


Dim = Float | Int | Choice
Space = dict[str, Dim]


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def label(option: Any) -> Any:
    """How an option is stored: numbers, text and booleans as they are; a tuple as ``600x200``."""
    if isinstance(option, tuple):
        return "x".join(str(x) for x in option)
    return option
