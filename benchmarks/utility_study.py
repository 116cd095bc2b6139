"""Does synthetic data make the recommender better? The utility study behind docs/results.md.

    python benchmarks/utility_study.py --grid families --out benchmarks/results/utility_study.md
    python benchmarks/utility_study.py --grid full ...        # every cell (hours on a 2-core box)
    python benchmarks/utility_study.py --only calibration --out benchmarks/results/calibration.md
    python benchmarks/utility_study.py --only cells --generators multvae,multdae --seeds 1,2 \
        --out benchmarks/results/utility_replication.md   # replicate every histories cell
    python benchmarks/study_tables.py benchmarks/results/utility_study.jsonl \
        benchmarks/results/utility_replication.jsonl --out benchmarks/results/utility_study.md

Each cell: dataset × regime × strategy × recommender × generator. The data is split per user in time
(20% test); in the `sparse` regime every user keeps only the earliest 25% of their training history
and the synthesizer sees only that. A generator is fitted on the training split (and a second copy on
the inner training split, for leak-free tuning) under the same wall-clock budget for every generator
(study_generators.py: the families, and which strategy each slot means for them), then `evaluate()`
with the product's defaults (3 recommender seeds) scores real-only, augmented, the three negative
controls and synthetic-only. Columns: Δ NDCG@10 vs real and vs the best control (mean [95% CI]), the
verdict per segment (all/cold/warm), chosen α, synthetic-only/real NDCG ratio, Δ recall on cold items
and Δ share of top-k going to tail items (augmented − real), row-level MIA AUC, the user-level MIA
excess over a null generator (histories), and wall times.

Grids: `families` runs every cell of the histories family (Mult-VAE, Mult-DAE: both datasets, both
regimes, all three strategy slots, ALS and BPR), the row family (GAN, VAE) on MovieLens with ALS, and
CTGAN / TVAE as anchors on MovieLens full with ALS; `full` is every combination.

Calibration: the known-answer generators of synthdata/testing/known_answers.py, shaped like each strategy's
rows (`planted`, and the null generators over many seeds: the false-positive rate of `helps`).

Results are appended to a JSON-lines file as each cell finishes (a killed run keeps what it did) and
the Markdown table is rewritten after every cell.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from study_generators import SLOTS, strategy_for, synthetic_tables
from study_tables import SEGMENTS, markdown

from synthdata.evaluate import EvalConfig, evaluate
from synthdata.schema import Schema
from synthdata.split import split

ROOT = Path(__file__).resolve().parents[1]
DATA = {"movielens": ROOT.parent / "shared" / "data" / "movielens-100k", "sample": ROOT / "data" / "sample"}
# The calibration runs evaluate() 1 + 3 × seeds times; a smaller grid (known_answers.CALIBRATION_GRID, the
# same for every generator, never chosen by looking at results) keeps that affordable. Recommender seeds
# stay at the default 3.


@dataclass(frozen=True)
class Cell:
    dataset: str
    regime: str
    strategy: str
    recommender: str
    generator: str

    @property
    def key(self) -> str:
        return "/".join((self.dataset, self.regime, self.strategy, self.recommender, self.generator))


HISTORIES, ROWS, ANCHORS = ("multvae", "multdae"), ("gan", "vae"), ("ctgan", "tvae")


def _cells(datasets, regimes, slots, recs, generators) -> list[Cell]:
    return [
        Cell(d, r, strategy_for(slot, g), rec, g)
        for g, d, r, slot, rec in itertools.product(generators, datasets, regimes, slots, recs)
    ]


def families_grid() -> list[Cell]:
    """Every histories cell first (the must-run part), then the row family and the anchors."""
    return (
        _cells(("movielens", "sample"), ("full", "sparse"), tuple(SLOTS), ("als", "bpr"), HISTORIES)
        + _cells(("movielens",), ("full", "sparse"), tuple(SLOTS), ("als",), ROWS)
        + _cells(("movielens",), ("full",), ("unconditional", "cold-items"), ("als",), ANCHORS)
    )


def full_grid() -> list[Cell]:
    return _cells(
        tuple(DATA), ("full", "sparse"), tuple(SLOTS), ("als", "bpr"), (*HISTORIES, *ROWS, *ANCHORS)
    )


# ---------------------------------------------------------------------------------------------- data
_CACHE: dict[str, tuple[pd.DataFrame, Schema]] = {}


def load(dataset: str, work: Path) -> tuple[pd.DataFrame, Schema]:
    if dataset not in _CACHE:
        from synthdata.ingest import ingest

        out = work / dataset / "clean.parquet"
        if not out.exists():
            if dataset == "movielens":
                ingest(DATA[dataset], layout="movielens-100k", out=out)
            else:
                ingest(DATA[dataset], layout="events", schema=DATA[dataset] / "schema.yaml", out=out)
        _CACHE[dataset] = (pd.read_parquet(out), Schema.from_yaml(out.with_name("clean.schema.yaml")))
    return _CACHE[dataset]


def sparse(train: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Each user's earliest 25% of training rows (at least one)."""
    ts = schema.time_col
    order = train.sort_values([schema.user_col, ts] if ts else [schema.user_col], kind="mergesort")
    rank = order.groupby(schema.user_col).cumcount()
    size = order.groupby(schema.user_col)[schema.user_col].transform("size")
    return order.loc[rank < np.maximum(1, np.ceil(0.25 * size))].sort_index()


