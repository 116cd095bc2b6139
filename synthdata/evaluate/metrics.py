"""Top-k ranking metrics with their textbook definitions, vectorised over users.

Inputs are a hit matrix `hits` (n_users × k, True where the item at rank r is a test positive of
the user) and `n_pos` (each user's number of test positives, ≥ 1). Users without test positives are
not passed in at all: they are excluded from every average (their recall is undefined).

- precision@k = hits / k (not implicit's hits / min(k, |test|))
- recall@k    = hits / |test positives|
- f1@k        = per user 2PR/(P+R) (0 when P = R = 0); `f1_of_means` gives 2·mean(P)·mean(R)/(mean(P)+mean(R))
- ndcg@k      = DCG / ideal DCG, binary gains, discount 1/log2(rank+1), ideal = min(|test|, k) hits on top
- map@k       = Σ_r precision@r·hit_r / min(|test|, k)
- hitrate@k   = 1 if at least one hit
- coverage    = distinct recommended items / catalogue size (a property of the whole list set)
"""

from __future__ import annotations

import numpy as np

PER_USER_METRICS: tuple[str, ...] = ("precision", "recall", "f1", "ndcg", "map", "hitrate")


def hit_matrix(
    recs: np.ndarray, users: np.ndarray, test_users: np.ndarray, test_items: np.ndarray
) -> np.ndarray:
    """hits[i, r] = (users[i], recs[i, r]) is a test pair; recs entries < 0 are padding (never a hit).

    Pairs are compared as int64 keys with a sorted search, so the cost is O((n·k + |test|)·log|test|).
    """
    recs = np.asarray(recs, dtype=np.int64)
    width = int(max(recs.max(initial=-1), np.max(test_items, initial=-1))) + 1
    test_keys = np.unique(np.asarray(test_users, np.int64) * width + np.asarray(test_items, np.int64))
    keys = np.asarray(users, np.int64)[:, None] * width + recs
    pos = np.searchsorted(test_keys, keys)
    pos = np.minimum(pos, max(len(test_keys) - 1, 0))
    hits = (test_keys[pos] == keys) if len(test_keys) else np.zeros(keys.shape, dtype=bool)
    return hits & (recs >= 0)


def per_user_metrics(hits: np.ndarray, n_pos: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-user arrays for every metric in PER_USER_METRICS (see module docstring)."""
    hits = np.asarray(hits, dtype=bool)[:, :k]
    n_pos = np.asarray(n_pos, dtype=np.float64)
    if hits.shape[0] != n_pos.shape[0]:
        raise ValueError("hits and n_pos disagree on the number of users")
    if np.any(n_pos < 1):
        raise ValueError("every evaluated user needs at least one test positive")
    width = hits.shape[1]
    h = hits.astype(np.float64)
    n_hits = h.sum(axis=1)
    precision = n_hits / k
    recall = n_hits / n_pos
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    dcg = h @ discounts
    ideal_len = np.minimum(n_pos, k).astype(np.int64)
    ideal_cum = np.concatenate(([0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))))
    ndcg = dcg / ideal_cum[ideal_len]
    prec_at_r = np.cumsum(h, axis=1) / np.arange(1, width + 1)
    ap = (prec_at_r * h).sum(axis=1) / np.minimum(n_pos, k)
    hitrate = (n_hits > 0).astype(np.float64)
    return {"precision": precision, "recall": recall, "f1": f1, "ndcg": ndcg, "map": ap, "hitrate": hitrate}


def f1_of_means(precision: float, recall: float) -> float:
    """Harmonic mean of the averaged precision and recall (the 'F1 of means' variant)."""
    s = precision + recall
    return 0.0 if s == 0 else 2.0 * precision * recall / s


def coverage(recs: np.ndarray, n_catalogue: int) -> float:
    """Share of the catalogue that appears in at least one user's top-k list."""
    if n_catalogue <= 0:
        raise ValueError("catalogue must not be empty")
    r = np.asarray(recs).ravel()
    return float(np.unique(r[r >= 0]).size / n_catalogue)
