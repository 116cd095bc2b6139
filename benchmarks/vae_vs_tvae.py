"""synthdata's VAE versus TVAE (ctgan 0.12.1) on the MovieLens-100K interaction table, in the same run.

Same table, scoring and protocol as gan_vs_ctgan.py: the per-user temporal 80% training split
(≈80,000 rows; user_id, item_id, rating, age, gender, occupation, primary genre), one torch thread
for both models, sdmetrics column shapes / column-pair trends with ids scored as categorical.

TVAE one-hot encodes both ids (≈2,600 columns), so by default it trains one epoch on a random
`--tvae-fraction` of the rows and its seconds per full epoch are extrapolated (× 1/fraction; its
per-row cost does not depend on the table size); its fidelity is what that fit buys. synthdata's VAE
(`Synthesizer(model="vae")`, default hyperparameters) then trains on the full table for the same
wall-clock time as TVAE's whole fit. `--tvae-fraction 1` runs a full TVAE epoch instead.

    python benchmarks/vae_vs_tvae.py [--tvae-fraction 0.2] [--sample-rows N] [--threads 1] [--json out.json]
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

    compare(__doc__, "vae", "TVAE", lambda: TVAE(epochs=1, enable_gpu=False), None)


if __name__ == "__main__":
    main()
