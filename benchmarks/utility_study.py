"""Does synthetic data make the recommender better? The utility study behind the README's results.

    python benchmarks/utility_study.py --grid reduced --out benchmarks/results/utility_study.md
    python benchmarks/utility_study.py --grid full ...        # every cell (hours on a 2-core box)
    python benchmarks/utility_study.py --only calibration     # the verdict's false-positive rate only

Each cell: dataset × regime × strategy × recommender × generator. The data is split per user in time
(20% test); in the `sparse` regime every user keeps only the earliest 25% of their training history
and the synthesizer sees only that. A generator is fitted on the training split (and a second copy on
the inner training split, for leak-free tuning) with the same wall-clock budget for every generator,
then `evaluate()` with the product's defaults scores real-only, augmented, the three negative controls
and synthetic-only. Columns: Δ NDCG@10 vs real and vs the best control per segment (mean [95% CI]),
the verdict per segment (all/cold/warm), chosen α, synthetic-only/real NDCG ratio, membership-inference
AUC, and wall times.

Generators: `synthdata` (the GAN; variants `sharp` = the same fitted model sampled with id temperature
0.05 instead of 0.2, `pos` = fitted on positive rows only, so it cannot learn from non-positive
interactions), `ctgan` and `tvae` (ctgan
0.12.1, unconditional only: cold-user / long-tail rows are selected from unconditional samples; they
fit on a row subsample sized so that their fit takes the same budget), and the known-answer
generators of benchmarks/known_answers.py for calibration (`planted`, and the null generators, ≥ 20
seeds: the false-positive rate of `helps`).

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

from synthdata.evaluate import EvalConfig, evaluate
from synthdata.evaluate.api import validation_split
from synthdata.evaluate.augment import generate as augment_rows
from synthdata.evaluate.augment import select
from synthdata.schema import Schema
from synthdata.split import split

ROOT = Path(__file__).resolve().parents[1]
DATA = {"movielens": ROOT.parent / "shared" / "data" / "movielens-100k", "sample": ROOT / "data" / "sample"}
SEGMENTS = ("all", "cold", "warm")
ID_TEMPERATURE = {False: 0.2, True: 0.05}  # the GAN's default id temperature, and the sharper variant
# The calibration runs evaluate() 1 + 3 × seeds times; a smaller grid (same for every generator, never
# chosen by looking at results) keeps that affordable. Recommender seeds stay at the default 3.
CALIBRATION_GRID = dict(
    factors_grid=[32],
    regularization_grid=[1.0],
    alpha_grid=[0.0, 0.1, 1.0],
    iterations=10,
    n_bootstrap=400,
    n_permutations=1000,
)


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


REDUCED = [  # run in this order: the cheapest informative cells first
    Cell("sample", "full", "cold-users", "als", "synthdata"),
    Cell("sample", "full", "cold-users", "als", "synthdata-sharp"),
    Cell("movielens", "full", "unconditional", "als", "synthdata"),
    Cell("movielens", "full", "unconditional", "bpr", "synthdata"),
    Cell("movielens", "full", "unconditional", "als", "ctgan"),
    Cell("movielens", "full", "unconditional", "als", "tvae"),
    Cell("movielens", "sparse", "cold-users", "als", "synthdata"),
    Cell("movielens", "full", "unconditional", "als", "synthdata-pos"),
]


def full_grid() -> list[Cell]:
    gens = ("synthdata", "synthdata-sharp", "synthdata-pos", "ctgan", "tvae")
    return [
        Cell(*c)
        for c in itertools.product(
            DATA, ("full", "sparse"), ("unconditional", "cold-users", "long-tail"), ("als", "bpr"), gens
        )
    ]


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


# ---------------------------------------------------------------------------------------- generators
class TabularBaseline:
    """CTGAN / TVAE (ctgan 0.12.1), fitted on a row subsample that one epoch gets through in the budget."""

    def __init__(self, kind: str, schema: Schema, budget_s: float) -> None:
        self.kind, self.schema, self.budget_s = kind, schema, budget_s
        self.model: Any = None
        self.columns: list[str] = []
        self.dtypes: dict[str, Any] = {}
        self.rows_used = 0

    def fit(self, df: pd.DataFrame) -> TabularBaseline:
        from ctgan import CTGAN, TVAE

        cols = [c.name for c in self.schema.columns if c.name in df.columns]
        data = df[cols].copy()
        data = data[[c for c in cols if not pd.api.types.is_datetime64_any_dtype(data[c])]]
        discrete = [c for c in data.columns if not pd.api.types.is_float_dtype(data[c])]
        discrete = [c for c in discrete if c not in ("age",) or data[c].nunique() < 100]
        self.columns, self.dtypes = list(data.columns), data.dtypes.to_dict()
        data = data.astype({c: str for c in discrete})
        # measured rate on a small probe, then one epoch over as many rows as the rest of the budget allows
        probe = data.sample(n=min(len(data), 2000), random_state=0)
        t0 = time.perf_counter()
        m = CTGAN(epochs=1, verbose=False, enable_gpu=False) if self.kind == "ctgan" else TVAE(epochs=1)
        m.fit(probe, discrete)
        rate = len(probe) / max(1e-3, time.perf_counter() - t0)
        n = int(min(len(data), max(len(probe), rate * max(1.0, self.budget_s - (time.perf_counter() - t0)))))
        m = CTGAN(epochs=1, verbose=False, enable_gpu=False) if self.kind == "ctgan" else TVAE(epochs=1)
        m.fit(data.sample(n=n, random_state=0), discrete)
        self.model, self.rows_used = m, n
        return self

    def sample(self, n: int, conditions: dict | None = None, seed: int | None = None) -> pd.DataFrame:
        if conditions:
            raise NotImplementedError("ctgan/tvae: no exact conditional sampling on ids")
        import torch

        torch.manual_seed(0 if seed is None else seed)
        out = self.model.sample(n)
        for c, dt in self.dtypes.items():
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(dt) if dt.kind in "iuf" else out[c]
        return out


def fit_generator(name: str, train: pd.DataFrame, schema: Schema, budget_s: float):
    from synthdata.evaluate.recommend import positive_rows

    if name in ("ctgan", "tvae"):
        return TabularBaseline(name, schema, budget_s).fit(train)
    from synthdata.model import Synthesizer

    hp: dict[str, Any] = {"progress_bar": False}
    syn = Synthesizer(schema, epochs=100_000, max_minutes=budget_s / 60, seed=0, **hp)
    data = train.loc[positive_rows(train, schema)] if name == "synthdata-pos" else train
    return syn.fit(data.reset_index(drop=True))


def synthetic_tables(cell: Cell, train, schema, cfg: EvalConfig, budget_s: float, cache: dict):
    """(synthetic, val_synthetic, fit seconds): generators fitted once per (data, regime, generator)."""
    inner, _ = validation_split(train, schema, cfg)
    fitted = "synthdata" if cell.generator == "synthdata-sharp" else cell.generator  # same fitted model
    key = (cell.dataset, cell.regime, fitted)
    t0 = time.perf_counter()
    if key not in cache:
        cache[key] = (
            fit_generator(fitted, train, schema, budget_s),
            fit_generator(fitted, inner, schema, budget_s),
        )
    fit_s = time.perf_counter() - t0
    out = []
    for gen, base in zip(cache[key], (train, inner), strict=True):
        if fitted.startswith("synthdata"):  # sharper id decoding at sampling time only
            net = gen._require()[0]
            sharp = ID_TEMPERATURE[cell.generator == "synthdata-sharp"]
            net.hp = net.hp.model_copy(update={"id_temperature": sharp})  # hyperparameters are frozen
        conditional = cell.generator.startswith("synthdata")
        if conditional or cell.strategy == "unconditional":
            rows = augment_rows(
                gen,
                base,
                schema,
                cell.strategy if conditional else "unconditional",
                cold_threshold=cfg.cold_threshold,
                seed=0,
            )
        else:  # unconditional rows, then the strategy's selection
            rows = select(gen.sample(len(base), seed=0), base, schema, cell.strategy, cfg.cold_threshold)
        out.append(rows)
    return out[0], out[1], fit_s


# ------------------------------------------------------------------------------------------- cells
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
        d = rec.get("delta", {}).get(seg, {}).get(metric)
        row[f"d_real_{seg}"] = d and [d["mean"], d["ci_low"], d["ci_high"]]
        dcs = [v[seg][metric] for v in rec.get("delta_control", {}).values()]
        best = min(dcs, key=lambda x: x["mean"]) if dcs else None
        row[f"d_ctl_{seg}"] = best and [best["mean"], best["ci_low"], best["ci_high"]]
        row[f"verdict_{seg}"] = rec.get("verdict", {}).get(seg, "–")
        row[f"n_{seg}"] = rec["real"][seg]["n_users"]
    row["real_ndcg_all"] = rec["real"]["all"][metric]["mean"]
    row["alpha"] = rec.get("chosen_alpha", {}).get("augmented")
    r = rec.get("synthetic_only_ratio", {}).get(metric)
    row["so_ratio"] = r and [r["mean"], r["ci_low"], r["ci_high"]]
    row["mia_auc"] = m.get("privacy", {}).get("mia_auc")
    row["synthetic_rows"] = m["data"].get("synthetic_rows_after_strategy")
    return row


def run_cell(cell: Cell, work: Path, budget_s: float, cache: dict) -> dict[str, Any]:
    train, test, schema = splits(cell.dataset, cell.regime, work)
    cfg = EvalConfig(model=cell.recommender, strategy=cell.strategy, fidelity=False)
    synthetic, val_synthetic, fit_s = synthetic_tables(cell, train, schema, cfg, budget_s, cache)
    t0 = time.perf_counter()
    m = evaluate(train, test, synthetic, schema, cfg, val_synthetic=val_synthetic)
    return summarise(cell, m, fit_s, time.perf_counter() - t0)


def calibration(work: Path, seeds: dict[str, int], share: float) -> list[dict[str, Any]]:
    """Planted generator (must say helps) and the null generators over `seeds` seeds, on the sample."""
    from known_answers import NULLS, tables

    train, test, schema = splits("sample", "full", work)
    rows = []
    for kind in ("planted", *sorted(NULLS, key=lambda k: k == "popularity")):  # popularity last
        for s in range(seeds.get(kind, 0)):
            cfg = EvalConfig(seed=s, fidelity=False, privacy=False, synthetic_only=False, **CALIBRATION_GRID)
            syn, val = tables(
                kind, train, test, schema, cfg, share=0.2 if kind == "planted" else share, seed=s
            )
            t0 = time.perf_counter()
            m = evaluate(train, test, syn, schema, cfg, val_synthetic=val)
            rows.append(
                {
                    "kind": kind,
                    "seed": s,
                    "eval_s": round(time.perf_counter() - t0, 1),
                    **{f"verdict_{g}": m["recsys"]["verdict"][g] for g in SEGMENTS},
                    "alpha": m["recsys"]["chosen_alpha"]["augmented"],
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


# ------------------------------------------------------------------------------------------ output
def _ci(v: list | None) -> str:
    return "–" if not v else f"{v[0]:+.4f} [{v[1]:+.4f}, {v[2]:+.4f}]"


def markdown(cells: list[dict], calib: list[dict], meta: dict) -> str:
    out = [f"<!-- written by benchmarks/utility_study.py; {json.dumps(meta)} -->", ""]
    if cells:
        out += [
            "| dataset | regime | strategy | rec | generator | Δ NDCG vs real (all) "
            "| Δ vs best control (all) | Δ vs real (cold) | Δ vs best control (cold) "
            "| verdict all/cold/warm | α | synthetic-only ratio | MIA AUC | fit s | eval s |",
            "|" + "---|" * 15,
        ]
        for r in cells:
            mia = "–" if r["mia_auc"] is None else f"{r['mia_auc']:.3f}"
            so = (
                "–"
                if not r["so_ratio"]
                else f"{r['so_ratio'][0]:.2f} [{r['so_ratio'][1]:.2f}, {r['so_ratio'][2]:.2f}]"
            )
            out.append(
                f"| {r['dataset']} | {r['regime']} | {r['strategy']} | {r['recommender']} | {r['generator']} "
                f"| {_ci(r['d_real_all'])} | {_ci(r['d_ctl_all'])} "
                f"| {_ci(r['d_real_cold'])} | {_ci(r['d_ctl_cold'])} "
                f"| {r['verdict_all']}/{r['verdict_cold']}/{r['verdict_warm']} | {r['alpha']} | {so} | {mia} "
                f"| {r['fit_s']} | {r['eval_s']} |"
            )
    if calib:
        out += [
            "",
            "| generator | runs | `helps` (any segment) | `helps` share of runs | chosen α > 0 |",
            "|---|---|---|---|---|",
        ]
        for kind in dict.fromkeys(r["kind"] for r in calib):
            rs = [r for r in calib if r["kind"] == kind]
            h = sum(any(r[f"verdict_{g}"] == "helps" for g in SEGMENTS) for r in rs)
            a = sum((r["alpha"] or 0) > 0 for r in rs)
            out.append(f"| {kind} | {len(rs)} | {h} | {h / len(rs):.0%} | {a} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", choices=["reduced", "full"], default="reduced")
    ap.add_argument("--only", choices=["all", "cells", "calibration"], default="all")
    ap.add_argument("--cells", default=None, help="comma-separated cell keys to run (default: the grid)")
    ap.add_argument("--budget-s", type=float, default=60.0, help="wall-clock fit budget per generator fit")
    ap.add_argument("--fpr-seeds", type=int, default=20, help="seeds per null generator (≥ 20 for the FPR)")
    ap.add_argument(
        "--seeds-per-null", default=None, help="override per null, e.g. popularity=20,uniform=7,shuffled=7"
    )
    ap.add_argument("--null-share", type=float, default=0.5, help="null rows per training row")
    ap.add_argument("--work", type=Path, default=Path("runs/utility_study"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/utility_study.md"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    log = a.out.with_suffix(".jsonl")
    grid = REDUCED if a.grid == "reduced" else full_grid()
    if a.cells:
        grid = [c for c in grid if c.key in a.cells.split(",")]
    meta = {"grid": a.grid, "budget_s": a.budget_s, "fpr_seeds": a.fpr_seeds, "load": os.getloadavg()}
    done: list[dict] = []
    calib: list[dict] = []
    cache: dict = {}
    if a.only in ("all", "calibration"):
        from known_answers import NULLS

        seeds = {"planted": 1, **{n: a.fpr_seeds for n in NULLS}}
        if a.seeds_per_null:
            seeds.update({k: int(v) for k, v in (x.split("=") for x in a.seeds_per_null.split(","))})
        calib = calibration(a.work, seeds, a.null_share)
        with log.open("a") as f:
            f.write(json.dumps({"calibration": calib}) + "\n")
        a.out.write_text(markdown(done, calib, meta), encoding="utf-8")
    if a.only in ("all", "cells"):
        for cell in grid:
            t0 = time.perf_counter()
            try:
                row = run_cell(cell, a.work, a.budget_s, cache)
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
