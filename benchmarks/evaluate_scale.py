"""Scale check of `evaluate()` alone: wall time per stage, recommender fits and peak RSS at 1M–100M rows.

The world has gan_scale.py's columns and schema (users in 20 taste segments, items in 50 categories,
attributes per user and item): 50,000 users × 100,000 items up to 10M interactions, 500,000 users ×
1,000,000 items at 100M (override with --users/--items). Item popularity is a power law (exponent 0.9,
globally and inside each category; 70% of a user's rows come from the categories the user's segment
likes), user activity a power law too (exponent 0.5, capped at a quarter of the catalogue), one row per
(user, item) pair: gan_scale.make_table's Zipf draws repeat pairs (65% of its 1M rows), which
evaluate's held-out check rightly refuses after a per-user split. Generated with a seeded numpy
Generator, vectorised, per block of 50,000 users. The world is split user-temporally (20% test, the
product's default protocol, through synthdata.split), and the "synthetic" table is a perturbed half of
the training rows (half of those rows get another item of the same category by popularity, ratings
jittered by ±1, times shifted by up to 3 days): no model is fitted, the benchmark measures `evaluate`.
The world is built by benchmarks/scale_world.py.

    python benchmarks/evaluate_scale.py [--sizes 1M,10M,100M] [--cache runs/evaluate_scale] [--profile]
        [--max-eval-users N]

Each world is written to Parquet first (train/test/synthetic under --cache/<size>/, reused when present),
in a child process of its own; a second child reads the three files and runs
`evaluate(train, test, synthetic, schema, EvalConfig())` with the product defaults (fidelity and privacy
on). Its peak RSS (ru_maxrss of that child) therefore counts the loaded tables and evaluate, never the
world building; the RSS right after loading is printed beside it. Past 10,000 validation users the
tuning fits run in worker processes (synthdata/evaluate/fitpool.py): their peak RSS (VmHWM, read every
second while they live) is printed beside the child's, and their CPU seconds are added to its CPU.
Each block of users is split on its own (exact for a per-user split) and appended to the Parquet
files, with 32-bit ids and compact attributes, so the world is never in memory whole in the building
process, nor twice in the child. `--profile` runs the child under cProfile and writes the top functions to
benchmarks/results/evaluate_scale_<size>.prof.txt.

Results: benchmarks/results/evaluate_scale.txt (printed lines) and .jsonl (one record per size).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd
from scale_world import build_world

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORLDS = {1_000_000: (50_000, 100_000), 10_000_000: (50_000, 100_000), 100_000_000: (500_000, 1_000_000)}


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}.get(s[-1:], 1)
    return int(float(s[:-1] if s[-1:] in "KMB" else s) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}K"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# --- the measured child -----------------------------------------------------------------------------
def _peak_per_stage() -> dict[str, int]:
    """Wraps evaluate's stage timer so each stage also records the peak RSS (MiB) reached by its end:
    the stage where the figure jumps is the one that set the peak."""
    from contextlib import contextmanager

    import synthdata.evaluate.api as api

    peaks: dict[str, int] = {}
    timed = api._timed

    @contextmanager
    def timed_with_peak(timings: dict[str, float], name: str):
        with timed(timings, name):
            yield
        peaks[name] = round(rss_mb())
        # on stderr as it happens: a run stopped part-way still says how far it got
        line = f"stage {name}: {timings[name]:.1f} s, peak RSS {peaks[name]:,} MiB"
        print(line, file=sys.stderr, flush=True)

    api._timed = timed_with_peak
    return peaks


def run_evaluate(world: Path, profile: Path | None, max_eval_users: int | None = None) -> dict:
    from synthdata.evaluate import EvalConfig
    from synthdata.log import setup_logging
    from synthdata.schema import Schema

    setup_logging()  # progress on stderr ($SYNTHDATA_LOG_LEVEL): a long run shows where it is
    cfg = EvalConfig(max_eval_users=max_eval_users)
    peaks = _peak_per_stage()
    t0 = time.perf_counter()
    schema = Schema.from_yaml(world / "schema.yaml")
    train = pd.read_parquet(world / "train.parquet")
    test = pd.read_parquet(world / "test.parquet")
    synthetic = pd.read_parquet(world / "synthetic.parquet")
    load_s = time.perf_counter() - t0
    rss_loaded = current_rss_mb()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    ruc0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = ChildPeaks()
    children.start()
    t0 = time.perf_counter()
    m = _evaluate(profile, train, test, synthetic, schema, cfg)
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    workers_cpu, workers_peak = _worker_cpu(ruc0), children.stop()
    run = {
        "train_rows": len(train),
        "test_rows": len(test),
        "synthetic_rows": len(synthetic),
        "load_s": round(load_s, 1),
        "rss_after_load_mb": round(rss_loaded),
        "evaluate_wall_s": round(wall, 1),
        # CPU seconds of the evaluate step (all threads and the tuning workers): comparable across a
        # loaded and an idle box
        "evaluate_cpu_s": round(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime + workers_cpu, 1),
        "workers_cpu_s": round(workers_cpu, 1),
        "workers_peak_rss_mb": workers_peak,
        "max_eval_users": max_eval_users,
        "peak_rss_mb": round(rss_mb()),
        "peak_rss_by_stage_mb": peaks,
    }
    return {**run, **_record(m)}


def _evaluate(profile: Path | None, *args):
    """evaluate(*args), under cProfile (top functions written to `profile`) when asked."""
    from synthdata.evaluate import evaluate

    if profile is None:
        return evaluate(*args)
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    m = prof.runcall(evaluate, *args)
    s = io.StringIO()
    pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(60)
    pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
    profile.write_text(s.getvalue())
    return m


def _record(m: dict) -> dict:
    """What the benchmark keeps of evaluate's metrics: sizes, fits, choices, verdicts, NDCG."""
    rec = m["recsys"]
    return {
        "users": m["data"]["users"],
        "items": m["data"]["items"],
        "timings_s": m["timings_s"],
        "recommender_fits": rec["recommender_fits"],
        "tuning_workers": rec.get("tuning_workers"),
        "scored_users": m["data"]["evaluated_users"],
        "test_users": m["data"]["test_users_with_positives"],
        "verdict": rec.get("verdict", {}).get("all"),
        "verdicts": rec.get("verdict", {}),
        "clauses": {seg: d["clause"] for seg, d in rec.get("verdict_detail", {}).items()},
        "comparator_refits": rec.get("comparator_refits"),
        "chosen": {k: v["chosen"] for k, v in rec["tuning"].items()},
        "chosen_alpha": rec.get("chosen_alpha", {}),
        "tuning_grid": {k: v["grid"] for k, v in rec["tuning"].items()},
        "real_ndcg": rec["real"]["all"]["ndcg"]["mean"],
        "augmented_ndcg": rec.get("augmented", {}).get("all", {}).get("ndcg", {}).get("mean"),
    }


