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

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import movielens_table as mt
import numpy as np
import pandas as pd
from gan_vs_ctgan import COLUMNS, DISCRETE, quality


def run_tvae(train: pd.DataFrame, sample_rows: int, fraction: float) -> dict[str, float]:
    from ctgan import TVAE
    from ctgan.data_transformer import DataTransformer

    data = train[COLUMNS].astype({c: str for c in ["gender", "occupation", "genre"]})
    if fraction < 1:
        data = data.sample(frac=fraction, random_state=0).reset_index(drop=True)
    t0 = time.perf_counter()
    DataTransformer().fit(data, DISCRETE)  # timed alone to split TVAE's fit into transform + epoch
    t_transform = time.perf_counter() - t0
    model = TVAE(epochs=1, cuda=False)
    t0 = time.perf_counter()
    model.fit(data, DISCRETE)
    t_fit = time.perf_counter() - t0
    epoch_s = max(1e-9, t_fit - t_transform) / fraction  # extrapolated to the full table
    print(
        f"TVAE: {len(data)} rows ({data.user_id.nunique()} users, {data.item_id.nunique()} items), "
        f"fit {t_fit:.1f} s (transformer {t_transform:.1f} s) → {epoch_s:.1f} s per full epoch",
        flush=True,
    )
    model.sample(1000)
    t0 = time.perf_counter()
    synth = model.sample(sample_rows)
    t_sample = time.perf_counter() - t0
    return {
        "fit_seconds": t_fit,
        "transform_seconds": t_transform,
        "epochs": 1,
        "seconds_per_epoch": epoch_s,
        "train_rows_per_s": len(train) / epoch_s,
        "sample_rows_per_s": sample_rows / t_sample,
        **quality(train, synth),
    }


def run_vae(train: pd.DataFrame, budget_s: float, sample_rows: int) -> dict[str, float]:
    from synthdata.model import Synthesizer

    table = train[COLUMNS]
    t0 = time.perf_counter()
    syn = Synthesizer(mt.schema(with_time=False), model="vae", epochs=100_000, seed=0, progress_bar=False)
    # the wall-clock budget covers everything fit() does (transformer, encoding, training, validation)
    syn.max_minutes = max(0.1, (budget_s - 5.0) / 60)
    syn.fit(table)
    t_fit = time.perf_counter() - t0
    m = syn.meta
    epoch_s = m["train_seconds"] / max(1, m["epochs_trained"])
    syn.sample(1000)
    t0 = time.perf_counter()
    synth = syn.sample(sample_rows, seed=1)
    t_sample = time.perf_counter() - t0
    return {
        "fit_seconds": t_fit,
        "transform_seconds": m["transform_fit_seconds"],
        "epochs": m["epochs_trained"],
        "seconds_per_epoch": epoch_s,
        "train_rows_per_s": len(table) / epoch_s,
        "sample_rows_per_s": sample_rows / t_sample,
        "best_val_fidelity": m["best_val_fidelity"],
        **quality(train, synth),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=None, help="synthdata fit seconds (default: TVAE's fit)")
    ap.add_argument("--tvae-fraction", type=float, default=0.2, help="share of rows for TVAE's epoch")
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for both models (1: robust timing)")
    args = ap.parse_args()
    train = mt.train_split(mt.load_interactions())
    print(f"MovieLens-100K train split: {len(train)} rows, columns {COLUMNS}; load avg {os.getloadavg()}")
    np.random.seed(0)
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    c0 = time.process_time()
    tv = run_tvae(train, args.sample_rows, args.tvae_fraction)
    tv["cpu_seconds"] = time.process_time() - c0
    budget = args.budget if args.budget is not None else tv["fit_seconds"]
    c0 = time.process_time()
    sd = run_vae(train, budget, args.sample_rows)
    sd["cpu_seconds"] = time.process_time() - c0
    rows = [
        ("seconds / epoch", "seconds_per_epoch", "tvae/synthdata"),
        ("training rows/s", "train_rows_per_s", "synthdata/tvae"),
        ("sampling rows/s", "sample_rows_per_s", "synthdata/tvae"),
        ("column shapes", "column_shapes", "synthdata-tvae"),
        ("column pair trends", "column_pairs", "synthdata-tvae"),
    ]
    print(
        f"\nequal wall-clock fit budget: {budget:.1f} s (TVAE: 1 epoch on {args.tvae_fraction:.0%} of the "
        f"rows incl. its transformer fit; synthdata VAE: full table, {sd['epochs']} epochs)"
    )
    print(f"{'figure':<22}{'synthdata VAE':>14}{'TVAE':>14}{'ratio':>12}")
    for label, key, how in rows:
        a, b = sd[key], tv[key]
        ratio = (b / a) if how == "tvae/synthdata" else (a / b if how == "synthdata/tvae" else a - b)
        sign = "Δ " if how == "synthdata-tvae" else "× "
        print(f"{label:<22}{a:>14.3f}{b:>14.3f}{sign:>6}{ratio:>6.2f}")
    print(f"{'transformer fit (s)':<22}{sd['transform_seconds']:>14.2f}{tv['transform_seconds']:>14.2f}")
    print(
        f"process CPU seconds (fit+sample+scoring): synthdata {sd['cpu_seconds']:.1f}, "
        f"TVAE {tv['cpu_seconds']:.1f}"
    )
    print(
        f"load avg at end {os.getloadavg()} (other jobs share the machine; both models ran in this process)"
    )
    if args.json:
        args.json.write_text(json.dumps({"synthdata_vae": sd, "tvae": tv, "budget_s": budget}, indent=1))


if __name__ == "__main__":
    main()
