"""The model file: data, never code. Version 2 is one safetensors file.

Layout: the safetensors header's metadata holds one JSON document (`format`, `version`, backend
name, schema YAML, config, typed hyperparameters, the fitted transformer's parameters, run metadata)
and the tensors hold the network weights (`net.*`) and the family's encoder arrays (rows: `tr.*`, id
embeddings, counts, clusters, numeric id values; histories: `enc.*`, see model/histories/encode.py).
What a family stores is its own (model/rows/state.py, model/histories/encode.py); this module is the
container and the JSON/tensor helpers they share. Loading parses JSON and raw tensors only, so a
hostile file can at worst be refused. Lightning's `last.ckpt` (resume) carries the same JSON document
and tensors in plain dicts, so it loads with `torch.load(weights_only=True)`.

Version 1 files (a `torch.save` pickle of Python objects, synthdata ≤ 0.1) can run code when loaded.
They are refused unless the caller passes `trust_legacy_pickle=True` (CLI: `--trust-legacy-pickle`)
for a file they made themselves; re-saving such a model writes version 2.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synthdata.atomic import atomic_write_bytes
from synthdata.errors import InputError

FORMAT = "synthdata-model"
VERSION = 2
LEGACY_FORMAT = "synthdata-gan"
REQUIRED = ("backend", "schema_yaml", "config", "hp")
STATE_KEYS = ("transformer", "encoder")  # a family's fitted encoder: rows call it "transformer"
Tensors = dict[str, torch.Tensor]


# --- values and arrays ------------------------------------------------------------------------------
def json_value(v: Any) -> Any:
    """One value as JSON (NaN/None/NA → null except float NaN kept; timestamps tagged)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, pd.Timestamp | np.datetime64):
        return {"ts": pd.Timestamp(v).isoformat()}
    if isinstance(v, bool | int | float | str):
        return v
    raise TypeError(f"cannot store a value of type {type(v).__name__} in a model file")


def py_value(v: Any) -> Any:
    return pd.Timestamp(v["ts"]) if isinstance(v, dict) else v


def put_array(arr: Any, key: str, tensors: Tensors) -> dict[str, Any]:
    """Numeric arrays become tensors; others a JSON list of values."""
    a = np.asarray(arr)
    if a.dtype.kind in "biuf":
        tensors[key] = torch.from_numpy(np.ascontiguousarray(a).copy())
        return {"tensor": key}
    if a.dtype.kind == "M":
        tensors[key] = torch.from_numpy(a.astype("datetime64[ns]").view(np.int64).copy())
        return {"tensor": key, "numpy": "datetime64[ns]"}
    return {"values": [json_value(v) for v in a.tolist()]}


def get_array(desc: dict[str, Any], tensors: Tensors) -> np.ndarray:
    if "tensor" in desc:
        a = tensors[desc["tensor"]].numpy()
        return a.view(desc["numpy"]) if "numpy" in desc else a
    out = np.empty(len(desc["values"]), dtype=object)
    out[:] = [py_value(v) for v in desc["values"]]
    return out


def put_dtype(dtype: Any, tensors: Tensors, key: str) -> dict[str, Any]:
    if isinstance(dtype, pd.CategoricalDtype):
        return {"categorical": put_array(dtype.categories.to_numpy(), key, tensors), "ordered": dtype.ordered}
    return {"dtype": str(dtype)}


def get_dtype(desc: dict[str, Any], tensors: Tensors) -> Any:
    if "categorical" in desc:
        return pd.CategoricalDtype(get_array(desc["categorical"], tensors), ordered=desc["ordered"])
    return pd.api.types.pandas_dtype(desc["dtype"])


def put_frame(df: pd.DataFrame, key: str, tensors: Tensors) -> dict[str, Any]:
    cols = []
    for i, c in enumerate(df.columns):
        s = df[c]
        plain = s.dtype.kind in "biufM" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        data = s.to_numpy() if plain else s.astype(object).to_numpy()
        cols.append(
            {
                "name": c,
                "dtype": put_dtype(s.dtype, tensors, f"{key}.{i}.cats"),
                "data": put_array(data, f"{key}.{i}", tensors),
            }
        )
    return {"rows": len(df), "columns": cols}


def get_frame(desc: dict[str, Any], tensors: Tensors) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.RangeIndex(desc["rows"]))
    for c in desc["columns"]:
        s = pd.Series(get_array(c["data"], tensors))
        with contextlib.suppress(TypeError, ValueError):  # else keep object values: sampling restores dtypes
            s = s.astype(get_dtype(c["dtype"], tensors))
        out[c["name"]] = s
    return out


def json_num(x: Any) -> Any:
    """float for JSON; NaN/inf as strings so the document stays standard JSON."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def py_num(x: Any) -> Any:
    return float(x) if isinstance(x, str) else x


# --- the file ---------------------------------------------------------------------------------------
def write_model(path: Path, doc: dict[str, Any], tensors: Tensors) -> Path:
    """Write the container through a temp file renamed into place (never through a link)."""
    from safetensors.torch import save

    blob = save(
        {k: v.detach().cpu().contiguous() for k, v in tensors.items()},
        metadata={"synthdata": json.dumps({"format": FORMAT, "version": VERSION, **doc})},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, blob)


def is_pickle(path: Path) -> bool:
    """torch.save zip archives and raw pickles (version 1): both would run code if unpickled."""
    with path.open("rb") as f:
        head = f.read(9)
    safetensors = len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 1 << 32
    return not safetensors and (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80")


def read_model(path: Path) -> tuple[dict[str, Any], Tensors]:
    """(JSON document, tensors) of a model file; every failure is a one-line InputError naming it.

    Nothing in the file is unpickled: a pickle (version 1) is refused by its first bytes.
    """
    if not path.is_file():
        raise InputError("model file not found", path=str(path))
    if is_pickle(path):
        raise InputError(
            "this is a version-1 model file (a Python pickle, which can run code when loaded); "
            "retrain it with `synthdata train`, or if you made it yourself load it once with "
            "--trust-legacy-pickle (Python: trust_legacy_pickle=True) and save it again",
            path=str(path),
        )
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        doc = json.loads(meta["synthdata"])
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError) as e:
        why = "no synthdata metadata" if isinstance(e, KeyError) else str(e).splitlines()[0][:200]
        raise InputError(f"cannot read model file: not a synthdata model ({why})", path=str(path)) from None
    check_doc(doc, path)
    return doc, tensors


def check_doc(doc: Any, path: Path) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InputError("not a synthdata model file (saved by Synthesizer.save)", path=str(path))
    if doc.get("version") != VERSION:
        raise InputError(f"model format version {doc.get('version')} is not supported", path=str(path))
    missing = [k for k in REQUIRED if k not in doc]
    if not any(k in doc for k in STATE_KEYS):
        missing.append("transformer")
    if missing:
        raise InputError(
            f"model file lacks {', '.join(missing)} (damaged or not saved by synthdata)", path=str(path)
        )


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A Lightning checkpoint (last.ckpt/best.ckpt) as plain data; damaged → one-line InputError."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (
        pickle.UnpicklingError,
        EOFError,
        RuntimeError,
        OSError,
        ValueError,
        io.UnsupportedOperation,
    ) as e:
        raise InputError(
            f"checkpoint is damaged or not a synthdata checkpoint ({str(e).splitlines()[0][:160]}); "
            "delete it to train from scratch",
            path=str(path),
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise InputError("not a synthdata training checkpoint", path=str(path))
    return state
