"""synthdata's GAN versus CTGAN 0.12.1 on the MovieLens-100K interaction table, in the same run.

Table: the per-user temporal 80% training split (≈80,000 rows) with columns user_id, item_id, rating,
age, gender, occupation, genre (primary). One torch thread for both models, both in this process.
Two separate figures, never mixed:

1. Steady-state seconds per epoch, timed the same way for both tools: the difference of two whole
   `fit` wall-clock times with different epoch counts, divided by the difference of the counts
   (CTGAN `--epochs`, default 1 and 2; synthdata `--synthdata-epochs`, default 5 and 25), so every
   fixed cost (transformer fit, encoding every row, setup) cancels and nothing is scaled up from a
   fraction of an epoch. Full table by default; `--ctgan-fraction F` fits a fixed random subset
   instead, the same rows and the same epoch counts for both tools. The fits are interleaved
   (CTGAN E1, synthdata E1, CTGAN E2, synthdata E2) so both see the same load; `--repeats N` repeats
   the set and reports the median.
2. Quality at equal wall clock: CTGAN's E2-epoch fit sets the budget; synthdata then fits the full
   table for the same wall-clock seconds (`max_minutes`). sdmetrics column-shape and column-pair
   scores against the full training split, ids scored as categorical.

Also prints sampling rows/s and the ratios. Raw output of the docs' run (docs/benchmarks.md):
benchmarks/results/gan_vs_ctgan.txt.

    python benchmarks/gan_vs_ctgan.py [--ctgan-fraction 1] [--epochs 1 2] [--synthdata-epochs 5 25]
        [--repeats 1] [--budget S] [--sample-rows N] [--threads 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import movielens_table as mt
import numpy as np
import pandas as pd

COLUMNS = ["user_id", "item_id", "rating", "age", "gender", "occupation", "genre"]
DISCRETE = ["user_id", "item_id", "rating", "gender", "occupation", "genre"]
MakeRef = Callable[[int], Any]  # epochs -> an unfitted CTGAN/TVAE
Epochs = tuple[list[int], list[int]]  # default (reference E1 E2, synthdata E1 E2) on the full table


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


def ref_table(table: pd.DataFrame) -> pd.DataFrame:
    """The rows as CTGAN/TVAE take them (plain strings for the categorical columns)."""
    return table[COLUMNS].astype({c: str for c in ["gender", "occupation", "genre"]}).reset_index(drop=True)


def fit_reference(data: pd.DataFrame, make: MakeRef, epochs: int) -> tuple[Any, float]:
    """Whole `fit` wall clock of the reference: transformer fit, transform of every row, epochs."""
    model = make(epochs)
    t0 = time.perf_counter()
    model.fit(data, DISCRETE)
    return model, time.perf_counter() - t0


def make_synthesizer(model: str, epochs: int, threads: int, max_minutes: float | None = None) -> Any:
    from synthdata.model import Synthesizer

    return Synthesizer(
        mt.schema(with_time=False),
        model=model,
        epochs=epochs,
        max_minutes=max_minutes,
        seed=0,
        progress_bar=False,
        num_threads=threads,
    )


def fit_synthdata(table: pd.DataFrame, model: str, epochs: int, threads: int) -> tuple[Any, float]:
    """Whole `fit` wall clock of synthdata: transformer fit, encoding, epochs incl. validation."""
    syn = make_synthesizer(model, epochs, threads)
    t0 = time.perf_counter()
    syn.fit(table[COLUMNS].reset_index(drop=True))
    return syn, time.perf_counter() - t0


def warm_up(table: pd.DataFrame, model: str, make: MakeRef, threads: int) -> None:
    """One tiny fit of each so imports and first-call costs do not land in a timed fit."""
    small = table.sample(n=min(2000, len(table)), random_state=1)
    fit_reference(ref_table(small), make, 1)
    fit_synthdata(small, model, 1, threads)


def steady_state(
    rows: pd.DataFrame, model: str, make: MakeRef, epochs: dict[str, list[int]], repeats: int, threads: int
) -> dict[str, Any]:
    """Seconds per epoch of both tools on `rows`: (fit(E2) - fit(E1)) / (E2 - E1), median of repeats.

    `epochs`: {"ref": [E1, E2], "sd": [E1, E2]}; the fits are interleaved (ref E1, sd E1, ref E2, sd E2).
    """
    data = ref_table(rows)
    times: dict[str, list[list[float]]] = {"ref": [[], []], "sd": [[], []]}
    ref_model = None
    for rep in range(repeats):
        for i in (0, 1):
            ref_model, t_ref = fit_reference(data, make, epochs["ref"][i])
            _, t_sd = fit_synthdata(rows, model, epochs["sd"][i], threads)
            times["ref"][i].append(t_ref)
            times["sd"][i].append(t_sd)
            print(
                f"  repeat {rep + 1} on {len(rows)} rows: reference {epochs['ref'][i]:>2} epochs fit "
                f"{t_ref:7.2f} s, synthdata {epochs['sd'][i]:>2} epochs fit {t_sd:6.2f} s "
                f"(load avg {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    out: dict[str, Any] = {"rows": len(rows), "epochs": epochs, "fit_seconds": times}
    for who in ("ref", "sd"):
        e1, e2 = epochs[who]
        per = [(b - a) / (e2 - e1) for a, b in zip(*times[who], strict=True)]
        out[f"{who}_epoch_s_runs"] = per
        out[f"{who}_epoch_s"] = statistics.median(per)
    out["ref_model"], out["ref_fit_seconds"] = ref_model, times["ref"][1][-1]
    return out


def sample_rate(sample: Callable[[int], pd.DataFrame], n: int) -> tuple[pd.DataFrame, float]:
    sample(1000)
    t0 = time.perf_counter()
    synth = sample(n)
    return synth, n / (time.perf_counter() - t0)


def synthdata_at_budget(
    train: pd.DataFrame, model: str, budget_s: float, sample_rows: int, threads: int
) -> dict[str, float]:
    """synthdata on the full table for `budget_s` wall-clock seconds of fit, then sampled and scored."""
    # the budget covers everything fit() does (transformer, encoding, training, validation)
    syn = make_synthesizer(model, 100_000, threads, max_minutes=max(0.1, (budget_s - 5.0) / 60))
    t0 = time.perf_counter()
    syn.fit(train[COLUMNS])
    t_fit = time.perf_counter() - t0
    synth, rate = sample_rate(lambda n: syn.sample(n, seed=1), sample_rows)
    return {
        "fit_seconds": t_fit,
        "epochs": syn.meta["epochs_trained"],
        "sample_rows_per_s": rate,
        "best_val_fidelity": syn.meta["best_val_fidelity"],
        **quality(train, synth),
    }


def parse_args(doc: str, ref_name: str, fraction: float, epochs: Epochs) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument(
        f"--{ref_name.lower()}-fraction",
        dest="fraction",
        type=float,
        default=fraction,
        help="share of the rows (fixed random subset) both tools fit for the per-epoch timing",
    )
    ap.add_argument(
        "--epochs", type=int, nargs=2, default=epochs[0], metavar=("E1", "E2"), help=f"{ref_name} epochs"
    )
    ap.add_argument(
        "--synthdata-epochs",
        type=int,
        nargs=2,
        default=None,
        metavar=("E1", "E2"),
        help=f"synthdata epochs (default {epochs[1]} on the full table; on a subset: --epochs)",
    )
    ap.add_argument("--repeats", type=int, default=1, help="timing sets (median reported)")
    ap.add_argument(
        "--budget", type=float, default=None, help=f"synthdata fit seconds (default: {ref_name}'s E2 fit)"
    )
    ap.add_argument("--sample-rows", type=int, default=100_000)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for both models (1: robust timing)")
    args = ap.parse_args()
    if args.synthdata_epochs is None:
        args.synthdata_epochs = list(epochs[1]) if args.fraction >= 1 else args.epochs
    if args.fraction < 1 and args.synthdata_epochs != args.epochs:
        ap.error("on a subset both tools run the same epoch counts")
    ok = all(1 <= e1 < e2 for e1, e2 in (args.epochs, args.synthdata_epochs))
    if not (0 < args.fraction <= 1 and ok and args.repeats >= 1):
        ap.error("need 0 < fraction <= 1, 1 <= E1 < E2 and repeats >= 1")
    return args


def print_table(model: str, ref_name: str, st: dict[str, Any], sd: dict, ref: dict, budget: float) -> None:
    (e1, e2), (s1, s2) = st["epochs"]["ref"], st["epochs"]["sd"]
    sd_e, ref_e = st["sd_epoch_s"], st["ref_epoch_s"]
    print(
        f"\nsteady state on {st['rows']} rows, (fit(E2) - fit(E1)) / (E2 - E1), median of "
        f"{len(st['sd_epoch_s_runs'])}: synthdata {model} E = {s1}, {s2}: "
        f"{[round(x, 3) for x in st['sd_epoch_s_runs']]} s; {ref_name} E = {e1}, {e2}: "
        f"{[round(x, 2) for x in st['ref_epoch_s_runs']]} s"
    )
    print(
        f"equal wall-clock fit budget {budget:.1f} s: {ref_name} {e2} epochs on {st['rows']} rows "
        f"(its whole fit); synthdata {model}: full table, {sd['epochs']} epochs in {sd['fit_seconds']:.1f} s"
    )
    print(f"{'figure':<40}{'synthdata ' + model:>14}{ref_name:>14}{'ratio':>12}")
    sd_s, ref_s = sd["sample_rows_per_s"], ref["sample_rows_per_s"]
    rows = [
        ("seconds / epoch (steady state)", sd_e, ref_e, f"{ref_e / sd_e:.1f}×"),
        ("training rows/s (steady state)", st["rows"] / sd_e, st["rows"] / ref_e, f"{ref_e / sd_e:.1f}×"),
        ("sampling rows/s", sd_s, ref_s, f"{sd_s / ref_s:.1f}×"),
    ]
    for key, label in (("column_shapes", "column shapes"), ("column_pairs", "column pair trends")):
        rows.append((f"{label}, equal wall clock", sd[key], ref[key], f"{sd[key] - ref[key]:+.3f}"))
    for label, a, b, ratio in rows:
        print(f"{label:<40}{a:>14.3f}{b:>14.3f}{ratio:>12}")


def compare(doc: str, model: str, ref_name: str, make_ref: MakeRef, fraction: float, epochs: Epochs) -> None:
    """Time both tools' steady-state epochs, then score both at equal wall clock; print the table."""
    args = parse_args(doc, ref_name, fraction, epochs)
    train = mt.train_split(mt.load_interactions())
    rows = train if args.fraction >= 1 else train.sample(frac=args.fraction, random_state=0)
    print(
        f"MovieLens-100K train split: {len(train)} rows, columns {COLUMNS}; timing subset {len(rows)} rows "
        f"({args.fraction:.0%}, {rows.user_id.nunique()} users, {rows.item_id.nunique()} items); "
        f"{args.threads} torch thread(s); load avg {os.getloadavg()}",
        flush=True,
    )
    np.random.seed(0)
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    warm_up(train, model, make_ref, args.threads)
    epochs_by = {"ref": args.epochs, "sd": args.synthdata_epochs}
    st = steady_state(rows, model, make_ref, epochs_by, args.repeats, args.threads)
    ref_synth, ref_rate = sample_rate(st.pop("ref_model").sample, args.sample_rows)
    ref = {"fit_seconds": st["ref_fit_seconds"], "sample_rows_per_s": ref_rate, **quality(train, ref_synth)}
    budget = args.budget if args.budget is not None else st["ref_fit_seconds"]
    sd = synthdata_at_budget(train, model, budget, args.sample_rows, args.threads)
    print_table(model, ref_name, st, sd, ref, budget)
    print(f"load avg at end {os.getloadavg()} (other jobs share the machine; both tools ran in this process)")
    if args.json:
        doc_out = {"steady_state": st, "synthdata": sd, ref_name.lower(): ref, "budget_s": budget}
        args.json.write_text(json.dumps(doc_out, indent=1))


def main() -> None:
    from ctgan import CTGAN

    def make(epochs: int) -> Any:
        return CTGAN(epochs=epochs, verbose=False, enable_gpu=False)

    compare(__doc__, "gan", "CTGAN", make, 1.0, ([1, 2], [5, 25]))


if __name__ == "__main__":
    main()
