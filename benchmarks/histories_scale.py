"""Scale check of the histories family: 50,000 users × 100,000 items, fit, then sample virtual users.

The target: fitting and sampling stay within 8 GiB RSS on a 2-core machine. Prints the encoder, fit and
sample times, the network's parameter count, steps per second and peak RSS (the process's high-water
mark, so the last figure covers everything before it). The table is gan_scale.py's (users in taste
segments, Zipf popularity, attributes per user and item).

    python benchmarks/histories_scale.py [--users 50000] [--items 100000] [--rows 1000000] [--epochs 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from gan_scale import make_table, rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--model", default="multvae")
    ap.add_argument("--sample-users", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    from synthdata.model.synthesizer import Synthesizer

    t0 = time.perf_counter()
    df, schema = make_table(args.users, args.items, args.rows)
    print(
        f"table: {len(df):,} rows, {df.user_id.nunique():,} users, {df.item_id.nunique():,} items "
        f"({time.perf_counter() - t0:.1f} s to generate); RSS {rss_mb():.0f} MB"
    )
    syn = Synthesizer(
        schema,
        model=args.model,
        epochs=args.epochs,
        batch_size=500,
        seed=0,
        progress_bar=False,
        num_threads=args.threads,
    )
    t0 = time.perf_counter()
    syn.fit(df)
    fit_s = time.perf_counter() - t0
    m = syn.meta
    params = sum(p.numel() for p in syn.net.parameters())
    steps = m["global_step"]
    print(
        f"fit: {fit_s:.1f} s total; encoder {m['transform_fit_seconds']:.1f} s; "
        f"{m['epochs_trained']} epochs, {steps} steps of 500 users in {m['train_seconds']:.1f} s "
        f"({steps / m['train_seconds']:.2f} steps/s); "
        f"{m['positives']:,} positives of {m['users']:,} users over {m['items']:,} items; "
        f"parameters {params:,}; val_recall {m['best_val_recall']:.4f}; RSS {rss_mb():.0f} MB"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "virtual.parquet"
        t0 = time.perf_counter()
        n = syn.sample_to_parquet(out, users=args.sample_users, batch_rows=50_000, seed=1)
        s = time.perf_counter() - t0
        synth = pd.read_parquet(out, columns=["user_id", "item_id", "segment"])
    real = set(df.user_id.unique())
    print(
        f"sample: {args.sample_users:,} virtual users, {n:,} rows in {s:.1f} s ({n / s:,.0f} rows/s); "
        f"distinct items {synth.item_id.nunique():,}; ids colliding with real users "
        f"{len(set(synth.user_id.unique()) & real)}; one segment per virtual user "
        f"{bool((synth.groupby('user_id')['segment'].nunique() == 1).all())}"
    )
    print(f"peak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
