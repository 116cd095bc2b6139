"""synthdata's VAE versus TVAE (ctgan 0.12.1) on the MovieLens-100K interaction table, in the same run.

Same table, scoring and protocol as gan_vs_ctgan.py: the per-user temporal 80% training split
(≈80,000 rows; user_id, item_id, rating, age, gender, occupation, primary genre), one torch thread
for both models, both in this process, sdmetrics column shapes / column-pair trends with ids scored
as categorical. Two separate figures:

1. Steady-state seconds per epoch of both tools, each the difference of two whole `fit` wall-clock
   times with different epoch counts, divided by the difference of the counts (TVAE `--epochs`,
   default 1 and 6; synthdata `--synthdata-epochs`, default 5 and 25), on the full table by default
   (`--tvae-fraction F` fits a fixed random subset instead: the same rows and epoch counts for both).
   TVAE's fixed costs (transformer fit, transforming every row) cancel; nothing is scaled up.
   Fits are interleaved (TVAE E1, VAE E1, TVAE E2, VAE E2); `--repeats N` reports the median.
2. Quality at equal wall clock: TVAE's E2-epoch fit sets the budget; synthdata's VAE
   (`Synthesizer(model="vae")`, default hyperparameters) fits the full table for the same seconds.

Raw output of the docs' run (docs/benchmarks.md): benchmarks/results/vae_vs_tvae.txt.

    python benchmarks/vae_vs_tvae.py [--tvae-fraction 1] [--epochs 1 6] [--synthdata-epochs 5 25]
        [--repeats 1] [--budget S] [--sample-rows N] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_vs_ctgan import compare


def main() -> None:
    from ctgan import TVAE

    compare(__doc__, "vae", "TVAE", lambda e: TVAE(epochs=e, enable_gpu=False), 1.0, ([1, 6], [5, 25]))


if __name__ == "__main__":
    main()
