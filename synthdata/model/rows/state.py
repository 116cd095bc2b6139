"""The row family's saved state: the fitted `DataTransformer` as (JSON document, tensors).

The container (one safetensors file, JSON in its metadata) is shared by every family: see
synthdata.model.checkpoint. This module only says what a row model's encoder is made of.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from synthdata.model.checkpoint import (
    Tensors,
    get_array,
    get_dtype,
    get_frame,
    json_num,
    json_value,
    put_array,
    put_dtype,
    put_frame,
    py_num,
    py_value,
)
from synthdata.model.rows.columns import ColumnInfo, IdCatalogue, SpanInfo
from synthdata.model.rows.transform import DataTransformer
from synthdata.schema import Role, Schema

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
        d |= {k: json_num(getattr(c, k)) for k in _COL_FLOATS}
        d["spans"] = [[s.dim, s.activation] for s in c.spans]
        d["role"] = c.role.value if c.role is not None else None
        for k in _COL_VECTORS:
            v = getattr(c, k)
            d[k] = None if v is None else [json_num(x) for x in np.asarray(v, dtype=np.float64)]
        d["valid"] = None if c.valid is None else [bool(x) for x in c.valid]
        d["categories"] = None if c.categories is None else put_array(c.categories, f"tr.col{i}.cats", t)
        d["constant"] = json_value(c.constant) if not isinstance(c.constant, float) else json_num(c.constant)
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
            "attributes": put_frame(cat.attributes, p + "attr", t),
        }
    doc = {
        **{k: getattr(tr, k) for k in _TR_SCALARS},
        "columns": cols,
        "catalogues": cats,
        "attribute_owner": tr.attribute_owner,
        "ignored": {k: put_array(v, f"tr.ignored.{k}", t) for k, v in tr.ignored.items()},
        "output_columns": tr.output_columns,
        "dtypes": {k: put_dtype(v, t, f"tr.dtype.{k}") for k, v in tr.dtypes.items()},
    }
    return doc, t


def transformer_from_state(doc: dict[str, Any], tensors: Tensors, schema: Schema) -> DataTransformer:
    tr = DataTransformer(schema, **{k: doc[k] for k in _TR_SCALARS})
    for d in doc["columns"]:
        c = ColumnInfo(name=d["name"], kind=d["kind"], spans=[SpanInfo(int(n), a) for n, a in d["spans"]])
        for k in _COL_SCALARS:
            setattr(c, k, d[k])
        for k in _COL_FLOATS:
            setattr(c, k, py_num(d[k]))
        for k in _COL_VECTORS:
            setattr(c, k, None if d[k] is None else np.array([py_num(x) for x in d[k]], dtype=np.float64))
        c.valid = None if d["valid"] is None else np.array(d["valid"], dtype=bool)
        c.categories = None if d["categories"] is None else get_array(d["categories"], tensors).astype(object)
        c.role = Role(d["role"]) if d["role"] is not None else None
        c.constant = py_value(py_num(d["constant"])) if d["constant"] is not None else None
        tr.columns.append(c)
    for name, cd in doc["catalogues"].items():
        p = f"tr.{name}."
        tr.catalogues[name] = IdCatalogue(
            column=name,
            values=get_array(cd["values"], tensors),
            counts=tensors[p + "counts"].numpy(),
            embeddings=tensors[p + "embeddings"].numpy(),
            attributes=get_frame(cd["attributes"], tensors),
            cluster=tensors[p + "cluster"].numpy(),
            centroids=tensors[p + "centroids"].numpy(),
        )
    tr.attribute_owner = dict(doc["attribute_owner"])
    tr.ignored = {k: get_array(v, tensors) for k, v in doc["ignored"].items()}
    tr.output_columns = list(doc["output_columns"])
    tr.dtypes = {k: get_dtype(v, tensors) for k, v in doc["dtypes"].items()}
    return tr
