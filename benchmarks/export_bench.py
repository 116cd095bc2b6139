"""Export benchmark: 1M synthetic interaction rows from Parquet into PostgreSQL (COPY) and SQLite.

    python benchmarks/export_bench.py [--rows 1000000] [--chunk-size 100000] [--pg URL]
                                      [--baseline-rows 100000]

Prints rows/s per backend, and the ratio against pandas' ``DataFrame.to_sql`` (its default executemany)
on a smaller slice as a reference point. PostgreSQL runs in a throw-away schema that is dropped
afterwards; the URL defaults to $SYNTHDATA_TEST_PG or the local test server.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthdata.export import export_table
from synthdata.masking import mask_url

DEFAULT_PG = os.environ.get("SYNTHDATA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def make_rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Columns shaped like the sample's clean table: ids, count signals, timestamps, attributes."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90 * 86400, n), unit="s")
    return pd.DataFrame(
        {
            "user_id": rng.integers(1, 200_000, n),
            "item_id": rng.integers(1, 50_000, n),
            "views": rng.poisson(3, n),
            "carts": rng.poisson(0.4, n),
            "purchases": rng.poisson(0.1, n),
            "first_ts": first,
            "last_ts": first + pd.to_timedelta(rng.integers(0, 7 * 86400, n), unit="s"),
            "age_band": pd.Categorical(rng.choice(["18-24", "25-34", "35-44", "45-54", "55+"], n)),
            "country": pd.Categorical(rng.choice(["DE", "FR", "US", "GB", "ES", "IT"], n)),
            "category": pd.Categorical(rng.choice([f"cat_{i}" for i in range(20)], n)),
            "price": np.round(rng.gamma(2.0, 20.0, n), 2),
        }
    )


def pandas_baseline(df: pd.DataFrame, url: str, table: str) -> float:
    eng = sa.create_engine(url)
    try:
        t0 = time.perf_counter()
        df.to_sql(
            table, eng, if_exists="replace", index=False, chunksize=10_000
        )  # pandas default: executemany
        return len(df) / (time.perf_counter() - t0)
    finally:
        eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk-size", type=int, default=100_000)
    ap.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL ('' skips PostgreSQL)")
    ap.add_argument("--baseline-rows", type=int, default=100_000, help="rows for the pandas.to_sql reference")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        src = Path(tmp) / "synth.parquet"
        df = make_rows(args.rows)
        df.to_parquet(src, row_group_size=args.chunk_size, index=False)
        print(f"source: {args.rows:,} rows, {src.stat().st_size / 1e6:.1f} MB Parquet, {df.shape[1]} columns")
        base = df.head(args.baseline_rows)
        del df
        results: dict[str, tuple[float, float]] = {}

        sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        r = export_table(
            src, sqlite_url, "synthetic_interactions", if_exists="replace", chunk_size=args.chunk_size
        )
        ref = pandas_baseline(base, sqlite_url, "baseline") if args.baseline_rows else float("nan")
        results["sqlite"] = (r.rows_per_s, ref)
        print(f"sqlite     : {r.rows:,} rows in {r.seconds:6.2f} s = {r.rows_per_s:>10,.0f} rows/s")

        if args.pg:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(args.pg)
            with admin.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            sep = "&" if "?" in args.pg else "?"
            pg = f"{args.pg}{sep}options=-csearch_path%3D{schema}"
            try:
                r = export_table(
                    src, pg, "synthetic_interactions", if_exists="replace", chunk_size=args.chunk_size
                )
                ref = pandas_baseline(base, pg, "baseline") if args.baseline_rows else float("nan")
                results["postgresql"] = (r.rows_per_s, ref)
                print(
                    f"postgresql : {r.rows:,} rows in {r.seconds:6.2f} s = {r.rows_per_s:>10,.0f} rows/s "
                    f"({mask_url(args.pg)}, COPY)"
                )
            finally:
                with admin.begin() as c:
                    c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()

    print("\nbackend     synthdata rows/s   pandas.to_sql rows/s   speed-up")
    for name, (ours, ref) in results.items():
        print(f"{name:<11} {ours:>16,.0f}   {ref:>20,.0f}   {ours / ref:>7.1f}x")
    if "postgresql" in results:
        print(f"postgresql / sqlite: {results['postgresql'][0] / results['sqlite'][0]:.2f}x")


if __name__ == "__main__":
    main()
