"""Ingest scale benchmark: generate an N-row event log (default 10M) and ingest it.

    python benchmarks/ingest_scale.py [--rows 10000000] [--format csv|parquet] [--chunk-size 500000]

The log is written in chunks (never held whole in memory). The ingest runs in a child process so
its peak RSS (`ru_maxrss` of the children) is measured alone; prints rows/s and peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TYPES = np.array(["view", "cart", "purchase"])


def generate(path: Path, rows: int, users: int, items: int, seed: int, block: int = 1_000_000) -> None:
    """Power-law items, heavy-tailed users, view/cart/purchase mix, 8 weeks of timestamps."""
    rng = np.random.default_rng(seed)
    pop = np.arange(1, items + 1, dtype=float) ** -1.05
    pop /= pop.sum()
    act = rng.pareto(1.2, users) + 1
    act /= act.sum()
    start = pd.Timestamp("2024-01-01", tz="UTC").value // 10**9
    writer = None
    done = 0
    with open(path, "w") if path.suffix == ".csv" else contextlib.nullcontext() as f:
        while done < rows:
            n = min(block, rows - done)
            df = pd.DataFrame(
                {
                    "user_id": rng.choice(users, n, p=act) + 1,
                    "item_id": rng.choice(items, n, p=pop) + 1,
                    "event_type": TYPES[rng.choice(3, n, p=[0.85, 0.11, 0.04])],
                    "timestamp": pd.to_datetime(start + rng.integers(0, 56 * 86400, n), unit="s", utc=True),
                    "value": np.round(rng.lognormal(3, 1, n), 2),
                }
            )
            if path.suffix == ".csv":
                df["timestamp"] = df["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                df.to_csv(f, index=False, header=done == 0, lineterminator="\n")
            else:
                t = pa.Table.from_pandas(df, preserve_index=False)
                writer = writer or pq.ParquetWriter(path, t.schema)
                writer.write_table(t)
            done += n
    if writer is not None:
        writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=50_000)
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    ap.add_argument("--chunk-size", type=int, default=500_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=a.workdir) as d:
        log = Path(d) / f"events.{a.format}"
        t0 = time.perf_counter()
        generate(log, a.rows, a.users, a.items, a.seed)
        gen_s = time.perf_counter() - t0
        print(
            f"generated {a.rows:,} rows ({log.stat().st_size / 1e6:,.0f} MB {a.format}) in {gen_s:.1f} s",
            flush=True,
        )
        schema = Path(d) / "schema.yaml"
        schema.write_text(
            "layout: events\nevent_types: [view, cart, purchase]\ncolumns:\n"
            "- {name: user_id, role: user_id, dtype: int}\n- {name: item_id, role: item_id, dtype: int}\n"
            "- {name: event_type, role: event_type, dtype: string}\n"
            "- {name: timestamp, role: timestamp, dtype: datetime}\n"
            "- {name: value, role: signal, dtype: float, min: 0}\n"
        )
        code = (
            "import sys, json; from synthdata.ingest import ingest; "
            "r = ingest(sys.argv[1], layout='events', schema=sys.argv[2], out=sys.argv[3], "
            "chunk_size=int(sys.argv[4])); print(json.dumps(r.report.to_dict()))"
        )
        t1 = time.perf_counter()
        p = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                str(log),
                str(schema),
                str(Path(d) / "clean.parquet"),
                str(a.chunk_size),
            ],
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t1
        if p.returncode != 0:
            print(p.stderr[-4000:], file=sys.stderr)
            sys.exit(p.returncode)
        rep = json.loads(p.stdout.strip().splitlines()[-1])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB -> MiB (Linux)
        print(
            f"ingest: rows_in={rep['rows_in']:,} rows_out={rep['rows_out']:,} users={rep['n_users']:,} "
            f"items={rep['n_items']:,} merged={rep['rows_merged']:,} rejected={rep['rows_rejected']:,}"
        )
        print(
            f"process wall {wall:.1f} s ({rep['rows_in'] / wall:,.0f} rows/s); "
            f"ingest() {rep['elapsed_s']:.1f} s ({rep['rows_in'] / rep['elapsed_s']:,.0f} rows/s); "
            f"peak RSS {peak:,.0f} MiB ({peak / 1024:.2f} GiB; machine budget 24 GiB)"
        )


if __name__ == "__main__":
    main()
