"""Recommenders under test: implicit ALS (default) or BPR, and a popularity floor.

One positive rule (schema.positive) turns real and synthetic rows alike into user×item confidence
matrices. Synthetic pairs that duplicate a real training pair are dropped (they would only re-weight
what the model already sees) and the rest get weight α. Recommendations always exclude the user's real
training items, for both runs, so the comparison differs only in the training matrix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # implicit warns and slows down with threaded BLAS

import numpy as np
import pandas as pd
import scipy.sparse as sp

from synthdata.errors import InputError
from synthdata.evaluate.topk import topk_unseen
from synthdata.schema import Schema


def has_cuda() -> bool:
    """implicit's GPU backend is used only when it was built with CUDA and a device answers."""
    try:
        import implicit.gpu

        return bool(implicit.gpu.HAS_CUDA)
    except Exception:  # pragma: no cover - depends on the build
        return False


def positive_rows(df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Boolean mask of rows that are positives under the schema's rule (all rows when no rule)."""
    rule = schema.positive
    if rule.column is None:
        return np.ones(len(df), dtype=bool)
    if rule.column not in df.columns:
        raise InputError("positive-rule column missing from table", column=rule.column)
    values = pd.to_numeric(df[rule.column], errors="coerce").to_numpy(dtype=np.float64)
    threshold = rule.min if rule.min is not None else np.finfo(np.float64).tiny
    return np.nan_to_num(values, nan=-np.inf) >= threshold


def confidence(df: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Per-row confidence: 1, or 1 + log1p(value of schema.positive.confidence) when declared."""
    col = schema.positive.confidence
    if col is None:
        return np.ones(len(df), dtype=np.float32)
    if col not in df.columns:
        raise InputError("confidence column missing from table", column=col)
    v = pd.to_numeric(df[col], errors="coerce").fillna(0).clip(lower=0).to_numpy(dtype=np.float64)
    return (1.0 + np.log1p(v)).astype(np.float32)


@dataclass(frozen=True)
class Index:
    """Dense integer ids for users and items shared by every matrix of one evaluation."""

    users: pd.Index
    items: pd.Index

    @classmethod
    def build(cls, schema: Schema, *frames: pd.DataFrame | None) -> Index:
        fs = [f for f in frames if f is not None and len(f)]
        users = pd.Index(pd.unique(pd.concat([f[schema.user_col] for f in fs], ignore_index=True)))
        items = pd.Index(pd.unique(pd.concat([f[schema.item_col] for f in fs], ignore_index=True)))
        return cls(users=users, items=items)

    def with_users(self, extra: pd.Index) -> Index:
        """The same index with users appended (virtual users: real codes are unchanged)."""
        new = pd.Index(pd.unique(extra[~extra.isin(self.users)]))
        return Index(users=self.users.append(new), items=self.items) if len(new) else self

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.users), len(self.items)

    def codes(self, df: pd.DataFrame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
        """(user codes, item codes); -1 where an id is not in the index."""
        return (
            self.users.get_indexer(df[schema.user_col]).astype(np.int64),
            self.items.get_indexer(df[schema.item_col]).astype(np.int64),
        )


def pair_matrix(u: np.ndarray, i: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR of weights, duplicates of one (user, item) pair collapsed by max (not summed)."""
    keep = (u >= 0) & (i >= 0)
    u, i, w = u[keep], i[keep], np.asarray(w, dtype=np.float32)[keep]
    if u.size:
        key = u * shape[1] + i
        order = np.lexsort((-w, key))  # per key, largest weight first
        key_sorted = key[order]
        first = np.concatenate(([True], key_sorted[1:] != key_sorted[:-1]))
        sel = order[first]
        u, i, w = u[sel], i[sel], w[sel]
    m = sp.csr_matrix((w, (u, i)), shape=shape, dtype=np.float32)
    m.sort_indices()
    return m


def real_matrices(train: pd.DataFrame, schema: Schema, index: Index) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(positives with confidence, all real training pairs as 1s used for exclusion)."""
    u, i = index.codes(train, schema)
    pos = positive_rows(train, schema)
    conf = confidence(train, schema)
    positives = pair_matrix(u[pos], i[pos], conf[pos], index.shape)
    seen = pair_matrix(u, i, np.ones(len(u), np.float32), index.shape)
    return positives, seen


def synthetic_matrix(
    synthetic: pd.DataFrame, schema: Schema, index: Index, real_seen: sp.csr_matrix
) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Synthetic positives (confidence, before α) minus pairs already present in `real_seen`."""
    u, i = index.codes(synthetic, schema)
    pos = positive_rows(synthetic, schema)
    conf = confidence(synthetic, schema)
    m = pair_matrix(u[pos], i[pos], conf[pos], index.shape)
    overlap = m.multiply(real_seen > 0).astype(bool)
    n_dup = int(overlap.nnz)
    m = (m - m.multiply(overlap)).tocsr()
    m.eliminate_zeros()
    stats = {
        "synthetic_rows": len(synthetic),
        "synthetic_positive_rows": int(pos.sum()),
        "synthetic_pairs_duplicating_real": n_dup,
        "synthetic_pairs_used": int(m.nnz),
    }
    return m, stats


def augmented_matrix(
    real_pos: sp.csr_matrix, synth: sp.csr_matrix, alpha: float, model: str, seed: int
) -> sp.csr_matrix:
    """real + α·synthetic for ALS; BPR ignores weights, so it keeps a seeded α-share of synthetic pairs."""
    if model == "bpr":
        if alpha >= 1:
            return (real_pos + synth).tocsr()
        coo = synth.tocoo()
        keep = np.random.default_rng(seed).random(coo.nnz) < alpha
        s = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=synth.shape)
        return (real_pos + s).tocsr()
    return (real_pos + synth * np.float32(alpha)).tocsr()


@dataclass(frozen=True)
class ModelParams:
    model: str = "als"
    factors: int = 64
    regularization: float = 0.01
    iterations: int = 15
    als_alpha: float = 2.0
    learning_rate: float = 0.05


def make_model(p: ModelParams, seed: int, num_threads: int = 0):  # -> implicit RecommenderBase
    """An implicit model on GPU when implicit has CUDA, else CPU; seeded for reproducibility.
    `num_threads` (ALS; 0: every core) does not change the factors: each row's solve is independent."""
    gpu = has_cuda()
    if p.model == "als":
        from implicit.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=p.factors,
            regularization=p.regularization,
            alpha=p.als_alpha,
            iterations=p.iterations,
            use_gpu=gpu,
            random_state=seed,
            calculate_training_loss=False,
            num_threads=num_threads,
        )
    if p.model == "bpr":
        from implicit.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(
            factors=p.factors,
            learning_rate=p.learning_rate,
            regularization=p.regularization,
            iterations=p.iterations,
            use_gpu=gpu,
            random_state=seed,
            num_threads=1,  # Hogwild SGD across threads is not reproducible
        )
    raise ValueError(f"unknown model {p.model!r}")


