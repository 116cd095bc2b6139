"""Wall time of `evaluate()` alone on MovieLens-100K with default EvalConfig (before/after comparisons).

    python benchmarks/eval_walltime.py prepare [--minutes 1.5]   # fit synthesizers once, cache tables
    python benchmarks/eval_walltime.py time                      # time evaluate() on the cached tables

`prepare` splits MovieLens-100K (user-temporal, 20% test), fits synthdata's GAN on train and on the
inner training split (time-capped; quality is irrelevant here) and caches train/test/synthetic/
val_synthetic as Parquet under --cache. `time` runs `evaluate(train, test, synthetic, schema,
EvalConfig(), val_synthetic=...)` and prints its wall time and stage timings, so the same inputs can be
timed on two versions of the code.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

ML = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens-100k"


def _synthesizer(schema, minutes: float):
    try:
        from synthdata.model import Synthesizer
    except ImportError:  # code before the model package
        from synthdata.synthesizer import Synthesizer
    return Synthesizer(schema, epochs=1000, max_minutes=minutes, seed=0)


def prepare(cache: Path, data: Path, minutes: float) -> None:
    from synthdata.evaluate.config import EvalConfig
    from synthdata.ingest import ingest
    from synthdata.schema import Schema
    from synthdata.split import split

    cache.mkdir(parents=True, exist_ok=True)
    ingest(data, layout="movielens-100k", out=cache / "clean.parquet")
    df = pd.read_parquet(cache / "clean.parquet")
    schema = Schema.from_yaml(cache / "clean.schema.yaml")
    train, test = split(df, schema, "user-temporal", 0.2, seed=0)
    cfg = EvalConfig()
    inner, _ = split(train, schema, cfg.split_protocol, cfg.val_fraction, seed=cfg.seed)
    s = _synthesizer(schema, minutes)
    s.fit(train.reset_index(drop=True))
    synthetic = s.sample(len(train), seed=0)
    s2 = _synthesizer(schema, minutes)
    s2.fit(inner.reset_index(drop=True))
    val_synthetic = s2.sample(len(inner), seed=0)
    tables = {"train": train, "test": test, "synthetic": synthetic, "val_synthetic": val_synthetic}
    for name, t in tables.items():
        t.reset_index(drop=True).to_parquet(cache / f"{name}.parquet")


def time_it(cache: Path) -> None:
    from synthdata.evaluate import EvalConfig, evaluate
    from synthdata.schema import Schema

    schema = Schema.from_yaml(cache / "clean.schema.yaml")
    t = {n: pd.read_parquet(cache / f"{n}.parquet") for n in ("train", "test", "synthetic", "val_synthetic")}
    t0 = time.perf_counter()
    m = evaluate(
        t["train"], t["test"], t["synthetic"], schema, EvalConfig(), val_synthetic=t["val_synthetic"]
    )
    wall = time.perf_counter() - t0
    print(json.dumps({"evaluate_wall_s": round(wall, 1), "stages_s": m.get("timings_s", {})}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["prepare", "time"])
    ap.add_argument("--cache", type=Path, default=Path("runs/eval_walltime"))
    ap.add_argument("--data", type=Path, default=ML)
    ap.add_argument("--minutes", type=float, default=1.5)
    a = ap.parse_args()
    prepare(a.cache, a.data, a.minutes) if a.what == "prepare" else time_it(a.cache)


if __name__ == "__main__":
    main()
