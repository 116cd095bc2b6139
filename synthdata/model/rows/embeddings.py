"""Fixed embedding tables for high-cardinality ids, and memory-bounded decoding back to ids.

Why not one-hot: 10⁴–10⁶ users/items would make every encoded row (and every generator output)
that wide. Instead each id is a unit vector of `dim` numbers (memory O(n_ids·dim)):

* behaviour part: truncated SVD of the user×item incidence matrix (users/items that co-occur get
  close vectors, so the generator can learn *which* items go with which users);
* attribute part: one-hot/standardised user or item attributes, so ids sharing attributes are close;
* a small random identity part, so ids with identical behaviour and attributes stay distinguishable.

Decoding a generated vector samples an id from p(id | v) ∝ freq(id)·exp(cos(v, e_id)/τ) with the
Gumbel-max trick in two levels: first one of ≈√n k-means clusters (by centroid), then an id inside
it. Work per row is O(√n·d) and memory O(n·d + batch·√n), never O(batch·n_ids).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synthdata.datetimes import is_datetime

IDENTITY_WEIGHT = 0.25
ATTRIBUTE_WEIGHT = 0.5


def _attribute_features(attrs: pd.DataFrame) -> np.ndarray:
    """One-hot low-cardinality attributes, standardise numeric ones; drop near-unique text."""
    parts: list[np.ndarray] = []
    n = len(attrs)
    for col in attrs.columns:
        s = attrs[col]
        if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            if is_datetime(s):
                continue
            codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=True)
            if len(uniq) < 2 or len(uniq) > 64:
                continue
            onehot = np.zeros((n, len(uniq)), dtype=np.float32)
            ok = codes >= 0
            onehot[np.flatnonzero(ok), codes[ok]] = 1.0
            parts.append(onehot / np.sqrt(2.0))
        else:
            x = pd.to_numeric(s, errors="coerce").to_numpy(np.float64)
            sd = np.nanstd(x)
            if not np.isfinite(sd) or sd == 0:
                continue
            parts.append(np.nan_to_num((x - np.nanmean(x)) / sd).astype(np.float32)[:, None])
    if not parts:
        return np.zeros((n, 0), dtype=np.float32)
    feats = np.concatenate(parts, axis=1)
    return feats / np.sqrt(max(1, len(attrs.columns)))


def _normalise(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norm, 1e-8)).astype(np.float32)


def _randomized_svd(*args: object, **kwargs: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's randomized SVD, imported on first use: only fitting needs it, loading a model must
    stay fast."""
    from sklearn.utils.extmath import randomized_svd

    return randomized_svd(*args, **kwargs)


