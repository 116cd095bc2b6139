"""Item segments (cold items, head, tail): hand-computed metrics, invariants, and the summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from support.eval_world import SCHEMA, world

from synthdata.evaluate.augment import long_tail_items
from synthdata.evaluate.items import (
    DEFINITIONS,
    head_mask,
    item_coverage,
    item_delta,
    item_section,
    item_segment_metrics,
    item_segments,
    item_summary,
)
from synthdata.evaluate.recommend import positive_rows
from synthdata.evaluate.tuning import Target


def matrix(rows: list[list[int]]) -> sp.csr_matrix:
    return sp.csr_matrix(np.asarray(rows, dtype=np.float32))


def test_head_mask_by_hand() -> None:
    # total 10: shares before each (sorted) item 0, .5, .8, 1.0 → the first two hold 0.8
    assert head_mask(np.array([2, 5, 0, 3]), 0.8).tolist() == [False, True, False, True]
    # ties go to the lower index: five equal items, half the positives → the first three
    assert head_mask(np.full(5, 2), 0.5).tolist() == [True, True, True, False, False]
    assert not head_mask(np.zeros(3), 0.8).any()  # no positives: no head


def _old_long_tail(train: pd.DataFrame, head_share: float) -> np.ndarray:
    """augment.long_tail_items before it shared items.head_mask (the reference it must still equal)."""
    items = train["item_id"]
    counts = items[positive_rows(train, SCHEMA)].value_counts().reindex(pd.unique(items), fill_value=0)
    counts = counts.iloc[np.lexsort((np.arange(len(counts)), -counts.to_numpy()))]
    share_before = (counts.cumsum() - counts) / counts.sum()
    return counts.index[share_before.to_numpy() >= head_share].to_numpy()


@pytest.mark.parametrize("share", [0.3, 0.8, 1.0])
def test_long_tail_items_unchanged_by_the_shared_definition(share: float) -> None:
    train = world(n_users=40, n_items=30, seed=3)
    assert long_tail_items(train, SCHEMA, share).tolist() == _old_long_tail(train, share).tolist()


def test_item_segments_by_hand() -> None:
    # positives per item: 3, 1, 0, 2, 4 (total 10); head_share 0.6 → items 4 (0) and 0 (.4) are head
    m = matrix([[1, 1, 0, 1, 1], [1, 0, 0, 1, 1], [1, 0, 0, 0, 1], [0, 0, 0, 0, 1]])
    seg = item_segments(m, cold_item_threshold=1, head_share=0.6)
    assert seg["cold_items"].tolist() == [False, True, True, False, False]  # 0 positives included
    assert seg["head"].tolist() == [True, False, False, False, True]
    assert seg["tail"].tolist() == [False, True, True, True, False]
    known = np.array([True, True, False, True, True])  # item 2 outside the catalogue: in no segment
    seg = item_segments(m, 1, 0.6, catalogue=known)
    assert not any(s[2] for s in seg.values())


def test_item_segment_metrics_by_hand() -> None:
    # 3 users (codes 0, 2, 5); 6 items, segment = items {1, 3}
    target = Target.from_codes(np.array([0, 0, 0, 2, 2, 5]), np.array([1, 3, 4, 0, 5, 1]))
    recs = np.array([[1, 2, 3], [1, 0, -1], [4, 2, 0]])
    mask = np.array([False, True, False, True, False, False])
    out = item_segment_metrics(recs, target, {"seg": mask}, k=3)["seg"]
    # user 0: segment positives {1, 3}, both recommended → 1; user 2: none → NaN; user 5: {1} missed → 0
    np.testing.assert_array_equal(out["recall"], [1.0, np.nan, 0.0])
    np.testing.assert_allclose(out["rec_share"], [2 / 3, 1 / 3, 0.0])  # the -1 slot is no segment's
    assert item_coverage(recs, mask) == 1.0
    assert item_coverage(recs[2:], mask) == 0.0
    assert np.isnan(item_coverage(recs, np.zeros(6, dtype=bool)))


def test_summary_excludes_users_without_segment_positives_and_delta_pairs_them() -> None:
    target = Target.from_codes(np.array([0, 0, 0, 2, 2, 5]), np.array([1, 3, 4, 0, 5, 1]))
    mask = np.array([False, True, False, True, False, False])
    real = np.array([[1, 2, 3], [1, 0, 2], [4, 2, 0]])
    aug = np.array([[1, 2, 4], [1, 0, 2], [1, 2, 0]])
    s = item_summary(real, target, {"seg": mask}, 3, n_boot=200)["seg"]
    assert s["recall"]["n_users"] == 2 and s["recall"]["mean"] == pytest.approx(0.5)
    assert s["rec_share"]["n_users"] == 3 and s["rec_share"]["mean"] == pytest.approx((2 / 3 + 1 / 3) / 3)
    assert s["coverage"] == {"mean": 1.0}
    # two seeds: per-user values averaged over seeds
    two = item_summary([real, aug], target, {"seg": mask}, 3, n_boot=200)["seg"]
    assert two["recall"]["mean"] == pytest.approx(np.mean([(1 + 0.5) / 2, (0 + 1) / 2]))
    d = item_delta(real, aug, target, {"seg": mask}, 3, n_boot=200, n_perm=200)["seg"]
    assert d["recall"]["n_users"] == 2
    assert d["recall"]["mean"] == pytest.approx(((0.5 - 1) + (1 - 0)) / 2)
    assert d["rec_share"]["mean"] == pytest.approx(((1 / 3 - 2 / 3) + 0 + 1 / 3) / 3)
    assert 0 < d["recall"]["p_value"] <= 1
    same = item_delta(real, real, target, {"seg": mask}, 3, n_boot=200, n_perm=200)["seg"]
    assert same["recall"]["mean"] == 0.0


def test_item_section_layout() -> None:
    target = Target.from_codes(np.array([0, 1, 1]), np.array([0, 1, 2]))
    masks = item_segments(matrix([[1, 1, 0], [1, 0, 0]]), 1, 0.5)
    recs = {"real": np.array([[0, 1], [0, 2]]), "augmented": np.array([[1, 2], [0, 1]])}
    out = item_section(recs, target, masks, 2, n_boot=100, n_perm=100)
    assert out["n_items"] == {"cold_items": 2, "head": 1, "tail": 2}
    assert set(out["summary"]) == {"real", "augmented"} and set(out["delta"]) == {"real"}
    assert set(out["summary"]["real"]["tail"]) == {"recall", "rec_share", "coverage"}
    assert set(out["delta"]["real"]["head"]) == {"recall", "rec_share"}
    assert item_section({"real": recs["real"]}, target, masks, 2, n_boot=100)["delta"] == {}
    assert all(isinstance(v, str) for v in DEFINITIONS.values())


@st.composite
def worlds(draw):
    n_users, n_items, k = draw(st.integers(1, 8)), draw(st.integers(1, 12)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 10_000))
    rng = np.random.default_rng(seed)
    train = sp.csr_matrix((rng.random((n_users, n_items)) < 0.4).astype(np.float32))
    n_pairs = int(rng.integers(1, 3 * n_users + 1))
    target = Target.from_codes(rng.integers(0, n_users, n_pairs), rng.integers(0, n_items, n_pairs))
    recs = np.stack([rng.permutation(n_items)[:k] for _ in target.users]) if n_items >= k else None
    if recs is None:  # fewer items than slots: pad with -1 like the recommender does
        recs = np.full((target.users.size, k), -1)
        for r in range(target.users.size):
            recs[r, :n_items] = rng.permutation(n_items)
    return train, target, recs, k, draw(st.integers(0, 4)), draw(st.floats(0.05, 1.0))


@settings(max_examples=60, deadline=None)
@given(worlds())
def test_item_segment_invariants(w) -> None:
    train, target, recs, k, threshold, share = w
    masks = item_segments(train, threshold, share)
    assert not (masks["head"] & masks["tail"]).any() and (masks["head"] | masks["tail"]).all()
    counts = np.asarray(train.sum(axis=0)).ravel()
    assert (counts[masks["cold_items"]] <= threshold).all()
    out = item_segment_metrics(recs, target, masks, k)
    for seg, m in out.items():
        r = m["recall"][np.isfinite(m["recall"])]
        assert ((r >= 0) & (r <= 1)).all()
        assert ((m["rec_share"] >= 0) & (m["rec_share"] <= 1)).all()
        cov = item_coverage(recs, masks[seg])
        assert np.isnan(cov) or 0 <= cov <= 1
    filled = (recs >= 0).sum(axis=1) / k
    np.testing.assert_allclose(out["head"]["rec_share"] + out["tail"]["rec_share"], filled)
    # a user's segment recall is defined exactly when the user has a test pair on a segment item
    for seg, mask in masks.items():
        has = np.isin(target.users, target.pair_users[mask[target.pair_items]])
        assert (np.isfinite(out[seg]["recall"]) == has).all()
