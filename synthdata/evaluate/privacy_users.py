"""User-level privacy of virtual users: does a synthetic history copy, or sit unusually close to, one
real user's history?

Threat model: an attacker holds the synthetic table and a candidate real history (a user's positive
item set) and asks whether that user was in the generator's training data. Row-level checks
(privacy.py) cannot see this: a virtual user's rows are all new (user id included), but its *set*
of items can still reproduce one real user's set.

* `identical_to_train`: synthetic histories equal to a training history (the generator's sampler
  redraws them, so a histories model should report 0);
* nearest-history similarity (DCR at user level): per synthetic user, the Jaccard similarity of its
  item set to the nearest training history and to the nearest holdout history (the test table's
  histories, which the generator never saw); `closer_to_train_share` is the share nearer to a
  training history;
* membership inference, length-matched: for each real user with both, a *member* is a random subset
  of its training history as long as its holdout history, the *non-member* is its holdout history; the
  attack scores each by its nearest synthetic Jaccard similarity (`mia_auc`). Members and non-members
  then differ only in whether the generator saw those items, but also in time (a temporal split's
  holdout holds later, often newer items), which any generator of training-period data rewards. So
  the same attack is run against a null generator that saw no user (popularity virtual users of the
  same lengths): `mia_auc_null`. `mia_auc_excess` = mia_auc − mia_auc_null is what the generator's
  memory of its members adds; about 0 means nothing beyond popularity and period leaks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from synthdata.evaluate.recommend import positive_rows
from synthdata.schema import Schema


def _histories(df: pd.DataFrame, schema: Schema, items: pd.Index) -> tuple[sp.csr_matrix, pd.Index]:
    """Binary user × item matrix of positive item sets (users with at least one positive), its users."""
    pos = df.loc[positive_rows(df, schema)]
    u_codes, users = pd.factorize(pos[schema.user_col])
    i = items.get_indexer(pos[schema.item_col])
    keep = i >= 0
    m = sp.csr_matrix(
        (np.ones(int(keep.sum()), np.float32), (u_codes[keep], i[keep])), shape=(len(users), len(items))
    )
    m.data[:] = 1.0
    m.sum_duplicates()
    m.data[:] = 1.0
    keep = np.diff(m.indptr) > 0
    return m[keep], pd.Index(users)[keep]


def nearest_jaccard(a: sp.csr_matrix, b: sp.csr_matrix, chunk: int = 256) -> np.ndarray:
    """For each row of `a`, the largest Jaccard similarity to any row of `b`."""
    return _nearest(a, b, chunk, containment=False)


def largest_containment(a: sp.csr_matrix, b: sp.csr_matrix, chunk: int = 256) -> np.ndarray:
    """For each row of `a`, the largest share of its items found in one row of `b`."""
    return _nearest(a, b, chunk, containment=True)


def _nearest(a: sp.csr_matrix, b: sp.csr_matrix, chunk: int, containment: bool) -> np.ndarray:
    out = np.zeros(a.shape[0])
    if a.shape[0] == 0 or b.shape[0] == 0:
        return out
    na = np.asarray(a.sum(axis=1)).ravel()
    nb = np.asarray(b.sum(axis=1)).ravel()
    bt = b.T.tocsc()
    for s in range(0, a.shape[0], chunk):
        inter = (a[s : s + chunk] @ bt).toarray()
        den = na[s : s + chunk, None] if containment else na[s : s + chunk, None] + nb[None, :] - inter
        out[s : s + chunk] = (inter / np.maximum(den, 1)).max(axis=1)
    return out


def _keys(m: sp.csr_matrix) -> set[bytes]:  # order-free: csr rows hold sorted indices
    return {m.indices[m.indptr[r] : m.indptr[r + 1]].tobytes() for r in range(m.shape[0])}


def _null_like(m: sp.csr_matrix, popularity: np.ndarray, rng: np.random.Generator) -> sp.csr_matrix:
    """Popularity virtual users with the lengths of `m`'s rows (items without replacement)."""
    p = popularity / popularity.sum()
    rows, cols = [], []
    for r, n in enumerate(np.diff(m.indptr)):
        k = int(min(n, (p > 0).sum()))
        rows.append(np.full(k, r))
        cols.append(rng.choice(p.size, size=k, replace=False, p=p))
    r_, c_ = (np.concatenate(rows), np.concatenate(cols)) if rows else (np.empty(0, int), np.empty(0, int))
    out = sp.csr_matrix((np.ones(r_.size, np.float32), (r_, c_)), shape=m.shape)
    out.sort_indices()
    return out


