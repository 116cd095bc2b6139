"""The model file: data, never code. Version 2 is one safetensors file.

Layout: the safetensors header's metadata holds one JSON document (`format`, `version`, backend
name, schema YAML, config, typed hyperparameters, the fitted transformer's parameters, run metadata)
and the tensors hold the network weights (`net.*`) and the transformer's large arrays (`tr.*`: id
embeddings, counts, clusters, numeric id values). Loading parses JSON and raw tensors only, so a
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
from synthdata.model.columns import ColumnInfo, IdCatalogue, SpanInfo
from synthdata.model.transform import DataTransformer
from synthdata.schema import Role, Schema

FORMAT = "synthdata-model"
VERSION = 2
LEGACY_FORMAT = "synthdata-gan"
REQUIRED = ("backend", "schema_yaml", "config", "hp", "transformer")
Tensors = dict[str, torch.Tensor]


# --- values and arrays ------------------------------------------------------------------------------
def _jv(v: Any) -> Any:
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


def _pv(v: Any) -> Any:
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
    return {"values": [_jv(v) for v in a.tolist()]}


def get_array(desc: dict[str, Any], tensors: Tensors) -> np.ndarray:
    if "tensor" in desc:
        a = tensors[desc["tensor"]].numpy()
        return a.view(desc["numpy"]) if "numpy" in desc else a
    out = np.empty(len(desc["values"]), dtype=object)
    out[:] = [_pv(v) for v in desc["values"]]
    return out


def _put_dtype(dtype: Any, tensors: Tensors, key: str) -> dict[str, Any]:
    if isinstance(dtype, pd.CategoricalDtype):
        return {"categorical": put_array(dtype.categories.to_numpy(), key, tensors), "ordered": dtype.ordered}
    return {"dtype": str(dtype)}


def _get_dtype(desc: dict[str, Any], tensors: Tensors) -> Any:
    if "categorical" in desc:
        return pd.CategoricalDtype(get_array(desc["categorical"], tensors), ordered=desc["ordered"])
    return pd.api.types.pandas_dtype(desc["dtype"])


def _put_frame(df: pd.DataFrame, key: str, tensors: Tensors) -> dict[str, Any]:
    cols = []
    for i, c in enumerate(df.columns):
        s = df[c]
        plain = s.dtype.kind in "biufM" and not isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        data = s.to_numpy() if plain else s.astype(object).to_numpy()
        cols.append(
            {
                "name": c,
                "dtype": _put_dtype(s.dtype, tensors, f"{key}.{i}.cats"),
                "data": put_array(data, f"{key}.{i}", tensors),
            }
        )
    return {"rows": len(df), "columns": cols}


def _get_frame(desc: dict[str, Any], tensors: Tensors) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.RangeIndex(desc["rows"]))
    for c in desc["columns"]:
        s = pd.Series(get_array(c["data"], tensors))
        with contextlib.suppress(TypeError, ValueError):  # else keep object values: sampling restores dtypes
            s = s.astype(_get_dtype(c["dtype"], tensors))
        out[c["name"]] = s
    return out


def _num(x: Any) -> Any:
    """float for JSON; NaN/inf as strings so the document stays standard JSON."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else repr(x)


def _unnum(x: Any) -> Any:
    return float(x) if isinstance(x, str) else x


# --- transformer ------------------------------------------------------------------------------------
_COL_SCALARS = (
    "name",
    "kind",
    "start",
    "integer",
    "datetime",
    "has_null",
    "gap_high",
    "gap_datetime",
    "gap_integer",
)
_COL_FLOATS = ("loc", "scale", "lo", "hi", "gap_min")
_COL_VECTORS = ("frequencies", "means", "stds", "log_weights")
_TR_SCALARS = ("n_modes", "bgm_rows", "bgm_iter", "max_discrete_int", "max_categories", "id_dim", "seed")