def fit_recommend(
    train_matrix: sp.csr_matrix,
    exclude: sp.csr_matrix,
    users: np.ndarray,
    k: int,
    params: ModelParams,
    seed: int,
    fold_in: sp.csr_matrix | None = None,
    num_threads: int = 0,
) -> np.ndarray:
    """Fit on `train_matrix`, return top-k item codes (n_users × k, -1 padded) excluding `exclude` items.

    `fold_in`: the users' factors are not learnt from `train_matrix` but recomputed from their rows
    of `fold_in` with the item factors fixed (strong generalisation: a model trained on virtual users
    alone, scored for real users it never saw). ALS only: one exact least-squares step per user."""
    model = make_model(params, seed, num_threads)
    model.fit(train_matrix.astype(np.float32), show_progress=False)
    if hasattr(model, "to_cpu") and has_cuda():
        model = model.to_cpu()
    users = np.asarray(users, dtype=np.int64)
    if users.size == 0:
        return np.empty((0, k), dtype=np.int64)
    if fold_in is not None:
        return _fold_in_recommend(model, fold_in, exclude, users, k, params)
    # implicit's `recommend` scores every item; topk_unseen returns the same ids, pruned by item norms
    return topk_unseen(model.user_factors[users], model.item_factors, exclude[users], k)


def _fold_in_recommend(
    model, fold_in: sp.csr_matrix, exclude: sp.csr_matrix, users: np.ndarray, k: int, params: ModelParams
) -> np.ndarray:
    if params.model != "als":
        raise InputError("fold-in scoring (virtual users) needs the ALS recommender (evaluate model: als)")
    factors = model.recalculate_user(users, fold_in[users].astype(np.float32))
    return topk_unseen(factors, model.item_factors, exclude[users], k)


def popularity_recommend(
    real_pos: sp.csr_matrix, exclude: sp.csr_matrix, users: np.ndarray, k: int
) -> np.ndarray:
    """Most popular training-positive items the user has not seen; ties broken by item code."""
    pop = np.asarray((real_pos > 0).sum(axis=0)).ravel().astype(np.float64)
    n_items = pop.size
    users = np.asarray(users, dtype=np.int64)
    out = np.full((users.size, k), -1, dtype=np.int64)
    if users.size == 0 or n_items == 0:
        return out
    # Only the top (k + most items any user has seen) popular items can ever be recommended.
    max_seen = int(np.diff(exclude.indptr)[users].max(initial=0))
    width = min(n_items, k + max_seen)
    cand = np.lexsort((np.arange(n_items), -pop))[:width]
    chunk = max(1, 2_000_000 // width)
    for s in range(0, users.size, chunk):
        us = users[s : s + chunk]
        seen = exclude[us][:, cand].toarray() > 0
        score = np.where(seen, np.inf, np.arange(width)[None, :])  # rank among candidates, seen last
        top = np.argsort(score, axis=1, kind="stable")[:, :k]
        valid = np.take_along_axis(~seen, top, axis=1)
        out[s : s + chunk, : top.shape[1]] = np.where(valid, cand[top], -1)
    return out
