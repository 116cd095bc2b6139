"""topk_unseen: exactly the brute-force top-k (ties to the smaller id), and it prunes where norms fall."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from synthdata.evaluate import topk
from synthdata.evaluate.topk import brute_force, topk_unseen


def _case(seed: int, n: int, m: int, f: int, density: float, integer: bool):
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(n, f))
    items = rng.normal(size=(m, f)) * rng.pareto(1.0, size=(m, 1))  # power-law norms, as CF factors have
    if integer:  # many exact ties, zero vectors and negative best scores
        users, items = np.round(users), np.round(items)
    seen = sp.random(n, m, density=density, random_state=seed, format="csr")
    return users.astype(np.float32), items.astype(np.float32), seen


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 40),
    m=st.integers(1, 200),
    f=st.integers(1, 6),
    k=st.integers(1, 12),
    density=st.floats(0.0, 1.0),
    integer=st.booleans(),
    prefix=st.integers(1, 9),
    heavy=st.integers(0, 60),
)
def test_equals_brute_force(seed, n, m, f, k, density, integer, prefix, heavy, monkeypatch_module):
    monkeypatch_module.setattr(topk, "FIRST_PREFIX", prefix)  # pass 2 even on small cases
    monkeypatch_module.setattr(topk, "HEAVY_ROW", heavy)  # and both of its paths
    users, items, seen = _case(seed, n, m, f, density, integer)
    np.testing.assert_array_equal(topk_unseen(users, items, seen, k), brute_force(users, items, seen, k))


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_seen_items_never_returned_and_short_rows_padded():
    users, items, _ = _case(1, 5, 8, 3, 0.0, False)
    seen = sp.csr_matrix(np.array([[1] * 8, [1] * 6 + [0] * 2, [0] * 8, [1, 0] * 4, [0] * 8]))
    out = topk_unseen(users, items, seen, 4)
    assert (out[0] == -1).all()
    assert sorted(out[1][:2]) == [6, 7] and (out[1][2:] == -1).all()
    assert not set(out[3].tolist()) & {0, 2, 4, 6}
    assert out.shape == (5, 4) and out.dtype == np.int64


def test_users_and_items_without_signal_tie_at_zero_and_get_the_smallest_ids(monkeypatch):
    """A model trained on few rows leaves users and items with zero factors: every score ties at 0.
    The ties go to the smaller ids, via the full selection (many candidates) and the sorted one alike."""
    rng = np.random.default_rng(3)
    items = rng.normal(size=(3_000, 8)).astype(np.float32)
    items[rng.random(3_000) < 0.4] = 0  # items absent from the training rows
    users = rng.normal(size=(400, 8)).astype(np.float32)
    users[:150] = 0  # users absent from them
    users[150:200] *= 1e-30  # all but absent
    seen = sp.random(400, 3_000, density=0.02, random_state=3, format="csr")
    expected = brute_force(users, items, seen, 10)
    for heavy in (0, 100, 10_000):
        monkeypatch.setattr(topk, "HEAVY_ROW", heavy)
        np.testing.assert_array_equal(topk_unseen(users, items, seen, 10), expected)
    unseen_first = [np.setdiff1d(np.arange(3_000), seen[u].indices)[:10] for u in range(3)]
    np.testing.assert_array_equal(expected[:3], unseen_first)


def test_empty_inputs():
    assert topk_unseen(np.zeros((0, 3)), np.ones((4, 3)), sp.csr_matrix((0, 4)), 2).shape == (0, 2)
    assert (topk_unseen(np.ones((2, 3)), np.zeros((0, 3)), sp.csr_matrix((2, 0)), 2) == -1).all()


def test_first_pass_finishes_users_when_norms_fall_steeply(monkeypatch):
    """The point of the module: with power-law norms one short prefix decides every list."""
    rng = np.random.default_rng(0)
    m = 20_000
    items = (rng.normal(size=(m, 8)) / np.arange(1, m + 1)[:, None] ** 1.5).astype(np.float32)
    users = (items[rng.integers(0, 50, 300)] * 100 + rng.normal(size=(300, 8)) * 1e-3).astype(np.float32)
    seen = sp.csr_matrix((300, m), dtype=np.float32)
    second: list[int] = []
    real_second = topk._second_pass
    monkeypatch.setattr(topk, "_second_pass", lambda *a: second.append(a[3].size) or real_second(*a))
    monkeypatch.setattr(topk, "FIRST_PREFIX", 256)
    np.testing.assert_array_equal(topk_unseen(users, items, seen, 10), brute_force(users, items, seen, 10))
    assert second == []


def test_second_pass_runs_when_nothing_can_be_pruned(monkeypatch):
    """Equal norms: pass 1 finishes nobody, and pass 2 still gives the exact lists."""
    rng = np.random.default_rng(1)
    items = rng.normal(size=(3_000, 4))
    items = (items / np.linalg.norm(items, axis=1, keepdims=True)).astype(np.float32)
    users = rng.normal(size=(200, 4)).astype(np.float32)
    seen = sp.random(200, 3_000, density=0.3, random_state=1, format="csr")
    second: list[int] = []
    real_second = topk._second_pass
    monkeypatch.setattr(topk, "_second_pass", lambda *a: second.append(a[3].size) or real_second(*a))
    monkeypatch.setattr(topk, "FIRST_PREFIX", 64)
    monkeypatch.setattr(topk, "BLOCK_SCORES", 50_000)  # several blocks of users
    np.testing.assert_array_equal(topk_unseen(users, items, seen, 7), brute_force(users, items, seen, 7))
    assert second == [200]