def splits(dataset: str, regime: str, work: Path) -> tuple[pd.DataFrame, pd.DataFrame, Schema]:
    df, schema = load(dataset, work)
    train, test = split(df, schema, "user-temporal", 0.2, seed=0)
    if regime == "sparse":
        train = sparse(train, schema)
    return train.reset_index(drop=True), test.reset_index(drop=True), schema


# ------------------------------------------------------------------------------------------- cells
def _triple(d: dict | None) -> list[float] | None:
    return d and [d["mean"], d["ci_low"], d["ci_high"]]


def summarise(cell: Cell, m: dict, fit_s: float, eval_s: float) -> dict[str, Any]:
    rec = m["recsys"]
    metric = m["config"]["tune_metric"]
    row: dict[str, Any] = {
        "cell": cell.key,
        **cell.__dict__,
        "fit_s": round(fit_s, 1),
        "eval_s": round(eval_s, 1),
    }
    for seg in SEGMENTS:
        row[f"d_real_{seg}"] = _triple(rec.get("delta", {}).get(seg, {}).get(metric))
        dcs = [v[seg][metric] for v in rec.get("delta_control", {}).values()]
        row[f"d_ctl_{seg}"] = _triple(min(dcs, key=lambda x: x["mean"]) if dcs else None)
        row[f"verdict_{seg}"] = rec.get("verdict", {}).get(seg, "–")
        row[f"clause_{seg}"] = rec.get("verdict_detail", {}).get(seg, {}).get("clause")  # the deciding one
        row[f"n_{seg}"] = rec["real"][seg]["n_users"]
    items = rec.get("items", {}).get("delta", {}).get("real", {})
    row["d_cold_items_recall"] = _triple(items.get("cold_items", {}).get("recall"))
    row["d_tail_share"] = _triple(items.get("tail", {}).get("rec_share"))
    row["real_ndcg_all"] = rec["real"]["all"][metric]["mean"]
    row["alpha"] = rec.get("chosen_alpha", {}).get("augmented")
    row["so_ratio"] = _triple(rec.get("synthetic_only_ratio", {}).get(metric))
    row["so_protocol"] = rec.get("synthetic_only_protocol") or m["data"].get("synthetic_only_skipped")
    row["mia_auc"] = m.get("privacy", {}).get("mia_auc")
    row["mia_auc_excess"] = m.get("privacy", {}).get("mia_auc_excess")  # over the null table (mia.py)
    row["user_mia_excess"] = m.get("privacy", {}).get("users", {}).get("mia_auc_excess")
    row["synthetic_rows"] = m["data"].get("synthetic_rows_after_strategy")
    return row


def run_cell(cell: Cell, work: Path, budget_s: float, cache: dict, seed: int = 0) -> dict[str, Any]:
    """One cell; `seed` seeds the generators' fits and draws and the evaluation (replications)."""
    train, test, schema = splits(cell.dataset, cell.regime, work)
    cfg = EvalConfig(model=cell.recommender, strategy=cell.strategy, fidelity=False, seed=seed)
    synthetic, val_synthetic, fit_s = synthetic_tables(cell, train, schema, cfg, budget_s, cache, seed)
    t0 = time.perf_counter()
    m = evaluate(train, test, synthetic, schema, cfg, val_synthetic=val_synthetic)
    return {**summarise(cell, m, fit_s, time.perf_counter() - t0), "seed": seed}


def _refits(rec: dict) -> dict:
    """Fits, the deciding clause per segment, and the comparator refits skipped (settled by real-only)."""
    details = rec.get("verdict_detail", {})
    skipped = rec.get("comparator_refits", {}).get("skipped", [])
    return {
        "fits": rec.get("recommender_fits"),
        **{f"clause_{g}": details[g]["clause"] for g in SEGMENTS if g in details},
        "refits_skipped": len(skipped),
    }


