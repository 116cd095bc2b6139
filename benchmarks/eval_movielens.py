"""MovieLens-100K evaluation flow: ingest → split → synthesizer on train only → generate → evaluate.

    python benchmarks/eval_movielens.py [--max-minutes 8] [--epochs 100] [--seeds 3] [--no-tuning-synth]
                                        [--out runs/eval_movielens]

Prints each stage's wall time and the real-only / augmented / popularity P, R, F1 (per-user and of
means) and NDCG @10 with 95% CIs for all, cold and warm users, the paired deltas, and the fidelity and
privacy headline figures. metrics.json and report.html are written to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

from synthdata.cli.evaluate import _json_safe
from synthdata.evaluate import EvalConfig
from synthdata.evaluate.report import summary_table, write_html
from synthdata.ingest import ingest
from synthdata.pipeline.experiment import run_experiment
from synthdata.schema import Schema

ML = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens-100k"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ML)
    ap.add_argument("--out", type=Path, default=Path("runs/eval_movielens"))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--no-tuning-synth", action="store_true", help="skip the inner-split synthesizer")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    ingest(args.data, layout="movielens-100k", out=args.out / "clean.parquet")
    t_ingest = time.perf_counter() - t0
    df = pd.read_parquet(args.out / "clean.parquet")
    schema = Schema.from_yaml(args.out / "clean.schema.yaml")

    def factory(s: Schema):
        from synthdata.model.synthesizer import Synthesizer

        return Synthesizer(s, epochs=args.epochs, max_minutes=args.max_minutes, seed=0)

    res = run_experiment(
        df,
        schema,
        synthesizer_factory=factory,
        config=EvalConfig(seeds=args.seeds),
        tune_synthesizer=not args.no_tuning_synth,
    )
    m = res.metrics
    (args.out / "metrics.json").write_text(json.dumps(_json_safe(m), indent=1), encoding="utf-8")
    write_html(m, args.out / "report.html", train=res.train, synthetic=res.synthetic, schema=schema)

    from rich.console import Console

    console = Console(width=160)
    console.print(summary_table(m))
    times = {"ingest": t_ingest, **res.timings_s}
    console.print("stage seconds: " + ", ".join(f"{k}={v:.1f}" for k, v in times.items()))
    f, p = m["fidelity"], m["privacy"]
    r = f["recsys"]
    console.print(
        f"fidelity: shapes={f['column_shapes']:.3f} pairs={f['column_pair_trends']:.3f} "
        f"detection_auc={f['detection_auc']:.3f} item_pop_js={r['item_popularity']['js']:.3f} "
        f"user_act_js={r['user_activity']['js']:.3f} novel_pairs={r['novel_pair_share']:.3f}"
    )
    console.print(
        f"privacy: exact_copy={p['exact_copy_rate']:.4f} "
        f"dcr_below_holdout_p5={p['dcr_below_holdout_p5_share']:.3f} "
        f"closer_to_train={p['dcr_closer_to_train_share']:.3f} "
        f"(baseline {p['dcr_closer_to_train_baseline']:.3f})"
    )
    console.print(f"tuning: {json.dumps({r: t['chosen'] for r, t in m['recsys']['tuning'].items()})}")


if __name__ == "__main__":
    main()
