"""Top-k scoring of an ALS model: implicit's `topk` against the alternatives tried for evaluate.

Each refit of `evaluate` scores every evaluated user against every item (50,000 × 100,000 at 10M rows)
and filters out the user's training items. This script times, on random factors of that shape (64
factors, 4.3M filtered pairs: the 10M world's training positives) and the same filter:

- implicit's `topk` as `evaluate` calls it (all cores, the filter as a CSR);
- the same over two halves of the users on two threads, one core each;
- the same with two BLAS threads (threadpoolctl) instead of one;
- our own blocks: NumPy matmul, the filter set to -inf from the CSR, `argpartition`, two threads;
- PyTorch: matmul, the same filter, `torch.topk` (its own threads);
- `synthdata.evaluate.topk.topk_unseen`, what evaluate uses now: items scored in descending-norm order
  and a user finished once its k-th score beats ‖u‖ × the largest norm left. Random factors are its
  worst case (every item has about the same norm, nothing is pruned).

Every variant must return implicit's lists (ties aside): the share of equal entries is printed.

`--world DIR` (an evaluate_scale.py world, e.g. runs/evaluate_scale/10M) adds the case evaluate meets:
factors *fitted* on the world's training pairs (ALS with 16 and 64 factors, BPR with 32 and 20
epochs), every test user scored, implicit's `recommend` against `topk_unseen`; both must give identical lists.

    python benchmarks/topk_scoring.py [--users 50000] [--items 100000] [--world runs/evaluate_scale/10M]

Results: benchmarks/results/topk_scoring.txt (appended).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESULTS = Path(__file__).resolve().parent / "results" / "topk_scoring.txt"
K, FACTORS = 10, 64


def world(n: int, m: int, nnz: int) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    rng = np.random.default_rng(0)
    users = rng.standard_normal((n, FACTORS), dtype=np.float32)
    items = rng.standard_normal((m, FACTORS), dtype=np.float32)
    rows, cols = rng.integers(0, n, nnz), rng.integers(0, m, nnz)
    seen = sp.csr_matrix((np.ones(nnz, np.float32), (rows, cols)), shape=(n, m))
    seen.sum_duplicates()
    seen.sort_indices()
    return users, items, seen


def implicit_topk(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    from implicit.cpu.topk import topk

    return topk(v, u, K, filter_query_items=seen, num_threads=0)[0]


def implicit_halves(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    from implicit.cpu.topk import topk

    h = u.shape[0] // 2
    parts = [(0, h), (h, u.shape[0])]
    with ThreadPoolExecutor(2) as pool:
        out = pool.map(
            lambda r: topk(v, u[r[0] : r[1]], K, filter_query_items=seen[r[0] : r[1]], num_threads=1)[0],
            parts,
        )
        return np.vstack(list(out))


def implicit_blas2(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):
        return implicit_topk(u, v, seen)


def numpy_blocks(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix, block: int = 256) -> np.ndarray:
    out = np.empty((u.shape[0], K), np.int64)
    m = v.shape[0]

    def one(s: int) -> None:
        e = min(u.shape[0], s + block)
        scores = u[s:e] @ v.T
        b = seen.indptr[s : e + 1]
        scores[np.repeat(np.arange(e - s), np.diff(b)), seen.indices[b[0] : b[-1]]] = -np.inf
        part = np.argpartition(scores, m - K, axis=1)[:, m - K :]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[s:e] = np.take_along_axis(part, order, axis=1)

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(0, u.shape[0], block)))
    return out


def torch_topk(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix, block: int = 2048) -> np.ndarray:
    import torch

    ut, vt = torch.from_numpy(u), torch.from_numpy(v)
    out = np.empty((u.shape[0], K), np.int64)
    for s in range(0, u.shape[0], block):
        e = min(u.shape[0], s + block)
        scores = ut[s:e] @ vt.T
        b = seen.indptr[s : e + 1]
        rows = torch.from_numpy(np.repeat(np.arange(e - s), np.diff(b)))
        scores[rows, torch.from_numpy(seen.indices[b[0] : b[-1]].astype(np.int64))] = -float("inf")
        out[s:e] = torch.topk(scores, K, dim=1).indices.numpy()
    return out


def pruned(u: np.ndarray, v: np.ndarray, seen: sp.csr_matrix) -> np.ndarray:
    from synthdata.evaluate.topk import topk_unseen

    return topk_unseen(u, v, seen, K)


VARIANTS: dict[str, Callable[[np.ndarray, np.ndarray, sp.csr_matrix], np.ndarray]] = {
    "implicit topk (evaluate's call)": implicit_topk,
    "implicit topk, two threads over halves": implicit_halves,
    "implicit topk, two BLAS threads": implicit_blas2,
    "NumPy blocks + argpartition, two threads": numpy_blocks,
    "PyTorch matmul + topk": torch_topk,
    "topk_unseen (norm-pruned; random factors are its worst case)": pruned,
}


def fitted(world_dir: Path) -> list[str]:
    """implicit's `recommend` against `topk_unseen` on factors fitted to the world's training pairs."""
    import pandas as pd
    from implicit.als import AlternatingLeastSquares
    from implicit.bpr import BayesianPersonalizedRanking

    from synthdata.evaluate.topk import topk_unseen

    train = pd.read_parquet(world_dir / "train.parquet", columns=["user_id", "item_id"])
    users = pd.Index(pd.unique(train["user_id"]))
    rows, cols = users.get_indexer(train["user_id"]), pd.factorize(train["item_id"])[0]
    m = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)))
    m.sum_duplicates()
    m.data[:] = 1
    test = pd.read_parquet(world_dir / "test.parquet", columns=["user_id"])["user_id"]
    scored = np.unique(users.get_indexer(pd.unique(test)))
    scored = scored[scored >= 0]
    models = {
        "ALS, 16 factors": AlternatingLeastSquares(
            factors=16, regularization=0.01, alpha=2.0, random_state=0
        ),
        "ALS, 64 factors": AlternatingLeastSquares(factors=64, regularization=1.0, alpha=2.0, random_state=0),
        "BPR, 32 factors": BayesianPersonalizedRanking(
            factors=32, iterations=20, random_state=0, num_threads=1
        ),
    }
    lines = [f"fitted factors, {world_dir}: {scored.size:,} users × {m.shape[1]:,} items, {m.nnz:,} pairs:"]
    for name, model in models.items():
        model.fit(m, show_progress=False)
        seen = m[scored]
        t0 = time.perf_counter()
        ids, scores = model.recommend(scored, seen, N=K, filter_already_liked_items=True)
        t_implicit = time.perf_counter() - t0
        ids = np.where(np.isfinite(scores), ids, -1)
        t0 = time.perf_counter()
        ours = topk_unseen(model.user_factors[scored], model.item_factors, seen, K)
        t_ours = time.perf_counter() - t0
        same = np.mean((ids == ours).all(axis=1))
        lines.append(
            f"  {name}: implicit recommend {t_implicit:.2f} s, topk_unseen {t_ours:.2f} s "
            f"({t_implicit / t_ours:.1f}×), identical lists for {same:.4%} of users"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--seen", type=int, default=4_300_000)
    ap.add_argument("--world", type=Path, help="an evaluate_scale.py world: add the fitted-factors case")
    a = ap.parse_args()
    u, v, seen = world(a.users, a.items, a.seen)
    reference = None
    lines = [
        f"top-{K} of {a.users:,} users × {a.items:,} items, {FACTORS} factors, {seen.nnz:,} filtered pairs:"
    ]
    for name, fn in VARIANTS.items():
        t0 = time.perf_counter()
        ids = fn(u, v, seen)
        wall = time.perf_counter() - t0
        reference = ids if reference is None else reference
        lines.append(f"  {name}: {wall:.1f} s, same lists as implicit {np.mean(ids == reference):.4%}")
        print(lines[-1], flush=True)
    if a.world is not None:
        lines += fitted(a.world)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(f"{time.strftime('%Y-%m-%d')} " + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
