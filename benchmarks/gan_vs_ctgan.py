"""synthdata's GAN versus CTGAN 0.12.1 on the MovieLens-100K interaction table, in the same run.

Table: the per-user temporal 80% training split (≈80,000 rows) with columns user_id, item_id,
rating, age, gender, occupation, genre (primary). Prints, for each model: seconds per epoch and
training rows/s, sampling rows/s, and sdmetrics column-shape / column-pair scores after the same
wall-clock training budget, plus the ratios. Ids are scored as categorical columns.

CTGAN needs ≈183 s per full epoch on the 2-core dev box (far more when the box is shared), so by
default it trains one epoch on a random `--ctgan-fraction` of the rows: its seconds per full epoch
are extrapolated (× 1/fraction; its per-row cost does not depend on the table size) and its fidelity
is what one such epoch — i.e. the same number of optimiser steps per second — buys. synthdata then
trains on the full table for the same wall-clock time as CTGAN's whole fit. `--ctgan-fraction 1`
runs the full epoch instead.

    python benchmarks/gan_vs_ctgan.py [--ctgan-fraction 0.2] [--sample-rows N] [--threads 1] [--json out.json]
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

COLUMNS = ["user_id", "item_id", "rating", "age", "gender", "occupation", "genre"]
DISCRETE = ["user_id", "item_id", "rating", "gender", "occupation", "genre"]


def quality(real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    """sdmetrics QualityReport: Column Shapes and Column Pair Trends (ids as categorical)."""
    from sdmetrics.reports.single_table import QualityReport

    meta = {"columns": {c: {"sdtype": "categorical" if c in DISCRETE else "numerical"} for c in COLUMNS}}
    real = real[COLUMNS].astype({c: str for c in DISCRETE})
    synth = synth[COLUMNS].astype({c: str for c in DISCRETE})
    rep = QualityReport()
    rep.generate(real, synth, meta, verbose=False)
    props = rep.get_properties().set_index("Property")["Score"]
    return {
        "column_shapes": float(props["Column Shapes"]),
        "column_pairs": float(props["Column Pair Trends"]),
    }


def run_ctgan(train: pd.DataFrame, sample_rows: int, fraction: float) -> dict[str, float]:
    from ctgan import CTGAN
    from ctgan.data_transformer import DataTransformer

    data = train[COLUMNS].astype({c: str for c in ["gender", "occupation", "genre"]})
    if fraction < 1:
        data = data.sample(frac=fraction, random_state=0).reset_index(drop=True)
    t0 = time.perf_counter()
    DataTransformer().fit(data, DISCRETE)  # timed alone to split CTGAN's fit into transform + epoch
    t_transform = time.perf_counter() - t0
    model = CTGAN(epochs=1, verbose=False, enable_gpu=False)
    t0 = time.perf_counter()
    model.fit(data, DISCRETE)
    t_fit = time.perf_counter() - t0
    epoch_s = max(1e-9, t_fit - t_transform) / fraction  # extrapolated to the full table
    print(
        f"CTGAN: {len(data)} rows ({data.user_id.nunique()} users, {data.item_id.nunique()} items), "
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
        "train_rows_per_s": len(train) / epoch_s,  # epoch_s is per full-table epoch
        "sample_rows_per_s": sample_rows / t_sample,
        **quality(train, synth),
    }


def run_synthdata(train: pd.DataFrame, budget_s: float, sample_rows: int) -> dict[str, float]:
    from synthdata.model.synthesizer import Synthesizer

    table = train[COLUMNS]
    t0 = time.perf_counter()
    syn = Synthesizer(
        mt.schema(with_time=False), epochs=100_000, max_minutes=None, seed=0, progress_bar=False
    )
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
    ap.add_argument("--budget", type=float, default=None, help="synthdata fit seconds (default: CTGAN's fit)")
    ap.add_argument("--ctgan-fraction", type=float, default=0.2, help="share of rows for CTGAN's epoch")
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
    ct = run_ctgan(train, args.sample_rows, args.ctgan_fraction)
    ct["cpu_seconds"] = time.process_time() - c0
    budget = args.budget if args.budget is not None else ct["fit_seconds"]
    c0 = time.process_time()
    sd = run_synthdata(train, budget, args.sample_rows)
    sd["cpu_seconds"] = time.process_time() - c0
    rows = [
        ("seconds / epoch", "seconds_per_epoch", "ctgan/synthdata"),
        ("training rows/s", "train_rows_per_s", "synthdata/ctgan"),
        ("sampling rows/s", "sample_rows_per_s", "synthdata/ctgan"),
        ("column shapes", "column_shapes", "synthdata-ctgan"),
        ("column pair trends", "column_pairs", "synthdata-ctgan"),
    ]
    print(
        f"\nequal wall-clock fit budget: {budget:.1f} s "
        f"(CTGAN: 1 epoch on {args.ctgan_fraction:.0%} of the rows "
        f"incl. its transformer fit; synthdata: full table)"
    )
    print(
        f"synthdata trained {sd['epochs']} epochs; CTGAN 1 epoch; "
        f"CTGAN seconds/epoch extrapolated to the full "
        f"table (reference on an idle box: 183 s → ratio {183 / sd['seconds_per_epoch']:.0f}×)"
    )
    print(f"{'figure':<22}{'synthdata':>14}{'CTGAN':>14}{'ratio':>12}")
    for label, key, how in rows:
        a, b = sd[key], ct[key]
        ratio = (b / a) if how == "ctgan/synthdata" else (a / b if how == "synthdata/ctgan" else a - b)
        sign = "Δ " if how == "synthdata-ctgan" else "× "
        print(f"{label:<22}{a:>14.3f}{b:>14.3f}{sign:>6}{ratio:>6.2f}")
    print(f"{'transformer fit (s)':<22}{sd['transform_seconds']:>14.2f}{ct['transform_seconds']:>14.2f}")
    print(
        f"process CPU seconds (fit+sample+scoring): synthdata {sd['cpu_seconds']:.1f}, "
        f"CTGAN {ct['cpu_seconds']:.1f}"
    )
    print(
        f"load avg at end {os.getloadavg()} (other jobs share the machine; both models ran in this process)"
    )
    if args.json:
        args.json.write_text(json.dumps({"synthdata": sd, "ctgan": ct, "budget_s": budget}, indent=1))


if __name__ == "__main__":
    main()
