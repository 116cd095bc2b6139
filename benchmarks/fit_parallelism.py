"""Why tuning fits run in worker processes (synthdata/evaluate/fitpool.py): implicit ALS fits on a user
sample and on all users, on one or two threads, two at a time in threads or in processes.

    python benchmarks/fit_parallelism.py [--world runs/evaluate_scale/10M_50000x100000] [--share 0.2]

The world is evaluate_scale.py's (build it with `evaluate_scale.py --sizes 10M` first). Its training
positives become the product's confidence matrix (recommend.real_matrices); the "tuning" matrix keeps
the rows of a seeded `--share` of the users, as evaluate's tuning sample does past 10,000 validation
users (runs._rows), with the full item catalogue. Every fit: ALS, 16 factors (the 10M run's choice),
15 iterations, the product's ALS settings. Also checks that the factors do not depend on the thread
count. Results: benchmarks/results/fit_parallelism.txt (appended).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from synthdata.evaluate.fitpool import FitTask, fit_all
from synthdata.evaluate.recommend import Index, ModelParams, make_model, real_matrices
from synthdata.evaluate.runs import _rows
from synthdata.schema import Schema

RESULTS = Path(__file__).resolve().parent / "results" / "fit_parallelism.txt"
PARAMS = ModelParams(factors=16, regularization=0.01)


def _fit(m, seed: int = 0, threads: int = 0):
    model = make_model(PARAMS, seed, threads)
    model.fit(m, show_progress=False)
    return model


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(name: str, m) -> list[str]:
    """Seconds for one fit on 1 and 2 threads, and for two fits: in sequence, in two threads of this
    process, in two worker processes (fitpool.fit_all; these also recommend, a small extra)."""
    one, two = _timed(lambda: _fit(m, threads=1)), _timed(lambda: _fit(m, threads=2))
    seq = _timed(lambda: [_fit(m, s, threads=2) for s in (0, 1)])
    with ThreadPoolExecutor(2) as ex:
        thr = _timed(lambda: list(ex.map(lambda s: _fit(m, s, threads=1), (0, 1))))
    users = np.flatnonzero(np.diff(m.indptr) > 0)[:2000]
    tasks = [FitTask(m, m, users, 10, PARAMS, s) for s in (0, 1)]
    fit_all(tasks[:1] * 2, 2)  # start the workers once: the evaluation keeps them between batches
    proc = _timed(lambda: fit_all(tasks, 2))
    same = all(
        np.array_equal(a.item_factors, b.item_factors)
        for a, b in [(_fit(m, 3, threads=1), _fit(m, 3, threads=2))]
    )
    return [
        f"{name} ({m.shape[0]:,} × {m.shape[1]:,}, {m.nnz:,} pairs, {int((np.diff(m.indptr) > 0).sum()):,} "
        f"users with pairs): one fit {one:.2f} s on 1 thread, {two:.2f} s on 2; two fits {seq:.2f} s in "
        f"sequence (2 threads each), {thr:.2f} s in two threads (1 each), {proc:.2f} s in two processes "
        f"(1 each); factors identical on 1 and 2 threads: {same}"
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, default=Path("runs/evaluate_scale/10M_50000x100000"))
    ap.add_argument("--share", type=float, default=0.2, help="share of users the tuning matrix keeps")
    a = ap.parse_args()
    schema = Schema.from_yaml(a.world / "schema.yaml")
    train = pd.read_parquet(a.world / "train.parquet")
    pos, _ = real_matrices(train, schema, Index.build(schema, train))
    del train
    keep = np.random.default_rng(0).random(pos.shape[0]) < a.share
    lines = measure(f"tuning-sized ({a.share:.0%} of the users)", _rows(pos, keep))
    lines += measure("all users", pos)
    head = f"# {a.world.name}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}"
    print("\n".join([head, *lines]))
    with open(RESULTS, "a") as f:
        f.write("\n".join([head, *lines]) + "\n")


if __name__ == "__main__":
    main()
