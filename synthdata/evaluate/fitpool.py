"""Tuning fits side by side, in worker processes.

Why processes and not threads: a tuning fit trains on a user sample but still solves every item row,
so implicit's ALS spends it in many small BLAS calls, which contend inside the BLAS. On the 2-core box
one 695,190-pair fit (the 10M benchmark's, 16 factors) takes 2.9 s on one thread and 3.3 s on two; two
such fits in two threads of one process take as long as one after the other (6.3 s), two processes
2.9 s for both. A full-data refit is dominated by the pairs and does scale with threads (1.7× on two),
so refits stay in the calling process.

Each user's and item's least-squares solve is independent of the thread count, so a fit in a worker
gives bit-identical factors, lists and scores (tests/evaluate/test_eval_fitpool.py). joblib's loky
backend keeps its workers between batches and needs no `if __name__ == "__main__"` guard in a user's
script.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from synthdata.evaluate.recommend import ModelParams, fit_recommend, has_cuda


@dataclass(frozen=True)
class FitTask:
    """One fit-and-recommend call (recommend.fit_recommend's arguments)."""

    train: sp.csr_matrix
    exclude: sp.csr_matrix
    users: np.ndarray
    k: int
    params: ModelParams
    seed: int
    fold_in: sp.csr_matrix | None = None

    def run(self, num_threads: int = 0) -> np.ndarray:
        return fit_recommend(
            self.train, self.exclude, self.users, self.k, self.params, self.seed, self.fold_in, num_threads
        )


def _run_one_thread(task: FitTask) -> np.ndarray:
    return task.run(num_threads=1)


def fit_workers(setting: int, sampled: bool) -> int:
    """How many processes tuning may use. 0 (auto): one per core when tuning runs on a user sample
    (large data: a process start costs less than a fit) and fits run on CPU; otherwise 1."""
    if setting:
        return setting
    if not sampled or has_cuda():
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def fit_all(tasks: list[FitTask], workers: int) -> list[np.ndarray]:
    """Top-k lists of every task, in order: in this process when one worker or one task suffices."""
    if workers <= 1 or len(tasks) <= 1:
        return [t.run() for t in tasks]
    from joblib import Parallel, delayed

    # max_nbytes=None: arguments travel pickled, not as memory maps in a temporary folder
    par = Parallel(n_jobs=min(workers, len(tasks)), backend="loky", max_nbytes=None)
    return list(par(delayed(_run_one_thread)(t) for t in tasks))
