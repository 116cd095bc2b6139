"""Quality gates: conditions on metrics.json that must hold before synthetic data is exported.

Example (config): ``{metric: recsys.delta.cold.recall.mean, op: ">=", value: -0.01}`` reads
"augmented recall@k on cold users is not below real-only by more than 0.01";
``{metric: privacy.exact_copy_rate, op: "<=", value: 0.0}`` forbids copied training rows;
``{metric: recsys.verdict.cold, op: "==", value: helps}`` exports only when the verdict on cold users is
`helps` (string metrics compare with == / != only).
A metric path that does not exist is a config error (exit 2), not a silent pass, unless the gate says
``optional: true`` (a metric only some models produce, e.g. ``privacy.users.*`` for histories models):
then the gate is reported as SKIP and does not block.
"""

from __future__ import annotations

import difflib
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from synthdata.errors import ConfigError
from synthdata.pipeline.config import GateConfig

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class GateResult:
    gate: GateConfig
    actual: float | str | None
    passed: bool
    skipped: bool = False  # an optional gate whose metric this run does not produce

    def describe(self) -> str:
        a = self.actual
        if self.skipped:
            return f"SKIP {self.gate.label} (metric not produced by this run)"
        got = "missing" if a is None else a if isinstance(a, str) else f"{a:.6g}"
        return f"{'PASS' if self.passed else 'FAIL'} {self.gate.label} (actual {got})"


def _leaves(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, Mapping):
        return [p for k, v in node.items() for p in _leaves(v, f"{prefix}{k}.")]
    return [prefix.rstrip(".")]


def lookup(metrics: Mapping[str, Any], path: str) -> Any:
    """Resolve a dotted path; keys may themselves contain dots (tried longest first)."""
    node: Any = metrics
    rest = path
    while rest:
        if not isinstance(node, Mapping):
            raise KeyError(path)
        parts = rest.split(".")
        for i in range(len(parts), 0, -1):
            key = ".".join(parts[:i])
            if key in node:
                node, rest = node[key], ".".join(parts[i:])
                break
        else:
            raise KeyError(path)
    return node


def evaluate_gates(gates: list[GateConfig], metrics: Mapping[str, Any]) -> list[GateResult]:
    """Check every gate (all are reported, not just the first failure). NaN never passes."""
    results = []
    for g in gates:
        try:
            raw = lookup(metrics, g.metric)
        except KeyError:
            if g.optional:
                results.append(GateResult(g, None, True, skipped=True))
                continue
            close = difflib.get_close_matches(g.metric, _leaves(metrics), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"gates: metric {g.metric!r} not found in metrics.json{hint}") from None
        if isinstance(raw, Mapping) and "mean" in raw:
            raw = raw["mean"]
        if raw is None:
            results.append(GateResult(g, None, False))
            continue
        if isinstance(g.value, str) or isinstance(raw, str):
            if not (isinstance(g.value, str) and isinstance(raw, str)):
                got = f"{type(raw).__name__} {raw!r}"
                raise ConfigError(f"gates: metric {g.metric!r} is {got} but the gate value is {g.value!r}")
            results.append(GateResult(g, raw, OPS[g.op](raw, g.value)))
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ConfigError(f"gates: metric {g.metric!r} is not a number (got {type(raw).__name__})")
        x = float(raw)
        results.append(GateResult(g, x, math.isfinite(x) and OPS[g.op](x, g.value)))
    return results
