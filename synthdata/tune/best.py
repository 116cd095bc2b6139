"""The best trial as a pipeline config that `synthdata run` takes as it is.

Written from the *original* YAML, not from the parsed config: ``${ENV}`` references stay references
(a database password never lands in the file), every other key stays as the user wrote it. Only
`train.model` (the model the study searched) and the searched `train.hp` keys change, the name gets a
``-tuned`` suffix, and relative source paths become absolute so the file works from any folder. The
result is validated as a pipeline config before it is renamed into place (atomic: a kill never
leaves half a file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from synthdata.atomic import atomic_write_text
from synthdata.errors import ConfigError
from synthdata.model.space import Space
from synthdata.pipeline.config import parse_config
from synthdata.tune.space import as_yaml, decode

if TYPE_CHECKING:
    import optuna

_SOURCE_PATHS = ("path", "schema", "user_attributes", "item_attributes")


def raw_config(path: Path) -> dict[str, Any]:
    """The config file's mapping as written (load_config has already validated it)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"pipeline config {path} must be a mapping at the top level")
    return data


def tuned_config(raw: dict[str, Any], base: Path, model: str, hp: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the tuned model settings; relative source paths resolved against `base`."""
    out = dict(raw)
    src = dict(out.get("source") or {})
    for key in _SOURCE_PATHS:
        v = src.get(key)
        if isinstance(v, str) and "${" not in v and not Path(v).expanduser().is_absolute():
            src[key] = str((base / Path(v).expanduser()).resolve())
    out["source"] = src
    train = dict(out.get("train") or {})
    train["model"] = model
    train["hp"] = {**(train.get("hp") or {}), **as_yaml(hp)}
    out["train"] = train
    out["name"] = f"{raw.get('name', 'pipeline')}-tuned"[:200]
    return out


def write_best(
    out: Path, config_path: Path, model: str, space: Space, trial: optuna.trial.FrozenTrial, *, how: str
) -> Path:
    """Write the best trial's config to `out` (a comment header says where it came from)."""
    data = tuned_config(
        raw_config(config_path), config_path.resolve().parent, model, decode(trial.params, space)
    )
    parse_config(data, origin=str(out), base=out.resolve().parent)  # what `synthdata run` will check
    header = (
        f"# written by `synthdata tune {config_path}`: {how}\n"
        f"# best trial {trial.number}: objective {trial.value:.6g} on the validation split\n"
    )
    return atomic_write_text(out, header + yaml.safe_dump(data, sort_keys=False))
