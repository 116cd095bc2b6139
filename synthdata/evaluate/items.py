"""Item segments: does augmentation help cold-start and long-tail *items*, not only cold users?

AR-CF and RAGAN report their gains on rarely seen items, so the evaluation scores the same top-k lists
per item segment. Pure numpy on the recommendation lists and the test `Target`: no model is fitted.

Segments are boolean masks over the index's item codes (the columns of the training matrix):
- cold_items: ≤ `cold_item_threshold` training positives (0 included: items seen only as negatives or
  only in test, the literature's cold-start items);
- head: the smallest most-popular set holding `head_share` of training positives (ties by item order;
  the definition augment.long_tail_items uses, shared through `head_mask`);
- tail: every other item. head and tail partition the catalogue; cold_items overlaps the tail.

Per user (see DEFINITIONS): `recall` on the segment's test pairs (users without one are excluded) and
`rec_share` of the k slots spent on the segment; per model, `coverage` of the segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate.metrics import hit_matrix
from synthdata.evaluate.stats import StatsBatch
from synthdata.evaluate.tuning import Target

ITEM_SEGMENTS: tuple[str, ...] = ("cold_items", "head", "tail")
ITEM_METRICS: tuple[str, ...] = ("recall", "rec_share")
DEFINITIONS: dict[str, str] = {
    "item_segments": "item masks over the training index: cold_items ≤ cold_item_threshold training "
    "positives (0 included); head = smallest most-popular item set holding long_tail_share of training "
    "positives (ties by item order); tail = the other items (head and tail partition the catalogue)",
    "item_recall": "per user: hits on the user's test positives whose item is in the segment / number of "
    "those positives; averaged over users with ≥ 1 such positive (others excluded, recall undefined)",
    "item_rec_share": "per user: share of the k recommendation slots holding a segment item (empty slots "
    "count for no segment); averaged over all evaluated users",
    "item_coverage": "distinct recommended segment items (first seed) / items in the segment",
    "item_delta": "augmented − real per user on the users scored in both, paired bootstrap CI and "
    "sign-flip p-value, per item segment and metric",
    "item_averaging": "evaluate scores the first recommender seed's lists (per-user values are averaged "
    "over seeds only when per-seed lists are given); 95% percentile bootstrap CI over users",
}


def head_mask(counts: np.ndarray, head_share: float) -> np.ndarray:
    """True for the smallest most-popular set holding `head_share` of `counts` (ties: lower index first).

    One definition for the long-tail strategy and the item segments, so the items the strategy targets
    are exactly the items the evaluation calls tail. No positives at all: no head."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    out = np.zeros(c.size, dtype=bool)
    if total <= 0:
        return out
    order = np.lexsort((np.arange(c.size), -c))
    sorted_c = c[order]
    share_before = (np.cumsum(sorted_c) - sorted_c) / total  # share held by strictly earlier items
    out[order] = share_before < head_share
    return out


def cold_mask(counts: np.ndarray, threshold: int, min_count: int = 0) -> np.ndarray:
    """min_count ≤ count ≤ threshold (the strategy uses min_count=1: the synthesizer must know the item)."""
    c = np.asarray(counts)
    return (c >= min_count) & (c <= threshold)


