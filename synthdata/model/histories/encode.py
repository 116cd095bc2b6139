"""The histories family's encoder: users' positive item sets as a sparse matrix, user attributes as
vectors, item attributes by look-up, the other columns as item-conditional models, and the scheme
that gives virtual users ids no real user has.

Which interactions form a history: the schema's positive rule (all rows when it has none), as the
recommender sees them. Rows of a generated (virtual user, item) pair are therefore positives by
construction: their other columns are drawn from the item's *positive* rows (see columns.py).

Virtual ids (documented in docs/models.md): integer user ids continue at the smallest power of ten above
ten times the largest |real id| (943 → 10,000: readable and far from ids a later export may add);
string ids get the prefix `virtual-` (made longer with `_` while a real id starts with it) and a
number. Ids keep the column's dtype and are unique within one sampling call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdata.errors import InputError
from synthdata.model.checkpoint import (
    Tensors,
    get_array,
    get_dtype,
    get_frame,
    put_array,
    put_dtype,
    put_frame,
)
from synthdata.model.histories.columns import ItemColumns
from synthdata.schema import DType, Role, Schema


def positive_mask(df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """The schema's positive rule (same rule as evaluate's recommenders)."""
    rule = schema.positive
    if rule.column is None:
        return np.ones(len(df), dtype=bool)
    values = pd.to_numeric(df[rule.column], errors="coerce").to_numpy(dtype=np.float64)
    threshold = rule.min if rule.min is not None else np.finfo(np.float64).tiny
    return np.nan_to_num(values, nan=-np.inf) >= threshold


def history_key(items: np.ndarray) -> bytes:
    """A fixed-size fingerprint of an item set (order-free): finds exact copies of real histories."""
    return hashlib.blake2b(np.sort(np.asarray(items, dtype=np.int64)).tobytes(), digest_size=16).digest()


@dataclass
class HistoryEncoder:
    """sklearn-style `fit` on the training table; everything sampling needs, and nothing else."""

    schema: Schema
    max_discrete_int: int = 32
    max_categories: int = 64
    shrinkage: float = 5.0
    seed: int = 0
    user_ids: np.ndarray = field(default_factory=lambda: np.empty(0))
    item_ids: np.ndarray = field(default_factory=lambda: np.empty(0))
    indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    indices: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    user_attrs: pd.DataFrame = field(default_factory=pd.DataFrame)  # raw values, one row per user
    attr_matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    attr_layout: list[dict[str, Any]] = field(default_factory=list)
    item_attrs: pd.DataFrame = field(default_factory=pd.DataFrame)
    columns: ItemColumns | None = None
    output_columns: list[str] = field(default_factory=list)
    dtypes: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> HistoryEncoder:
        s = self.schema
        if len(df) == 0:
            raise InputError("the training table is empty: nothing to learn histories from")
        self.output_columns = list(df.columns)
        self.dtypes = {c: df[c].dtype for c in df.columns}
        pos = df.loc[positive_mask(df, s)]
        if len(pos) == 0:
            raise InputError(
                "no positive interaction in the training table (schema positive rule); a histories "
                "model learns users' positive item sets",
                column=s.positive.column,
            )
        self.user_ids = pd.unique(df[s.user_col])
        self.item_ids = pd.unique(df[s.item_col])
        u = pd.Index(self.user_ids).get_indexer(pos[s.user_col])
        i = pd.Index(self.item_ids).get_indexer(pos[s.item_col])
        pairs = np.unique(np.stack([u.astype(np.int64), i.astype(np.int64)]), axis=1)
        counts = np.bincount(pairs[0], minlength=len(self.user_ids))
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.indices = pairs[1].astype(np.int32)
        self._fit_attributes(df)
        others = [c for c in df.columns if c not in self._id_and_attribute_columns()]
        icodes = pd.Index(self.item_ids).get_indexer(pos[s.item_col])
        self.columns = ItemColumns(
            s, max_discrete_int=self.max_discrete_int, max_categories=self.max_categories
        ).fit(pos[others], icodes, len(self.item_ids), df[others])
        return self

    def _id_and_attribute_columns(self) -> set[str]:
        s = self.schema
        roles = (Role.USER_ID, Role.ITEM_ID, Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE)
        return {c.name for c in s.columns if c.role in roles}

    def _fit_attributes(self, df: pd.DataFrame) -> None:
        s = self.schema
        ua = [c.name for c in s.columns if c.role == Role.USER_ATTRIBUTE and c.name in df.columns]
        ia = [c.name for c in s.columns if c.role == Role.ITEM_ATTRIBUTE and c.name in df.columns]
        first_u = df.drop_duplicates(s.user_col).set_index(s.user_col)
        self.user_attrs = first_u.loc[self.user_ids, ua].reset_index(drop=True)
        first_i = df.drop_duplicates(s.item_col).set_index(s.item_col)
        self.item_attrs = first_i.loc[self.item_ids, ia].reset_index(drop=True)
        self.attr_layout = [self._attr_layout(c) for c in ua]
        self.attr_matrix = self.attribute_vectors(self.user_attrs)

    def _attr_layout(self, name: str) -> dict[str, Any]:
        """One-hot for labels (null a category of its own), standardised value + null flag for numbers."""
        s = self.user_attrs[name]
        spec = self.schema.column(name)
        if spec.dtype in (DType.INT, DType.FLOAT) and not isinstance(s.dtype, pd.CategoricalDtype):
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
            ok = np.isfinite(v)
            mean = float(v[ok].mean()) if ok.any() else 0.0
            std = float(v[ok].std()) if ok.sum() > 1 else 1.0
            return {"name": name, "kind": "number", "mean": mean, "std": std or 1.0}
        cats = sorted({str(x) for x in s.dropna().unique()})
        return {"name": name, "kind": "label", "categories": cats}

    def attribute_vectors(self, attrs: pd.DataFrame) -> np.ndarray:
        """The networks' view of user attributes (rows of `attrs`, columns as fitted)."""
        parts = [np.zeros((len(attrs), 0), np.float32)]
        for lay in self.attr_layout:
            s = attrs[lay["name"]]
            if lay["kind"] == "number":
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
                ok = np.isfinite(v)
                z = np.where(ok, (v - lay["mean"]) / lay["std"], 0.0)
                parts.append(np.stack([z, (~ok).astype(np.float64)], axis=1).astype(np.float32))
            else:
                cats = lay["categories"]
                codes = pd.Index(cats).get_indexer(
                    s.astype(object).where(s.notna(), None).map(lambda x: None if x is None else str(x))
                )
                codes = np.where(codes < 0, len(cats), codes)  # null and unseen: the extra slot
                parts.append(np.eye(len(cats) + 1, dtype=np.float32)[codes])
        return np.concatenate(parts, axis=1)

    # ------------------------------------------------------------------ views
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def attr_dim(self) -> int:
        return int(self.attr_matrix.shape[1])

    def lengths(self) -> np.ndarray:
        return np.diff(self.indptr)

    def active_ids(self) -> np.ndarray:
        """Real user ids with at least one positive (those neighbours can be made of)."""
        return self.user_ids[self.lengths() > 0]

    def history(self, u: int) -> np.ndarray:
        return self.indices[self.indptr[u] : self.indptr[u + 1]]

    def user_codes(self, ids: Any) -> np.ndarray:
        """Codes of real user ids; an unknown id is an input error naming it."""
        ids = np.asarray(list(ids), dtype=object)
        col = self.schema.user_col
        try:
            typed = pd.Series(ids).astype(self.dtypes[col])
        except (TypeError, ValueError):
            raise InputError(f"--like: ids {list(ids[:5])} are not of the user id type", column=col) from None
        codes = pd.Index(self.user_ids).get_indexer(typed)
        if (codes < 0).any():
            bad = ", ".join(map(str, ids[codes < 0][:5]))
            raise InputError(
                f"--like: user id(s) not in the training data: {bad}", column=self.schema.user_col
            )
        empty = self.lengths()[codes] == 0
        if empty.any():
            bad = ", ".join(map(str, ids[empty][:5]))
            raise InputError(
                f"--like: user(s) {bad} have no positive interaction to make neighbours of",
                column=self.schema.user_col,
            )
        return codes

    def training_keys(self) -> set[bytes]:
        return {
            history_key(self.history(u)) for u in range(self.n_users) if self.indptr[u + 1] > self.indptr[u]
        }

    def virtual_ids(self, start: int, n: int) -> pd.Series:
        """Ids `start … start+n-1` of the virtual-id scheme (module docstring), in the column's dtype."""
        dtype = self.dtypes[self.schema.user_col]
        ids = pd.Series(self.user_ids)
        num = np.arange(start, start + n, dtype=np.int64)
        if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
            top = int(np.nanmax(np.abs(pd.to_numeric(ids, errors="coerce")))) if len(ids) else 0
            base = 10 ** len(str(max(1, top) * 10))
            base = base if base < 2**62 else top + 1
            return pd.Series(base + num).astype(dtype)
        prefix = "virtual-"
        text = ids.astype(str)
        while text.str.startswith(prefix).any():
            prefix = "_" + prefix
        return pd.Series([f"{prefix}{k}" for k in num], dtype=object).astype(dtype)

    @property
    def meta(self) -> dict[str, Any]:
        lens = self.lengths()
        return {
            "users": self.n_users,
            "items": self.n_items,
            "positives": int(self.indices.size),
            "users_without_positives": int((lens == 0).sum()),
        }

    # ------------------------------------------------------------------ state
    def state(self) -> tuple[dict[str, Any], Tensors]:
        t: Tensors = {}
        assert self.columns is not None
        col_doc, col_t = self.columns.state("enc.col.")
        t |= col_t
        doc = {
            "max_discrete_int": self.max_discrete_int,
            "max_categories": self.max_categories,
            "shrinkage": self.shrinkage,
            "seed": self.seed,
            "user_ids": put_array(self.user_ids, "enc.user_ids", t),
            "item_ids": put_array(self.item_ids, "enc.item_ids", t),
            "indptr": put_array(self.indptr, "enc.indptr", t),
            "indices": put_array(self.indices, "enc.indices", t),
            "user_attrs": put_frame(self.user_attrs, "enc.user_attrs", t),
            "item_attrs": put_frame(self.item_attrs, "enc.item_attrs", t),
            "attr_layout": self.attr_layout,
            "columns": col_doc,
            "output_columns": self.output_columns,
            "dtypes": {k: put_dtype(v, t, f"enc.dtype.{k}") for k, v in self.dtypes.items()},
        }
        return doc, t

    @classmethod
    def from_state(cls, doc: dict[str, Any], t: Tensors, schema: Schema) -> HistoryEncoder:
        enc = cls(
            schema,
            max_discrete_int=doc["max_discrete_int"],
            max_categories=doc["max_categories"],
            shrinkage=doc["shrinkage"],
            seed=doc["seed"],
        )
        enc.user_ids = get_array(doc["user_ids"], t)
        enc.item_ids = get_array(doc["item_ids"], t)
        enc.indptr = get_array(doc["indptr"], t).astype(np.int64)
        enc.indices = get_array(doc["indices"], t).astype(np.int32)
        enc.user_attrs = get_frame(doc["user_attrs"], t)
        enc.item_attrs = get_frame(doc["item_attrs"], t)
        enc.attr_layout = list(doc["attr_layout"])
        enc.attr_matrix = enc.attribute_vectors(enc.user_attrs)
        enc.columns = ItemColumns.from_state(doc["columns"], t, schema)
        enc.output_columns = list(doc["output_columns"])
        enc.dtypes = {k: get_dtype(v, t) for k, v in doc["dtypes"].items()}
        return enc
