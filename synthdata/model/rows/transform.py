"""Reversible encoding of an interaction table into the matrix the GAN learns, and back.

One ordered list of `SpanInfo` (like CTGAN's `output_info`) describes the encoded layout; the
generator's activations, the conditional loss and the conditional sampler all read it, so they can
never disagree about where a column lives.

Column handling (by schema role and dtype):

* user_id / item_id: never one-hot. Each id maps to a row of a fixed embedding table (rows/embeddings.py);
  the span holds that unit vector and is decoded to the nearest catalogue id.
* user/item attributes: not modelled by the GAN. They are looked up from id→attribute tables fitted on
  the real data after ids are sampled, so a synthetic row never contradicts its user or item.
* low-cardinality categoricals, bools and integers with few distinct values (ratings): one-hot.
* other numbers and datetimes (epoch seconds): mode-specific normalisation with a Bayesian Gaussian
  mixture fitted on a bounded random subsample (seconds, not minutes); values come back clipped to the
  schema / observed range, integers rounded, datetimes as tz-aware UTC.
* ignore-role columns: resampled from their observed values (kept so outputs match the clean table).
* inequality constraints (`schema.constraints`, `low <= high`): `high` is modelled as usual and `low`
  is replaced by the gap log1p(high - low) (seconds for datetimes), a continuous column; decoding
  rebuilds low = high - gap with gap >= 0, so every sampled row satisfies the rule by construction
  (the reparametrisation SDV's Inequality constraint uses), never by rejection.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.errors import InputError
from synthdata.model.rows.columns import (
    NULL_TOKEN,
    ColumnInfo,
    IdCatalogue,
    SpanInfo,
    codes_of,
    fit_modes,
    log_gap,
    numbers,
    restore_dtypes,
    to_seconds,
)
from synthdata.model.rows.embeddings import build_id_embeddings, cluster_ids
from synthdata.schema import DType, Role, Schema


class DataTransformer:
    """sklearn-style fit/transform/inverse_transform between clean tables and encoded matrices."""

    def __init__(
        self,
        schema: Schema,
        *,
        n_modes: int = 10,
        bgm_rows: int = 5000,
        bgm_iter: int = 60,
        max_discrete_int: int = 32,
        max_categories: int = 500,
        id_dim: int = 16,
        seed: int = 0,
    ) -> None:
        self.schema = schema
        self.n_modes = n_modes
        self.bgm_rows = bgm_rows
        self.bgm_iter = bgm_iter
        self.max_discrete_int = max_discrete_int
        self.max_categories = max_categories
        self.id_dim = id_dim
        self.seed = seed
        self.columns: list[ColumnInfo] = []
        self.catalogues: dict[str, IdCatalogue] = {}
        self.attribute_owner: dict[str, str] = {}  # attribute column -> id column
        self.ignored: dict[str, np.ndarray] = {}
        self.output_columns: list[str] = []
        self.dtypes: dict[str, Any] = {}

    # ------------------------------------------------------------------ layout
    @property
    def output_info(self) -> list[SpanInfo]:
        return [s for c in self.columns for s in c.spans]

    @property
    def output_dim(self) -> int:
        return sum(s.dim for s in self.output_info)

    @property
    def conditional_columns(self) -> list[ColumnInfo]:
        return [c for c in self.columns if c.conditionable]

    def column_info(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame) -> DataTransformer:
        schema = self.schema
        missing = [c for c in schema.names if c not in df.columns]
        if missing:
            raise InputError(f"table lacks schema columns {missing}", column=missing[0])
        if len(df) == 0:
            raise InputError("cannot fit a synthesizer on an empty table")
        rng = np.random.default_rng(self.seed)
        self.output_columns = list(schema.names)
        self.dtypes = {c: df[c].dtype for c in self.output_columns}
        self._fit_ids(df)
        self._fit_other_columns(df, rng)
        start = 0
        for c in self.columns:
            c.start = start
            start += c.dim
        return self

    def _fit_ids(self, df: pd.DataFrame) -> None:
        """The id columns: one catalogue each (values, counts, embeddings, attributes, clusters)."""
        schema = self.schema
        user, item = schema.user_col, schema.item_col
        for col in (user, item):
            if df[col].isna().any():
                raise InputError(
                    "id column has missing values", column=col, row=int(np.flatnonzero(df[col].isna())[0])
                )
        ucodes, uvals = pd.factorize(df[user], sort=True)
        icodes, ivals = pd.factorize(df[item], sort=True)
        uemb, iemb = build_id_embeddings(
            ucodes,
            icodes,
            len(uvals),
            len(ivals),
            dim=self.id_dim,
            seed=self.seed,
            user_attrs=self._attr_frame(df, ucodes, len(uvals), schema.user_attributes),
            item_attrs=self._attr_frame(df, icodes, len(ivals), schema.item_attributes),
        )
        for col, codes, vals, emb, attrs, role in (
            (user, ucodes, uvals, uemb, schema.user_attributes, Role.USER_ID),
            (item, icodes, ivals, iemb, schema.item_attributes, Role.ITEM_ID),
        ):
            cluster, centroids = cluster_ids(emb, seed=self.seed)
            self.catalogues[col] = IdCatalogue(
                column=col,
                values=np.asarray(vals),
                counts=np.bincount(codes, minlength=len(vals)).astype(np.int64),
                embeddings=emb,
                attributes=self._attr_frame(df, codes, len(vals), attrs),
                cluster=cluster,
                centroids=centroids,
            )
            for a in attrs:
                self.attribute_owner[a] = col
            self.columns.append(ColumnInfo(col, "id", [SpanInfo(emb.shape[1], "embed")], role=role))

    def _fit_other_columns(self, df: pd.DataFrame, rng: np.random.Generator) -> None:
        """Signals, time and categoricals in schema order (the order fixes `rng`'s draws); ignored
        columns keep a sample of their values, constrained lows are fitted as gaps."""
        constrained = {k.low: k.high for k in self.schema.constraints}
        for spec in self.schema.columns:
            if spec.role in (Role.USER_ID, Role.ITEM_ID, Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE):
                continue
            s = df[spec.name]
            if spec.role == Role.IGNORE:
                vals = s.to_numpy()
                self.ignored[spec.name] = vals[
                    rng.choice(len(vals), size=min(len(vals), 10_000), replace=False)
                ]
            elif spec.name in constrained:
                self.columns.append(self._fit_gap(spec, s, df, constrained[spec.name], rng))
            else:
                self.columns.append(self._fit_column(spec, s, rng))

    @staticmethod
    def _attr_frame(df: pd.DataFrame, codes: np.ndarray, n: int, attrs: list[str]) -> pd.DataFrame:
        """Attribute value per id code (first observed non-null value): the consistency table."""
        if not attrs:
            return pd.DataFrame(index=pd.RangeIndex(n))
        table = df[attrs].groupby(codes, sort=True).first()
        return table.reindex(pd.RangeIndex(n))

    def _fit_gap(
        self, spec: Any, s: pd.Series, df: pd.DataFrame, high: str, rng: np.random.Generator
    ) -> ColumnInfo:
        """Fit the low side of `low <= high` as the continuous non-negative log gap to `high`."""
        is_dt = spec.dtype == DType.DATETIME or is_datetime(s)
        gap = log_gap(df, spec.name, high, is_dt)
        gap_spec = spec.model_copy(
            update={"role": Role.SIGNAL, "dtype": DType.FLOAT, "min": 0.0, "max": None}
        )
        info = self._fit_column(gap_spec, pd.Series(gap, index=s.index), rng)
        low = numbers(s, is_dt)
        info.gap_high = high
        info.gap_datetime = is_dt
        info.gap_integer = not is_dt and (spec.dtype == DType.INT or pd.api.types.is_integer_dtype(s.dtype))
        info.gap_min = float(np.nanmin(low)) if (~np.isnan(low)).any() else None
        return info

    def _fit_column(self, spec: Any, s: pd.Series, rng: np.random.Generator) -> ColumnInfo:
        name = spec.name
        is_dt = spec.dtype == DType.DATETIME or is_datetime(s)
        numeric = (
            not is_dt and pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        )
        integer = numeric and (spec.dtype == DType.INT or pd.api.types.is_integer_dtype(s.dtype))
        discrete = (
            spec.dtype in (DType.CATEGORY, DType.BOOL, DType.STRING)
            or spec.role == Role.EVENT_TYPE
            or not (numeric or is_dt)
            or (integer and s.nunique(dropna=True) <= self.max_discrete_int)
        )
        if discrete:
            return self._fit_discrete(name, s)
        x = (
            to_seconds(s)
            if is_dt
            else pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        )
        has_null = bool(np.isnan(x).any())
        obs = x[~np.isnan(x)]
        if len(obs) == 0 or obs.min() == obs.max():
            const = obs[0] if len(obs) else np.nan
            spans = [SpanInfo(2, "softmax")] if has_null else []
            return ColumnInfo(
                name, "constant", spans, constant=const, has_null=has_null, integer=integer, datetime=is_dt
            )
        lo = obs.min() if spec.min is None or is_dt else max(float(spec.min), obs.min())
        hi = obs.max() if spec.max is None or is_dt else min(float(spec.max), obs.max())
        info = fit_modes(name, obs, rng, self.n_modes, self.bgm_rows, self.bgm_iter, has_null)
        info.lo, info.hi, info.integer, info.datetime = float(lo), float(hi), integer, is_dt
        return info

    def _fit_discrete(self, name: str, s: pd.Series) -> ColumnInfo:
        vals = s.astype(object).where(s.notna(), NULL_TOKEN)
        counts = vals.value_counts(sort=True)
        if len(counts) > self.max_categories:
            raise InputError(
                f"{len(counts)} distinct values is too many for a categorical column (max "
                f"{self.max_categories}); give it role 'ignore' or an attribute role in the schema",
                column=name,
            )
        cats = np.array(sorted(counts.index, key=lambda v: (str(type(v)), str(v))), dtype=object)
        freq = counts.reindex(cats).to_numpy(dtype=np.float64)
        return ColumnInfo(
            name, "discrete", [SpanInfo(len(cats), "softmax")], categories=cats, frequencies=freq / freq.sum()
        )

    # ------------------------------------------------------------------ transform
    def encode_codes(self, df: pd.DataFrame) -> dict[str, np.ndarray]:
        """Integer codes of every conditionable column (ids and discrete), for the sampler."""
        out: dict[str, np.ndarray] = {}
        for c in self.conditional_columns:
            if c.kind == "id":
                out[c.name] = codes_of(df[c.name], self.catalogues[c.name].values, c.name)
            else:
                vals = df[c.name].astype(object).where(df[c.name].notna(), NULL_TOKEN)
                out[c.name] = codes_of(vals, c.categories, c.name)
        return out

    def transform(self, df: pd.DataFrame, seed: int | None = None) -> np.ndarray:
        """Encode rows to a float32 matrix (n, output_dim); mixture modes are drawn from the posterior."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        out = np.zeros((len(df), self.output_dim), dtype=np.float32)
        step = 500_000  # bounds the (rows × modes) float64 temporaries of the mixture posterior
        for a in range(0, len(df), step):
            out[a : a + step] = self._transform_chunk(df.iloc[a : a + step], rng)
        return out

    def _transform_chunk(self, df: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        n = len(df)
        out = np.zeros((n, self.output_dim), dtype=np.float32)
        codes = self.encode_codes(df)
        for c in self.columns:
            a = c.start
            if c.kind == "id":
                out[:, a : a + c.dim] = self.catalogues[c.name].embeddings[codes[c.name]]
            elif c.kind == "discrete":
                out[np.arange(n), a + codes[c.name]] = 1.0
            else:
                if c.gap_high is not None:
                    x = log_gap(df, c.name, c.gap_high, c.gap_datetime)
                else:
                    x = numbers(df[c.name], c.datetime)
                null = np.isnan(x)
                if c.kind == "continuous":
                    z = (np.where(null, c.loc, x) - c.loc) / c.scale
                    logp = -0.5 * ((z[:, None] - c.means) / c.stds) ** 2 - np.log(c.stds) + c.log_weights
                    logp[:, ~c.valid] = -np.inf
                    mode = np.argmax(logp + rng.gumbel(size=logp.shape), axis=1)
                    alpha = (z - c.means[mode]) / (4 * c.stds[mode])
                    out[:, a] = np.clip(alpha, -0.99, 0.99)
                    out[np.arange(n), c.offset(1) + mode] = 1.0
                if c.has_null:
                    out[np.arange(n), c.offset(-1) + null.astype(np.int64)] = 1.0
        return out

    # ------------------------------------------------------------------ inverse
    def inverse_transform(
        self,
        data: np.ndarray,
        id_codes: dict[str, np.ndarray],
        discrete_codes: dict[str, np.ndarray] | None = None,
        rng: np.random.Generator | None = None,
    ) -> pd.DataFrame:
        """Decode activated generator output to a clean-table DataFrame.

        Ids come in already decoded (`id_codes`, see `synthdata.model.rows.embeddings.decode_ids`); attribute
        columns are looked up from them. `discrete_codes` overrides decoded discrete columns (exact
        conditioning). Discrete spans are decoded by argmax of the (already sampled) activation.
        """
        rng = rng or np.random.default_rng(self.seed)
        n = len(data)
        discrete_codes = discrete_codes or {}
        cols: dict[str, Any] = {}
        for c in self.columns:
            a = c.start
            if c.kind == "id":
                cat = self.catalogues[c.name]
                cols[c.name] = cat.values[id_codes[c.name]]
                for attr in cat.attributes.columns:
                    cols[attr] = cat.attributes[attr].to_numpy()[id_codes[c.name]]
            elif c.kind == "discrete":
                code = discrete_codes.get(c.name)
                if code is None:
                    code = np.argmax(data[:, a : a + c.dim], axis=1)
                v = c.categories[code]
                cols[c.name] = np.where(v == NULL_TOKEN, None, v) if NULL_TOKEN in c.categories else v
            else:
                if c.kind == "continuous":
                    logits = np.where(c.valid, c.block(data, 1), -np.inf)
                    mode = np.argmax(logits, axis=1)
                    alpha = np.clip(data[:, a], -1, 1)
                    x = (alpha * 4 * c.stds[mode] + c.means[mode]) * c.scale + c.loc
                    x = np.clip(x, c.lo, c.hi)
                    if c.integer:
                        x = np.clip(np.round(x), np.ceil(c.lo), np.floor(c.hi))
                    elif c.datetime:
                        x = np.round(x)
                else:
                    x = np.full(n, c.constant, dtype=np.float64)
                if c.has_null:
                    null = c.block(data, -1)
                    x = np.where(null[:, 1] > null[:, 0], np.nan, x)
                cols[c.name] = x
        self._rebuild_lows(cols)
        for name, pool in self.ignored.items():
            cols[name] = pool[rng.integers(len(pool), size=n)]
        out = pd.DataFrame({name: cols[name] for name in self.output_columns})
        return restore_dtypes(out, self.dtypes)

    def _rebuild_lows(self, cols: dict[str, Any]) -> None:
        """Replace each decoded log gap by low = high - gap (gap >= 0), so low <= high in every row.

        Chains (a <= b <= c) are rebuilt from the top: a low whose high is itself a low waits for it.
        """
        gaps = {c.name: c for c in self.columns if c.gap_high is not None}

        def depth(name: str) -> int:
            d = 0
            while gaps[name].gap_high in gaps:  # the schema rejects cycles
                name, d = gaps[name].gap_high, d + 1  # type: ignore[assignment]
            return d

        for c in sorted(gaps.values(), key=lambda c: depth(c.name)):
            high = pd.to_numeric(pd.Series(cols[c.gap_high]), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            gap = np.expm1(np.maximum(np.asarray(cols[c.name], dtype=np.float64), 0.0))
            if c.gap_integer or c.gap_datetime:
                gap = np.round(gap)  # whole units (seconds for datetimes), still >= 0
            low = high - gap
            # stay inside the observed range of low where possible, but never above high
            cols[c.name] = np.minimum(low if c.gap_min is None else np.maximum(low, c.gap_min), high)