def transformer_state(tr: DataTransformer) -> tuple[dict[str, Any], Tensors]:
    """The fitted transformer as (JSON document, tensors)."""
    t: Tensors = {}
    cols = []
    for i, c in enumerate(tr.columns):
        d: dict[str, Any] = {k: getattr(c, k) for k in _COL_SCALARS}
        d |= {k: _num(getattr(c, k)) for k in _COL_FLOATS}
        d["spans"] = [[s.dim, s.activation] for s in c.spans]
        d["role"] = c.role.value if c.role is not None else None
        for k in _COL_VECTORS:
            v = getattr(c, k)
            d[k] = None if v is None else [_num(x) for x in np.asarray(v, dtype=np.float64)]
        d["valid"] = None if c.valid is None else [bool(x) for x in c.valid]
        d["categories"] = None if c.categories is None else put_array(c.categories, f"tr.col{i}.cats", t)
        d["constant"] = _jv(c.constant) if not isinstance(c.constant, float) else _num(c.constant)
        cols.append(d)
    cats = {}
    for name, cat in tr.catalogues.items():
        p = f"tr.{name}."
        t[p + "counts"] = torch.from_numpy(cat.counts.astype(np.int64))
        t[p + "embeddings"] = torch.from_numpy(np.ascontiguousarray(cat.embeddings, dtype=np.float32))
        t[p + "cluster"] = torch.from_numpy(cat.cluster.astype(np.int64))
        t[p + "centroids"] = torch.from_numpy(np.ascontiguousarray(cat.centroids, dtype=np.float32))
        cats[name] = {
            "values": put_array(cat.values, p + "values", t),
            "attributes": _put_frame(cat.attributes, p + "attr", t),
        }
    doc = {
        **{k: getattr(tr, k) for k in _TR_SCALARS},
        "columns": cols,
        "catalogues": cats,
        "attribute_owner": tr.attribute_owner,
        "ignored": {k: put_array(v, f"tr.ignored.{k}", t) for k, v in tr.ignored.items()},
        "output_columns": tr.output_columns,
        "dtypes": {k: _put_dtype(v, t, f"tr.dtype.{k}") for k, v in tr.dtypes.items()},
    }
    return doc, t


def transformer_from_state(doc: dict[str, Any], tensors: Tensors, schema: Schema) -> DataTransformer:
    tr = DataTransformer(schema, **{k: doc[k] for k in _TR_SCALARS})
    for d in doc["columns"]:
        c = ColumnInfo(name=d["name"], kind=d["kind"], spans=[SpanInfo(int(n), a) for n, a in d["spans"]])
        for k in _COL_SCALARS:
            setattr(c, k, d[k])
        for k in _COL_FLOATS:
            setattr(c, k, _unnum(d[k]))
        for k in _COL_VECTORS:
            setattr(c, k, None if d[k] is None else np.array([_unnum(x) for x in d[k]], dtype=np.float64))
        c.valid = None if d["valid"] is None else np.array(d["valid"], dtype=bool)
        c.categories = None if d["categories"] is None else get_array(d["categories"], tensors).astype(object)
        c.role = Role(d["role"]) if d["role"] is not None else None
        c.constant = _pv(_unnum(d["constant"])) if d["constant"] is not None else None
        tr.columns.append(c)
    for name, cd in doc["catalogues"].items():
        p = f"tr.{name}."
        tr.catalogues[name] = IdCatalogue(
            column=name,
            values=get_array(cd["values"], tensors),
            counts=tensors[p + "counts"].numpy(),
            embeddings=tensors[p + "embeddings"].numpy(),
            attributes=_get_frame(cd["attributes"], tensors),
            cluster=tensors[p + "cluster"].numpy(),
            centroids=tensors[p + "centroids"].numpy(),
        )
    tr.attribute_owner = dict(doc["attribute_owner"])
    tr.ignored = {k: get_array(v, tensors) for k, v in doc["ignored"].items()}
    tr.output_columns = list(doc["output_columns"])
    tr.dtypes = {k: _get_dtype(v, tensors) for k, v in doc["dtypes"].items()}
    return tr


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