class ChildPeaks(threading.Thread):
    """Peak RSS (MiB, VmHWM) of every process evaluate starts (its tuning workers, evaluate/fitpool.py,
    and joblib's resource tracker), read once a second while they live: joblib ends idle workers after
    300 s, and their peak goes with them. RUSAGE_CHILDREN's ru_maxrss is no substitute: Linux records a
    forked child's pre-exec high-water mark, i.e. the parent's own RSS."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(1.0):
            self.poll()

    def poll(self) -> None:
        for pid in _child_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            hwm = [round(int(x.split()[1]) / 1024) for x in status if x.startswith("VmHWM")]
            self.peaks[pid] = max([self.peaks.get(pid, 0), *hwm])

    def stop(self) -> list[int]:
        self._done.set()
        self.join()
        self.poll()
        return sorted(self.peaks.values(), reverse=True)


def _child_pids() -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process().children(recursive=True)]


def _worker_cpu(ruc0) -> float:
    """CPU seconds of evaluate's child processes: those that ended (RUSAGE_CHILDREN) and the live ones."""
    import psutil

    ruc = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ruc.ru_utime + ruc.ru_stime - ruc0.ru_utime - ruc0.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            cpu += t.user + t.system
        except psutil.Error:
            continue
    return cpu


def _workers(r: dict) -> str:
    peaks = r.get("workers_peak_rss_mb") or []
    if not peaks:
        return ""
    total = r["peak_rss_mb"] + sum(peaks)
    return f" + {len(peaks)} helper processes ≤ {peaks[0]:,} MiB each (sum of all peaks {total:,} MiB)"