def user_privacy_report(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: Schema,
    *,
    max_users: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Privacy of the synthetic users the training data lacks (virtual users); see the module doc."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    items = pd.Index(pd.unique(train[schema.item_col]))
    real_users = pd.unique(train[schema.user_col])
    virtual = synthetic.loc[~synthetic[schema.user_col].isin(real_users).to_numpy()]
    syn, _ = _histories(virtual, schema, items)
    tr, tr_users = _histories(train, schema, items)
    ho, ho_users = _histories(holdout, schema, items)
    if syn.shape[0] == 0 or tr.shape[0] == 0:
        return {"virtual_users": int(syn.shape[0])}
    train_keys = _keys(tr)
    rows = range(syn.shape[0])
    identical = sum(syn.indices[syn.indptr[r] : syn.indptr[r + 1]].tobytes() in train_keys for r in rows)
    pick = rng.choice(syn.shape[0], size=min(max_users, syn.shape[0]), replace=False)
    s = syn[np.sort(pick)]
    nn_train, nn_hold = nearest_jaccard(s, tr), nearest_jaccard(s, ho)
    out: dict[str, Any] = {
        "virtual_users": int(syn.shape[0]),
        "identical_to_train": int(identical),
        "nn_jaccard_train_median": float(np.median(nn_train)),
        "nn_jaccard_holdout_median": float(np.median(nn_hold)),
        "nn_jaccard_train_p95": float(np.quantile(nn_train, 0.95)),
        "closer_to_train_share": float(np.mean(nn_train > nn_hold)) if ho.shape[0] else None,
        "users_scored": int(s.shape[0]),
    }
    out |= _membership(tr, tr_users, ho, ho_users, s, rng, max_users)
    return out


def _members(
    tr: sp.csr_matrix, tr_users: pd.Index, ho: sp.csr_matrix, ho_users: pd.Index, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """(members, non-members): per user with both, a training subset as long as its holdout history."""
    t = tr_users.get_indexer(ho_users)
    both = np.flatnonzero(t >= 0)
    rows, cols = [], []
    for r, h in enumerate(both):
        items = tr.indices[tr.indptr[t[h]] : tr.indptr[t[h] + 1]]
        k = min(items.size, ho.indptr[h + 1] - ho.indptr[h])
        rows.append(np.full(k, r))
        cols.append(rng.choice(items, size=k, replace=False))
    r_ = np.concatenate(rows) if rows else np.empty(0, int)
    c_ = np.concatenate(cols) if cols else np.empty(0, int)
    mem = sp.csr_matrix((np.ones(r_.size, np.float32), (r_, c_)), shape=(both.size, tr.shape[1]))
    return mem, ho[both]


def _membership(
    tr: sp.csr_matrix,
    tr_users: pd.Index,
    ho: sp.csr_matrix,
    ho_users: pd.Index,
    s: sp.csr_matrix,
    rng: np.random.Generator,
    max_users: int,
) -> dict[str, Any]:
    mem, non = _members(tr, tr_users, ho, ho_users, rng)
    if mem.shape[0] < 10:
        return {"mia_auc": None, "mia_auc_null": None, "mia_auc_excess": None, "mia_pairs": mem.shape[0]}
    if mem.shape[0] > max_users:
        pick = np.sort(rng.choice(mem.shape[0], size=max_users, replace=False))
        mem, non = mem[pick], non[pick]
    null = _null_like(s, np.asarray(tr.sum(axis=0)).ravel(), rng)
    y = np.r_[np.ones(mem.shape[0]), np.zeros(non.shape[0])]
    auc = roc_auc_score(y, np.r_[largest_containment(mem, s), largest_containment(non, s)])
    auc_null = roc_auc_score(y, np.r_[largest_containment(mem, null), largest_containment(non, null)])
    return {
        "mia_auc": float(auc),
        "mia_auc_null": float(auc_null),
        "mia_auc_excess": float(auc - auc_null),
        "mia_pairs": int(mem.shape[0]),
    }