def item_segments(
    real_pos: sp.csr_matrix,
    cold_item_threshold: int,
    head_share: float,
    catalogue: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """{"cold_items", "head", "tail"}: boolean masks over the item codes of `real_pos` (users × items).

    `catalogue` (optional mask) restricts every segment to those items, e.g. items seen in training;
    the head is then computed among them."""
    counts = np.asarray((sp.csr_matrix(real_pos) > 0).sum(axis=0)).ravel()
    known = np.ones(counts.size, dtype=bool) if catalogue is None else np.asarray(catalogue, dtype=bool)
    if known.shape != counts.shape:
        raise ValueError("catalogue mask must have one entry per item column")
    head = np.zeros(counts.size, dtype=bool)
    head[known] = head_mask(counts[known], head_share)
    return {
        "cold_items": known & cold_mask(counts, cold_item_threshold),
        "head": head,
        "tail": known & ~head,
    }


def _slot_mask(recs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """in_seg[i, r] = slot r of user i holds a segment item (-1 padding never does)."""
    r = np.asarray(recs, dtype=np.int64)
    return (r >= 0) & np.asarray(mask, dtype=bool)[np.clip(r, 0, None)]


def item_segment_metrics(
    recs: np.ndarray, target: Target, masks: Mapping[str, np.ndarray], k: int
) -> dict[str, dict[str, np.ndarray]]:
    """Per segment, per-user `recall` (NaN: no test positive in the segment) and `rec_share`.

    Rows of `recs` follow `target.users`; item codes index the masks; -1 is an empty slot."""
    recs = np.asarray(recs, dtype=np.int64)[:, :k]
    if recs.shape[0] != target.users.size:
        raise ValueError("recs must have one row per target user")
    hits = hit_matrix(recs, target.users, target.pair_users, target.pair_items)
    row = np.searchsorted(target.users, target.pair_users)  # Target.users is sorted and unique
    out: dict[str, dict[str, np.ndarray]] = {}
    for seg, mask in masks.items():
        mask = np.asarray(mask, dtype=bool)
        in_seg = _slot_mask(recs, mask)
        n_pos = np.bincount(row[mask[target.pair_items]], minlength=target.users.size).astype(np.float64)
        n_hits = (hits & in_seg).sum(axis=1).astype(np.float64)
        recall = np.divide(n_hits, n_pos, out=np.full(n_pos.size, np.nan), where=n_pos > 0)
        out[seg] = {"recall": recall, "rec_share": in_seg.sum(axis=1) / k}
    return out


def item_coverage(recs: np.ndarray, mask: np.ndarray) -> float:
    """Distinct recommended items of the segment / segment size (NaN for an empty segment)."""
    mask = np.asarray(mask, dtype=bool)
    size = int(mask.sum())
    if size == 0:
        return float("nan")
    r = np.asarray(recs, dtype=np.int64).ravel()
    r = np.unique(r[r >= 0])
    return float(mask[r].sum() / size)


def _seed_list(recs: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """One 2-D array (one seed) or a sequence of per-seed arrays → list of per-seed arrays."""
    if isinstance(recs, np.ndarray) and recs.ndim == 2:
        return [recs]
    out = [np.asarray(r) for r in recs]
    if not out:
        raise ValueError("no recommendation lists given")
    return out


def _per_user(
    recs: np.ndarray | Sequence[np.ndarray], target: Target, masks: Mapping[str, np.ndarray], k: int
) -> dict[str, dict[str, np.ndarray]]:
    """item_segment_metrics averaged over seeds (the NaN pattern depends on the target only)."""
    seeds = [item_segment_metrics(r, target, masks, k) for r in _seed_list(recs)]
    return {seg: {m: np.mean([s[seg][m] for s in seeds], axis=0) for m in ITEM_METRICS} for seg in masks}


def item_summary(
    recs: np.ndarray | Sequence[np.ndarray],
    target: Target,
    masks: Mapping[str, np.ndarray],
    k: int,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """One model: {segment: {"recall"|"rec_share": {mean, ci_low, ci_high, n_users}, "coverage": {mean}}}.

    `recs`: the first seed's lists, or a list of per-seed lists (per-user values averaged over seeds;
    coverage from the first)."""
    batch = StatsBatch(n_boot=n_boot, seed=seed)
    out = _summary(_per_user(recs, target, masks, k), _seed_list(recs)[0][:, :k], masks, batch)
    batch.run()
    return out


def _summary(per_user: dict, first: np.ndarray, masks: Mapping[str, np.ndarray], batch: StatsBatch) -> dict:
    """One model's item-segment summary; its CIs are requested from `batch` (filled by `batch.run()`)."""
    out: dict[str, dict[str, Any]] = {}
    for seg, mask in masks.items():
        d: dict[str, Any] = {}
        for m in ITEM_METRICS:
            v = per_user[seg][m]
            v = v[np.isfinite(v)]
            d[m] = batch.ci(v, n_users=int(v.size))
        d["coverage"] = {"mean": item_coverage(first, mask)}
        out[seg] = d
    return out


def item_delta(
    base: np.ndarray | Sequence[np.ndarray],
    run: np.ndarray | Sequence[np.ndarray],
    target: Target,
    masks: Mapping[str, np.ndarray],
    k: int,
    *,
    n_boot: int = 1000,
    n_perm: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, float]]]:
    """run − base per user, paired over users scored in both: {segment: {metric: {mean, ci_low,
    ci_high, p_value, n_users}}}."""
    batch = StatsBatch(n_boot=n_boot, n_perm=n_perm, seed=seed)
    out = _delta(_per_user(base, target, masks, k), _per_user(run, target, masks, k), masks, batch)
    batch.run()
    return out


def _delta(a: dict, b: dict, masks: Mapping[str, np.ndarray], batch: StatsBatch) -> dict:
    """b − a per segment and metric on the users scored in both, requested from `batch`."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for seg in masks:
        out[seg] = {}
        for m in ITEM_METRICS:
            both = np.isfinite(a[seg][m]) & np.isfinite(b[seg][m])
            out[seg][m] = batch.delta(a[seg][m][both], b[seg][m][both], n_users=int(both.sum()))
    return out


def item_section(
    recs_by_run: Mapping[str, np.ndarray | Sequence[np.ndarray]],
    target: Target,
    masks: Mapping[str, np.ndarray],
    k: int,
    *,
    against: str = "augmented",
    bases: Sequence[str] = ("real",),
    n_boot: int = 1000,
    n_perm: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The whole `recsys.items` block: segment sizes, a summary per run, `against` − each base (each
    run's per-user values computed once)."""
    per = {name: _per_user(r, target, masks, k) for name, r in recs_by_run.items()}
    batch = StatsBatch(n_boot=n_boot, n_perm=n_perm, seed=seed)  # one resampling pass per user count
    summary = {
        name: _summary(per[name], _seed_list(r)[0][:, :k], masks, batch) for name, r in recs_by_run.items()
    }
    delta = {}
    if against in per:
        delta = {b: _delta(per[b], per[against], masks, batch) for b in bases if b in per}
    batch.run()
    sizes = {seg: int(np.asarray(m, dtype=bool).sum()) for seg, m in masks.items()}
    return {"n_items": sizes, "summary": summary, "delta": delta}
