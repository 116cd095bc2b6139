"""Tuning the histories generator for synthetic-only utility on MovieLens-100K, then the defaults and the
tuned config side by side on the test split, in one run of this script.

    python benchmarks/tune_study.py                       # 20 trials, --timeout 1800: docs/tuning.md
    python benchmarks/tune_study.py --trials 2 --quick    # smoke test: 10 epochs, a small evaluation

1. Tune: `synthdata tune` (its Python API) on a MovieLens-100K pipeline config (Mult-VAE, virtual users,
   the product's evaluation). Every trial fits on the inner training split and is scored on the
   validation split; the test split is never read. `--workers 2` runs a second `synthdata tune`
   process on the same study (shared storage), one per core. Wall time is measured.
2. Defaults vs tuned: both configs through the pipeline (`synthdata run`'s code: fit on the whole
   training split, generate, evaluate on the test split with CIs, negative controls and the verdict),
   one after the other in this process, printed side by side with tuned / default of the synthetic-only
   NDCG ratio.

Writes `<out>.txt` (the table) and appends to `<out>.jsonl` (the tune summary and one line per config).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import yaml

from synthdata.pipeline import load_config, run_pipeline
from synthdata.tune.api import TuneResult, tune

ROOT = Path(__file__).resolve().parents[1]
MOVIELENS = ROOT.parent / "shared" / "data" / "movielens-100k"
WORKER_DELAY_S = 20.0  # extra workers start once the first one has created the study
QUICK_EVAL = {
    "seeds": 1,
    "factors_grid": [16, 32],
    "regularization_grid": [0.1],
    "alpha_grid": [0.1, 1.0],
    "n_bootstrap": 200,
    "n_permutations": 200,
    "tune_synthesizer": False,
}


def pipeline_config(args: argparse.Namespace) -> dict[str, Any]:
    histories = args.model in ("multvae", "multdae")
    evaluate: dict[str, Any] = {"strategy": "virtual-users" if histories else "unconditional"}
    train: dict[str, Any] = {"model": args.model, "hp": {"num_threads": 1}}
    if args.epochs is not None:
        train["epochs"] = args.epochs
    if args.quick:
        evaluate |= QUICK_EVAL
        train.setdefault("epochs", 10)
    return {
        "name": "ml100k",
        "seed": 0,
        "source": {"path": str(args.data), "layout": "movielens-100k"},
        "split": {"protocol": "user-temporal", "test_fraction": 0.2},
        "train": train,
        "evaluate": evaluate,
    }


def _spawn_workers(args: argparse.Namespace, config: Path, registry: str, procs: list) -> None:
    """Extra `synthdata tune` processes on the same study (started once the first one created it)."""
    for k in range(1, args.workers):
        cmd = [str(Path(sys.executable).with_name("synthdata")), "tune", str(config), "--registry", registry]
        cmd += ["--trials", str(args.trials), "--objective", args.objective, "--sampler-seed", str(k)]
        cmd += ["--out", str(args.work / f"tuned-worker{k}.yaml")]
        cmd += ["--timeout", str(max(1.0, args.timeout - WORKER_DELAY_S))] if args.timeout else []
        log = (args.work / f"worker{k}.log").open("w")
        procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))


def run_tune(args: argparse.Namespace, config: Path, registry: str) -> tuple[TuneResult, float]:
    """The study, in this process plus `--workers - 1` others sharing it; wall seconds."""
    import optuna

    from synthdata.tune.study import finished_trials, open_storage, storage_for

    common = {"objective": args.objective, "out": args.work / "tuned.yaml", "registry_url": registry}
    procs: list[subprocess.Popen] = []
    timer = threading.Timer(WORKER_DELAY_S, _spawn_workers, (args, config, registry, procs))
    timer.start()
    t0 = time.perf_counter()
    res = tune(config, trials=args.trials, timeout=args.timeout, sampler_seed=0, **common)
    timer.join()
    for proc in procs:
        proc.wait()
    wall = time.perf_counter() - t0
    if procs:  # the best over every worker's trials; asks for no trial the study does not hold
        study = optuna.load_study(study_name=res.study, storage=open_storage(storage_for(registry)))
        res = tune(config, trials=max(1, min(args.trials, finished_trials(study))), **common)
    return res, wall


def on_test_split(label: str, config: Path, registry: str, runs: Path) -> dict[str, Any]:
    """One config through the pipeline; what its metrics say on the test split."""
    cfg = load_config(config)
    t0 = time.perf_counter()
    res = run_pipeline(cfg, config_path=config, registry_url=registry, runs_dir=runs)
    rec = (res.metrics or {})["recsys"]
    ratio = rec.get("synthetic_only_ratio", {}).get("ndcg", {})
    train = res.stages.get("train")
    return {
        "part": "test",
        "config": label,
        "run_id": res.run_id,
        "hp": cfg.train.hp,
        "ratio_ndcg": [ratio.get("mean"), ratio.get("ci_low"), ratio.get("ci_high")],
        "protocol": rec.get("synthetic_only_protocol"),
        "verdict": rec.get("verdict", {}),
        "delta_ndcg_all": rec.get("delta", {}).get("all", {}).get("ndcg"),
        "chosen_alpha": rec.get("chosen_alpha", {}).get("augmented"),
        "train_s": None if train is None else train.seconds,
        "run_s": round(time.perf_counter() - t0, 1),
    }


def tune_row(args: argparse.Namespace, res: TuneResult, wall: float) -> dict[str, Any]:
    states = [t.state.name.lower() for t in res.trials]
    first = next((t for t in res.trials if t.number == 0), None)
    return {
        "part": "tune",
        "model": args.model,
        "objective": args.objective,
        "trials": args.trials,
        "timeout_s": args.timeout,
        "workers": args.workers,
        "cpu_count": os.cpu_count(),
        "quick": args.quick,
        "states": {s: states.count(s) for s in sorted(set(states))},
        "wall_s": round(wall, 1),
        "defaults_validation": None if first is None else first.value,
        "best_trial": res.best_number,
        "best_validation": res.best_value,
        "best_params": {k: list(v) if isinstance(v, tuple) else v for k, v in res.best_params.items()},
    }


def _secs(x: float | None) -> str:
    return "—" if x is None else f"{x:.0f}"


def _ci(r: list[Any]) -> str:
    m, lo, hi = r
    return "—" if m is None else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


def report(t: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        f"MovieLens-100K, {t['model']}, objective {t['objective']}: {t['trials']} trials requested, "
        f"{t['states']} in {t['wall_s']:.0f} s (timeout {t['timeout_s']} s, {t['workers']} worker(s), "
        f"{t['cpu_count']} cores){' [quick]' if t['quick'] else ''}",
        f"validation split: defaults (trial 0) {t['defaults_validation']}, best trial {t['best_trial']} "
        f"{t['best_validation']:.4f}; best settings {t['best_params']}",
        "",
        "test split (the pipeline, this process):",
        "| config | synthetic-only NDCG ratio [95% CI] (protocol) | verdict all/cold/warm | Δ NDCG all [CI] "
        "| α | train s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        v = "/".join(r["verdict"].get(s, "—") for s in ("all", "cold", "warm")) if r["verdict"] else "—"
        d = r["delta_ndcg_all"]
        delta = "—" if not d else f"{d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
        lines.append(
            f"| {r['config']} | {_ci(r['ratio_ndcg'])} ({r['protocol']}) | {v} | {delta} "
            f"| {r['chosen_alpha']} | {_secs(r['train_s'])} |"
        )
    a, b = rows[0]["ratio_ndcg"][0], rows[1]["ratio_ndcg"][0]
    if a and b is not None:
        lines.append(f"\ntuned / default synthetic-only NDCG ratio: {b / a:.3f}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=MOVIELENS)
    ap.add_argument("--model", default="multvae")
    ap.add_argument("--objective", default="synthetic-only")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--workers", type=int, default=1, help="`synthdata tune` processes on the study.")
    ap.add_argument("--epochs", type=int, default=None, help="Training epochs (default: the pipeline's).")
    ap.add_argument("--quick", action="store_true", help="10 epochs and a small evaluation (smoke test).")
    ap.add_argument("--work", type=Path, default=Path("/tmp/synthdata-tune-study"))
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="Default: benchmarks/results/tune_study.txt "
        "(with --quick: in --work, so a smoke test never overwrites the recorded figures).",
    )
    args = ap.parse_args()
    if args.out is None:
        args.out = (args.work if args.quick else ROOT / "benchmarks" / "results") / "tune_study.txt"
    shutil.rmtree(args.work, ignore_errors=True)  # a fresh study and registry every time
    args.work.mkdir(parents=True)
    config = args.work / "ml100k.yaml"
    config.write_text(yaml.safe_dump(pipeline_config(args), sort_keys=False))
    registry = f"sqlite:///{args.work / 'registry.db'}"

    res, wall = run_tune(args, config, registry)
    t = tune_row(args, res, wall)
    print(json.dumps(t), flush=True)
    pairs = (("default", config), ("tuned", res.out))
    rows = [on_test_split(label, path, registry, args.work / "runs") for label, path in pairs]
    text = report(t, rows)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    with args.out.with_suffix(".jsonl").open("a") as f:
        for row in (t, *rows):
            f.write(json.dumps(row, default=str) + "\n")


if __name__ == "__main__":
    main()
