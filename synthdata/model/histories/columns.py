"""The other columns of a (virtual user, item) row: item-conditional models fitted on positive rows.

A histories model decides *which* items a virtual user has; this head decides each row's signals,
time, event type and other per-interaction columns, conditioned on the item:

* labels, bools and integers with few values (ratings): the item's category counts, shrunk toward the
  column's overall frequencies by `shrinkage` pseudo-rows (an item seen once does not fix its value);
* other numbers and datetimes: the item's quantile curve (11 points), used with probability
  n / (n + shrinkage) for an item with n positive rows, else the column's overall quantile curve (101
  points); integers are rounded, values stay inside the observed range;
* missing values keep the column's overall missing share; inequality constraints (`low <= high`) hold
  by construction (the pair is ordered after sampling).

Only positive rows are used, so each generated row is a positive under the schema's rule: the
histories model learnt positive item sets, and its rows must train the recommender as positives.
Columns are drawn independently given the item (correlations between signals of one row are not
modelled: a documented limit). Quantile curves summarise, they do not store rows, but an item with
one positive row has that row's values as its curve; shrinkage mixes in the overall curve.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.model.checkpoint import Tensors, get_array, json_value, put_array, py_value
from synthdata.model.rows.columns import numbers
from synthdata.schema import DType, Schema

ITEM_Q = np.linspace(0, 1, 11)
GLOBAL_Q = np.linspace(0, 1, 101)


class ItemColumns:
    def __init__(self, schema: Schema, *, max_discrete_int: int = 32, max_categories: int = 64) -> None:
        self.schema = schema
        self.max_discrete_int = max_discrete_int
        self.max_categories = max_categories
        self.specs: list[dict[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ fit
    def fit(
        self, pos: pd.DataFrame, item_codes: np.ndarray, n_items: int, all_rows: pd.DataFrame
    ) -> ItemColumns:
        """`pos`: positive rows (other columns only); `item_codes`: their items; `all_rows` for dtypes."""
        n_per_item = np.bincount(item_codes, minlength=n_items).astype(np.int64)
        self.arrays["n"] = n_per_item
        for name in pos.columns:
            s = pos[name]
            spec: dict[str, Any] = {"name": name, "null_share": float(s.isna().mean()) if len(s) else 0.0}
            if self._discrete(name, all_rows[name]):
                self._fit_discrete(spec, s, item_codes, n_items)
            else:
                self._fit_continuous(spec, s, item_codes, n_items)
            self.specs.append(spec)
        return self

    def _discrete(self, name: str, s: pd.Series) -> bool:
        if is_datetime(s):
            return False
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            return True
        declared_int = name in self.schema.names and self.schema.column(name).dtype == DType.INT
        integer = pd.api.types.is_integer_dtype(s) or declared_int
        return bool(integer and s.nunique(dropna=True) <= self.max_discrete_int)

    def _fit_discrete(self, spec: dict[str, Any], s: pd.Series, items: np.ndarray, n_items: int) -> None:
        ok = s.notna().to_numpy()
        cats = pd.unique(s[ok])
        codes = pd.Index(cats).get_indexer(s[ok])
        overall = np.bincount(codes, minlength=len(cats)).astype(np.float64)
        spec |= {"kind": "discrete", "categories": [json_value(v) for v in cats]}
        self.arrays[spec["name"] + ".overall"] = overall
        if len(cats) <= self.max_categories:  # per-item counts: n_items × categories
            per = np.zeros((n_items, len(cats)), np.float32)
            np.add.at(per, (items[ok], codes), 1.0)
            self.arrays[spec["name"] + ".per_item"] = per

    def _fit_continuous(self, spec: dict[str, Any], s: pd.Series, items: np.ndarray, n_items: int) -> None:
        dt = is_datetime(s)
        v = numbers(s, dt)
        ok = np.isfinite(v)
        whole = bool(ok.any() and np.all(v[ok] == np.floor(v[ok])))  # e.g. timestamps in whole seconds
        spec |= {"kind": "continuous", "datetime": dt, "integer": pd.api.types.is_integer_dtype(s) or whole}
        curve = np.quantile(v[ok], GLOBAL_Q) if ok.any() else np.zeros(GLOBAL_Q.size)
        self.arrays[spec["name"] + ".overall"] = curve
        per = np.repeat(curve[np.rint(ITEM_Q * 100).astype(int)][None, :], n_items, axis=0)
        if ok.any():  # per item: quantiles of its rows (sorted once, read at fractional ranks)
            iv, vv = items[ok], v[ok]
            order = np.lexsort((vv, iv))
            iv, vv = iv[order], vv[order]
            starts = np.searchsorted(iv, np.arange(n_items))
            cnt = np.bincount(iv, minlength=n_items)
            has = cnt > 0
            pos = starts[has, None] + ITEM_Q[None, :] * (cnt[has, None] - 1)
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, starts[has, None] + cnt[has, None] - 1)
            frac = pos - lo
            per[has] = vv[lo] * (1 - frac) + vv[hi] * frac
        self.arrays[spec["name"] + ".per_item"] = per

    # ------------------------------------------------------------------ sample
    def sample(self, items: np.ndarray, rng: np.random.Generator, shrinkage: float) -> dict[str, pd.Series]:
        """Values of every modelled column for rows of `items` (codes)."""
        n = self.arrays["n"][items].astype(np.float64)
        w_item = n / (n + shrinkage) if shrinkage > 0 else (n > 0).astype(np.float64)
        out: dict[str, pd.Series] = {}
        for spec in self.specs:
            name = spec["name"]
            if spec["kind"] == "discrete":
                vals = self._sample_discrete(spec, items, rng, shrinkage)
            else:
                vals = self._sample_continuous(spec, items, rng, w_item)
            vals = pd.Series(vals, dtype=object if spec["kind"] == "discrete" else None)
            if spec["null_share"] > 0:
                vals[rng.random(len(items)) < spec["null_share"]] = None
            out[name] = vals
        self._order_constraints(out)
        return out

    def _sample_discrete(
        self, spec: dict[str, Any], items: np.ndarray, rng: np.random.Generator, shrinkage: float
    ) -> np.ndarray:
        cats = np.empty(len(spec["categories"]), dtype=object)
        cats[:] = [py_value(v) for v in spec["categories"]]
        overall = self.arrays[spec["name"] + ".overall"]
        p = np.broadcast_to(overall / max(overall.sum(), 1.0), (len(items), overall.size))
        per = self.arrays.get(spec["name"] + ".per_item")
        if per is not None:
            counts = per[items].astype(np.float64) + shrinkage * p
            p = counts / counts.sum(axis=1, keepdims=True)
        u = rng.random((len(items), 1))
        code = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), len(cats) - 1)
        return cats[code]

    def _sample_continuous(
        self, spec: dict[str, Any], items: np.ndarray, rng: np.random.Generator, w_item: np.ndarray
    ) -> Any:
        u = rng.random(len(items))
        use_item = rng.random(len(items)) < w_item
        overall = self.arrays[spec["name"] + ".overall"]
        out = np.interp(u, GLOBAL_Q, overall)
        per = self.arrays[spec["name"] + ".per_item"][items[use_item]]
        # per-row interpolation on the item's own curve: segment index and fraction of u
        pos = u[use_item] * (ITEM_Q.size - 1)
        lo = np.minimum(np.floor(pos).astype(np.int64), ITEM_Q.size - 2)
        frac = pos - lo
        rows = np.arange(per.shape[0])
        out[use_item] = per[rows, lo] * (1 - frac) + per[rows, lo + 1] * frac
        if spec["integer"]:
            out = np.rint(out)
        if spec["datetime"]:
            return pd.Series(pd.to_datetime(np.rint(out * 1e9).astype(np.int64), utc=True))
        return out

    def _order_constraints(self, out: dict[str, Any]) -> None:
        for c in self.schema.constraints:
            if c.low in out and c.high in out:
                lo, hi = out[c.low], out[c.high]
                swap = (lo > hi).to_numpy()
                if swap.any():
                    out[c.low], out[c.high] = lo.where(~swap, hi), hi.where(~swap, lo)

    # ------------------------------------------------------------------ state
    def state(self, prefix: str) -> tuple[dict[str, Any], Tensors]:
        t: Tensors = {}
        arrays = {k: put_array(v, prefix + k, t) for k, v in self.arrays.items()}
        doc = {
            "max_discrete_int": self.max_discrete_int,
            "max_categories": self.max_categories,
            "specs": self.specs,
            "arrays": arrays,
        }
        return doc, t

    @classmethod
    def from_state(cls, doc: dict[str, Any], t: Tensors, schema: Schema) -> ItemColumns:
        ic = cls(schema, max_discrete_int=doc["max_discrete_int"], max_categories=doc["max_categories"])
        ic.specs = [dict(s) for s in doc["specs"]]
        ic.arrays = {k: get_array(v, t) for k, v in doc["arrays"].items()}
        return ic