def _side(factors: np.ndarray, attrs: pd.DataFrame, dim: int, rng: np.random.Generator) -> np.ndarray:
    n = factors.shape[0]
    feats = _attribute_features(attrs)
    n_ident = max(2, dim // 8)
    n_attr = min(feats.shape[1], max(0, (dim - n_ident) // 3))
    n_beh = dim - n_ident - n_attr
    beh = _normalise(factors[:, :n_beh]) if factors.shape[1] else np.zeros((n, 0), np.float32)
    if beh.shape[1] < n_beh:
        beh = np.pad(beh, ((0, 0), (0, n_beh - beh.shape[1])))
    if n_attr and feats.shape[1] > n_attr:
        u, s, _ = _randomized_svd(feats, n_attr, random_state=int(rng.integers(2**31 - 1)))
        feats = u * s
    att = ATTRIBUTE_WEIGHT * _normalise(feats[:, :n_attr]) if n_attr else np.zeros((n, 0), np.float32)
    ident = IDENTITY_WEIGHT * _normalise(rng.standard_normal((n, n_ident)))
    return _normalise(np.concatenate([beh, att, ident], axis=1))


def build_id_embeddings(
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    dim: int = 32,
    seed: int = 0,
    user_attrs: pd.DataFrame | None = None,
    item_attrs: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm (n_users, dim) and (n_items, dim) float32 tables from co-occurrence and attributes."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    m = sp.csr_matrix(
        (np.ones(len(user_codes), dtype=np.float32), (user_codes, item_codes)), shape=(n_users, n_items)
    )
    m.data[:] = 1.0  # incidence, not counts: a heavy repeat user should not dominate
    # tf-idf-like damping of popular items/active users keeps the factors from being all popularity
    du = np.asarray(m.sum(axis=1)).ravel()
    di = np.asarray(m.sum(axis=0)).ravel()
    m = sp.diags(1 / np.sqrt(np.maximum(du, 1))) @ m @ sp.diags(1 / np.sqrt(np.maximum(di, 1)))
    k = min(dim, min(n_users, n_items) - 1)
    if k >= 1:
        u, s, vt = _randomized_svd(m, k, n_iter=4, random_state=int(rng.integers(2**31 - 1)))
        uf, if_ = u * np.sqrt(s), vt.T * np.sqrt(s)
    else:
        uf, if_ = np.zeros((n_users, 0)), np.zeros((n_items, 0))
    ua = user_attrs if user_attrs is not None else pd.DataFrame(index=pd.RangeIndex(n_users))
    ia = item_attrs if item_attrs is not None else pd.DataFrame(index=pd.RangeIndex(n_items))
    return _side(uf, ua, dim, rng), _side(if_, ia, dim, rng)


def cluster_ids(emb: np.ndarray, *, seed: int = 0, iters: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means with ≈√n clusters: the coarse level of the two-level id decoder.

    Returns (cluster per id, unit centroids). Cost O(n·√n·d) per iteration, done once at fit time.
    """
    n = emb.shape[0]
    k = max(1, round(np.sqrt(n)))
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(emb)
    cent = x[torch.randperm(n, generator=g)[:k]].clone()
    assign = torch.zeros(n, dtype=torch.long)
    for _ in range(iters):
        assign = torch.cat([(x[a : a + 65_536] @ cent.T).argmax(1) for a in range(0, n, 65_536)])
        summed = torch.zeros_like(cent).index_add_(0, assign, x)
        filled = torch.bincount(assign, minlength=k) > 0
        cent = torch.where(filled.unsqueeze(1), torch.nn.functional.normalize(summed, dim=1), cent)
    return assign.numpy(), cent.numpy()


class IdDecoder(torch.nn.Module):
    """Two-level (cluster → id) sampler for generated id vectors; memory O(n_ids·d + batch·cluster)."""

    def __init__(
        self, table: np.ndarray, counts: np.ndarray, cluster: np.ndarray, centroids: np.ndarray
    ) -> None:
        super().__init__()
        k = centroids.shape[0]
        freq = counts / counts.sum()
        order = np.argsort(cluster, kind="stable")
        sizes = np.bincount(cluster, minlength=k)
        cl_freq = np.bincount(cluster, weights=freq, minlength=k)
        self.register_buffer("table", torch.from_numpy(table), persistent=False)
        self.register_buffer(
            "log_prior", torch.from_numpy(np.log(freq + 1e-12).astype(np.float32)), persistent=False
        )
        self.register_buffer("centroids", torch.from_numpy(centroids), persistent=False)
        with np.errstate(divide="ignore"):
            cl_log = np.where(cl_freq > 0, np.log(np.maximum(cl_freq, 1e-300)), -np.inf).astype(np.float32)
        self.register_buffer("cluster_log_prior", torch.from_numpy(cl_log), persistent=False)
        self.register_buffer("members", torch.from_numpy(order.astype(np.int64)), persistent=False)
        self.starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    @torch.no_grad()
    def forward(
        self, vectors: torch.Tensor, *, temperature: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Sample a cluster from softmax(cos/τ + log prior) over centroids, then an id inside it."""
        v = torch.nn.functional.normalize(vectors.float(), dim=1)
        scale = 1.0 / temperature if temperature > 0 else 1e6
        cl = _gumbel_argmax(
            torch.addmm(self.cluster_log_prior, v, self.centroids.T, alpha=scale), temperature, generator
        )
        out = torch.empty(v.shape[0], dtype=torch.long, device=v.device)
        order = torch.argsort(cl, stable=True)
        uniq, cnt = torch.unique_consecutive(cl[order], return_counts=True)
        pos = 0
        for c, m in zip(
            uniq.tolist(), cnt.tolist(), strict=True
        ):  # one small matmul per cluster, not per row
            rows = order[pos : pos + m]
            pos += m
            mem = self.members[self.starts[c] : self.starts[c + 1]]
            score = torch.addmm(self.log_prior[mem], v[rows], self.table[mem].T, alpha=scale)
            out[rows] = mem[_gumbel_argmax(score, temperature, generator)]
        return out


def _gumbel_argmax(
    score: torch.Tensor, temperature: float, generator: torch.Generator | None
) -> torch.Tensor:
    if temperature <= 0:
        return score.argmax(dim=1)
    u = torch.rand(score.shape, generator=generator, device=score.device).clamp_(1e-12, 1 - 1e-7)
    return (score - torch.log(-torch.log(u))).argmax(dim=1)
