"""What a tracked run carries, as plain dicts and files: params, metrics, tags, plots.

Backend-neutral (no MLflow here): the same flattening the registry uses (`synthdata.registry.flatten`,
secrets masked on the way), so MLflow and the registry show the same keys for the same run.
"""

from __future__ import annotations

import base64
import html
import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synthdata.registry.flatten import flatten_metrics, flatten_params

_IMG_RE = re.compile(r"<img alt='([^']*)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'>")


def params_of(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A config tree as ``dotted.key -> text`` (URLs masked; strings bare, everything else JSON)."""
    out = {}
    for k, v in flatten_params(tree, prefix).items():
        value = json.loads(v)
        out[k] = value if isinstance(value, str) else v
    return out


def typed_hp(model: str, hp: Mapping[str, Any]) -> dict[str, str]:
    """Every hyperparameter of the model's family as it trains (defaults filled in), as ``hp.*``."""
    from synthdata.model.family import parse_hyper  # torch: only when a run is tracked
    from synthdata.model.registry import backend

    return params_of(parse_hyper(backend(model), dict(hp)).model_dump(mode="json"), "hp.")


def metrics_of(metrics: Mapping[str, Any]) -> dict[str, float]:
    """A metrics.json tree as ``dotted.key -> value`` (the registry's keys; verdict codes included).

    The evaluation's own settings (``config.*``) are params of the run, not metrics."""
    tree = {k: v for k, v in metrics.items() if k != "config"}
    return {k: v for k, (v, _lo, _hi) in flatten_metrics(tree).items() if v is not None}


def model_tags(meta: Mapping[str, Any]) -> dict[str, str]:
    """Tags from a fitted model's meta: family, model, the training table's data fingerprint."""
    keys = {
        "model": "synthdata.model",
        "family": "synthdata.family",
        "data_fingerprint": "synthdata.data_fingerprint",
    }
    return {tag: str(meta[k]) for k, tag in keys.items() if meta.get(k) is not None}


def model_metrics(meta: Mapping[str, Any]) -> dict[str, float]:
    """The numbers of a fit (epochs trained, best model-selection score, seconds) as ``model.*``."""
    return {
        f"model.{k}": float(v)
        for k, v in meta.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def model_meta(path: Path) -> dict[str, Any]:
    """The meta of a saved model file, read from its header only (no tensors loaded)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            doc = json.loads((f.metadata() or {})["synthdata"])
    except Exception:
        return {}  # a missing or unreadable model has no meta to mirror
    meta = doc.get("meta") if isinstance(doc, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def report_plots(report: Path, folder: Path) -> list[Path]:
    """Write the PNG plots embedded in an HTML report as files (`folder/<title>.png`)."""
    if not report.is_file():
        return []
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for title, data in _IMG_RE.findall(report.read_text(encoding="utf-8")):
        slug = re.sub(r"[^a-z0-9]+", "-", html.unescape(title).lower()).strip("-") or "plot"
        path = folder / f"{slug}.png"
        path.write_bytes(base64.b64decode(data))
        out.append(path)
    return out


def git_commit(where: Path | None = None) -> str | None:
    """The commit of the checkout synthdata runs from (None outside a git checkout)."""
    if where is None:
        import synthdata

        where = Path(synthdata.__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", sha) else None
