"""Flatten config and metrics trees into registry rows (params/metrics), masking secrets on the way.

Why separate from the store: pure functions over plain dicts, shared by the store (writes) and its
readers (a row written by an older version is masked again when shown).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthdata.db import looks_like_url
from synthdata.masking import mask_text, mask_url


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def mask_value(value: Any) -> Any:
    """Mask passwords in any string (recursively): whole URLs, URLs inside text, ``password=...``."""
    if isinstance(value, str):
        return mask_url(value) if looks_like_url(value) else mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value


def flatten_params(cfg: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"epochs": 3}}`` -> ``{"train.epochs": "3"}`` (values JSON-encoded, URLs masked)."""
    out: dict[str, str] = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, f"{key}."))
        else:
            out[key] = json.dumps(mask_value(v), sort_keys=True, default=str)
    return out


_CI_PAIRS = (("ci_low", "ci_high"), ("lo", "hi"), ("low", "high"), ("lower", "upper"))
_POINT_KEYS = ("mean", "value", "estimate")


def _as_float(x: Any) -> float | None:
    """A number (bools count) as a float; anything else None."""
    if isinstance(x, bool):
        return float(x)
    if isinstance(x, int | float):
        return float(x)
    return None


def _ci_of(d: Mapping[str, Any]) -> tuple[float | None, float | None, set[str]] | None:
    ci = d.get("ci")
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(_as_float(c) is not None or c is None for c in ci)
    ):
        return (
            _as_float(ci[0]) if ci[0] is not None else None,
            _as_float(ci[1]) if ci[1] is not None else None,
            {"ci"},
        )
    for lo, hi in _CI_PAIRS:
        if lo in d and hi in d and _as_float(d[lo]) is not None and _as_float(d[hi]) is not None:
            return _as_float(d[lo]), _as_float(d[hi]), {lo, hi}
    return None


def flatten_metrics(
    metrics: Mapping[str, Any], prefix: str = ""
) -> dict[str, tuple[float | None, float | None, float | None]]:
    """Flatten a metrics.json tree to ``key -> (value, ci_low, ci_high)``.

    Numeric leaves become keys by their dotted path. A dict holding a point estimate (``mean``/
    ``value``) next to an interval (``ci: [lo, hi]`` or ``ci_low``/``ci_high``) yields one row for the
    point key carrying the interval, rather than separate rows for the bounds. Lists of numbers are
    indexed (``key.0``); NaN/inf are stored as NULL (portable across databases).
    """
    out: dict[str, tuple[float | None, float | None, float | None]] = {}

    def clean(x: float | None) -> float | None:
        return x if x is not None and math.isfinite(x) else None

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            ci = _ci_of(node)
            consumed: set[str] = set()
            if ci is not None:
                lo, hi, consumed = ci
                point = next((p for p in _POINT_KEYS if _as_float(node.get(p)) is not None), None)
                if point is not None:
                    out[f"{key}.{point}" if key else point] = (
                        clean(_as_float(node[point])),
                        clean(lo),
                        clean(hi),
                    )
                    consumed = consumed | {point}
                else:
                    consumed = set()
            for k, v in node.items():
                if k not in consumed:
                    walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list | tuple):
            for i, v in enumerate(node):
                walk(v, f"{key}.{i}")
        else:
            x = _as_float(node)
            if x is not None and key:
                out[key] = (clean(x), None, None)

    walk(metrics, prefix.rstrip("."))
    return out
