"""Evaluation: does adding synthetic rows make a collaborative-filtering recommender better, for whom,
and is the synthetic data faithful and safe? See `evaluate`. This package works on DataFrames and a
Schema only; the split → fit → generate → evaluate orchestration is synthdata.pipeline.experiment.

Names are imported lazily so `synthdata.evaluate.config` (used by the pipeline config) stays cheap to
import: the evaluation stack pulls in scipy.stats, sklearn and implicit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from synthdata.callable_module import make_callable

if TYPE_CHECKING:
    from synthdata.evaluate.api import evaluate
    from synthdata.evaluate.config import EvalConfig

__all__ = ["EvalConfig", "evaluate"]

_WHERE = {
    "EvalConfig": "synthdata.evaluate.config",
    "evaluate": "synthdata.evaluate.api",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'synthdata.evaluate' has no attribute {name!r}")


make_callable(__name__, "evaluate")  # `synthdata.evaluate(...)` is `evaluate(...)`: the top-level API