def _cap(r: dict) -> str:
    cap = r.get("max_eval_users")
    return f" (max_eval_users {cap:,} of {r['test_users']:,})" if cap else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1M,10M")
    ap.add_argument("--users", type=int, default=None, help="default: 50,000 to 10M rows, then 500,000")
    ap.add_argument("--items", type=int, default=None, help="default: 100,000 to 10M rows, then 1,000,000")
    ap.add_argument("--cache", type=Path, default=Path("runs/evaluate_scale"))
    ap.add_argument("--profile", action="store_true", help="cProfile the evaluate child")
    ap.add_argument("--out", type=Path, default=RESULTS / "evaluate_scale")
    ap.add_argument(
        "--max-eval-users", type=int, default=None, help="EvalConfig.max_eval_users (default: all)"
    )
    ap.add_argument("--build", type=Path, help=argparse.SUPPRESS)  # child: build a world into this dir
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # child: evaluate on this world
    ap.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--prof-file", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.build is not None:
        build_world(a.rows, a.users, a.items, a.build)
        return
    if a.child is not None:
        print("RESULT " + json.dumps(run_evaluate(a.child, a.prof_file, a.max_eval_users)), flush=True)
        return
    a.out.parent.mkdir(parents=True, exist_ok=True)
    for size in [parse_size(s) for s in a.sizes.split(",")]:
        users, items = WORLDS.get(size, (50_000, 100_000) if size <= 10_000_000 else (500_000, 1_000_000))
        users, items = a.users or users, a.items or items
        world = _ensure_world(a.cache, size, users, items)
        r = {"size": label(size), "n_users": users, "n_items": items, **_run_child(a, size, world)}
        line = _summary(r)
        print(line, flush=True)
        with open(a.out.with_suffix(".txt"), "a") as f:
            f.write(line + "\n")
        with open(a.out.with_suffix(".jsonl"), "a") as f:
            f.write(json.dumps(r) + "\n")


def _ensure_world(cache: Path, size: int, users: int, items: int) -> Path:
    """The world's directory, built in a child process unless a finished one is cached."""
    world = cache / f"{label(size)}_{users}x{items}"
    if not (world / "done").exists():
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--build", str(world), "--rows", str(size)]
        subprocess.run([*cmd, "--users", str(users), "--items", str(items)], check=True)
        print(f"world {label(size)}: built in {time.perf_counter() - t0:.0f} s → {world}", flush=True)
    return world


def _run_child(a: argparse.Namespace, size: int, world: Path) -> dict:
    """evaluate on `world` in a child process of its own: its record, with the child's wall time."""
    cmd = [sys.executable, __file__, "--child", str(world)]
    if a.max_eval_users is not None:
        cmd += ["--max-eval-users", str(a.max_eval_users)]
    if a.profile:
        cmd += ["--prof-file", str(RESULTS / f"evaluate_scale_{label(size)}.prof.txt")]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # its progress lines reach stderr live
    if p.returncode != 0:
        print(p.stdout[-3000:])
        raise SystemExit(f"evaluate child failed for {label(size)} (rc {p.returncode})")
    r = json.loads(next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))[7:])
    return {"child_wall_s": round(time.perf_counter() - t0, 1), **r}


def _summary(r: dict) -> str:
    """The printed line (and benchmarks/results/evaluate_scale.txt) for one size."""
    stages = ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items())
    peaks = ", ".join(f"{k} {v:,}" for k, v in r.get("peak_rss_by_stage_mb", {}).items())
    return (
        f"{r['size']} ({r['n_users']:,} users × {r['n_items']:,} items; train {r['train_rows']:,}, test "
        f"{r['test_rows']:,}, synthetic {r['synthetic_rows']:,}): evaluate {r['evaluate_wall_s']:.1f} s "
        f"({r['evaluate_wall_s'] / 60:.1f} min; CPU {r['evaluate_cpu_s']:.0f} s), "
        f"{r['recommender_fits']} recommender fits, "
        f"{r['scored_users']:,} scored users{_cap(r)}, peak RSS {r['peak_rss_mb']:,} MiB{_workers(r)} "
        f"({r['rss_after_load_mb']:,} MiB after loading the tables in {r['load_s']:.0f} s); "
        f"stages (s): {stages}; peak RSS by the end of each stage (MiB): {peaks}; "
        f"verdict {r['verdict']}, chosen α {r['chosen_alpha']}"
    )


if __name__ == "__main__":
    main()