def calibration(work: Path, seeds: dict[str, int], share: float, strategies: list[str], out) -> list[dict]:
    """Planted generator (should say helps) and the null generators over `seeds` seeds, on the sample,
    each shaped like the strategy's rows (known_answers.tables)."""
    from synthdata.testing.known_answers import CALIBRATION_GRID, NULLS, tables

    train, test, schema = splits("sample", "full", work)
    rows = []
    for strategy in strategies:
        for kind in ("planted", *sorted(NULLS, key=lambda k: k == "popularity")):  # popularity last
            for s in range(seeds.get(kind, 0)):
                cfg = EvalConfig(
                    seed=s,
                    strategy=strategy,
                    fidelity=False,
                    privacy=False,
                    synthetic_only=False,
                    **CALIBRATION_GRID,
                )
                syn, val = tables(
                    kind, train, test, schema, cfg, share=0.2 if kind == "planted" else share, seed=s
                )
                t0 = time.perf_counter()
                m = evaluate(train, test, syn, schema, cfg, val_synthetic=val)
                rows.append(
                    {
                        "strategy": strategy,
                        "kind": kind,
                        "seed": s,
                        "synthetic_rows": len(syn),
                        "eval_s": round(time.perf_counter() - t0, 1),
                        **{f"verdict_{g}": m["recsys"]["verdict"].get(g, "–") for g in SEGMENTS},
                        "alpha": m["recsys"]["chosen_alpha"].get("augmented"),
                        **_refits(m["recsys"]),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
                out(rows)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", choices=["families", "full"], default="families")
    ap.add_argument("--only", choices=["all", "cells", "calibration"], default="all")
    ap.add_argument("--cells", default=None, help="comma-separated cell keys to run (default: the grid)")
    ap.add_argument("--generators", default=None, help="comma-separated: only the grid's cells of these")
    ap.add_argument("--budget-s", type=float, default=60.0, help="wall-clock fit budget per generator fit")
    ap.add_argument("--fpr-seeds", type=int, default=20, help="seeds per null generator (≥ 20 for the FPR)")
    ap.add_argument(
        "--seeds-per-null", default=None, help="override per null, e.g. popularity=20,uniform=7,shuffled=7"
    )
    ap.add_argument("--null-share", type=float, default=0.5, help="null rows per training row")
    ap.add_argument("--seeds", default="0", help="cells: comma-separated seeds (generator and evaluation)")
    ap.add_argument(
        "--strategies",
        default="unconditional,virtual-users,cold-neighbours,cold-items",
        help="calibration: the strategies whose null generators are run",
    )
    ap.add_argument("--work", type=Path, default=Path("runs/utility_study"))
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: benchmarks/results/calibration.md with --only calibration (so a calibration never "
        "overwrites the study's table), else benchmarks/results/utility_study.md",
    )
    a = ap.parse_args()
    if a.out is None:
        name = "calibration.md" if a.only == "calibration" else "utility_study.md"
        a.out = ROOT / "benchmarks" / "results" / name
    a.work.mkdir(parents=True, exist_ok=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    log = a.out.with_suffix(".jsonl")
    grid = families_grid() if a.grid == "families" else full_grid()
    if a.cells:
        grid = [c for c in grid if c.key in a.cells.split(",")]
    if a.generators:
        grid = [c for c in grid if c.generator in a.generators.split(",")]
    meta = {"grid": a.grid, "budget_s": a.budget_s, "fpr_seeds": a.fpr_seeds, "load": os.getloadavg()}
    done: list[dict] = []
    calib: list[dict] = []
    cache: dict = {}
    if a.only in ("all", "calibration"):
        from synthdata.testing.known_answers import NULLS

        seeds = {"planted": 1, **{n: a.fpr_seeds for n in NULLS}}
        if a.seeds_per_null:
            seeds.update({k: int(v) for k, v in (x.split("=") for x in a.seeds_per_null.split(","))})

        def progress(rows: list[dict]) -> None:
            a.out.write_text(markdown(done, rows, meta), encoding="utf-8")

        calib = calibration(a.work, seeds, a.null_share, a.strategies.split(","), progress)
        with log.open("a") as f:
            f.write(json.dumps({"calibration": calib}) + "\n")
    if a.only in ("all", "cells"):
        for cell, seed in itertools.product(grid, (int(x) for x in a.seeds.split(","))):
            t0 = time.perf_counter()
            try:
                row = run_cell(cell, a.work, a.budget_s, cache, seed)
            except Exception as e:  # a failed cell is reported, not hidden
                row = {"cell": cell.key, "error": f"{type(e).__name__}: {e}"}
                print(json.dumps(row), flush=True)
                with log.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                continue
            row["cell_s"] = round(time.perf_counter() - t0, 1)
            print(json.dumps(row), flush=True)
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            done.append(row)
            a.out.write_text(markdown(done, calib, meta), encoding="utf-8")
    print(markdown(done, calib, meta))


if __name__ == "__main__":
    main()
