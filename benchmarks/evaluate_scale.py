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

import numpy as np
import pandas as pd

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


# --- the world --------------------------------------------------------------------------------------
def _perturb(train: pd.DataFrame, cat: np.ndarray, price: np.ndarray, by_cat: list, seed: int):
    """A perturbed half of the training rows (no model): half of them get a new item (by popularity,
    inside the row's category), ratings jitter by ±1, times shift by up to 3 days."""
    rng = np.random.default_rng(seed)
    n = len(train)
    syn = train.iloc[np.sort(rng.choice(n, size=n // 2, replace=False))].reset_index(drop=True)
    m = len(syn)
    move = np.flatnonzero(rng.random(m) < 0.5)
    item = syn["item_id"].to_numpy().astype(np.int64)
    cats = cat[item[move]]
    for c in np.unique(cats):
        rows = move[cats == c]
        pool = by_cat[c]
        item[rows] = pool[_power_law(rng, len(pool), len(rows), 0.9)]
    syn["item_id"] = item.astype(syn["item_id"].dtype)
    syn["category"] = cat[item].astype(syn["category"].dtype)
    syn["price"] = price[item]
    r = syn["rating"].to_numpy().astype(np.int64) + rng.integers(-1, 2, m)
    syn["rating"] = np.clip(r, 1, 5).astype(syn["rating"].dtype)
    syn["ts"] = syn["ts"] + pd.to_timedelta(rng.integers(-3 * 86400, 3 * 86400, m), "s")
    return syn


def _power_law(rng: np.random.Generator, n: int, size: int, a: float) -> np.ndarray:
    """Ranks 0..n-1 with P(rank r) ∝ (r+1)^-a (continuous bounded power law, inverse CDF)."""
    u = rng.random(size)
    x = (1 + u * (n ** (1 - a) - 1)) ** (1 / (1 - a))
    return np.minimum(x.astype(np.int64) - 1, n - 1)


def _draw_items(rng, u, seg, by_cat, item_rank, n_items):
    """70% of rows: an item of a category the user's segment likes, by popularity inside the category;
    30%: an item by global popularity. Popularity is a power law in both."""
    n = len(u)
    liked = (seg[u] * 5 + rng.integers(0, 5, n)) % 50
    i = item_rank[_power_law(rng, n_items, n, 0.9)]
    local = rng.random(n) < 0.7
    for c in range(50):  # vectorised per category (50 loops, not per row)
        rows = np.flatnonzero(local & (liked == c))
        pool = by_cat[c]
        i[rows] = pool[_power_law(rng, len(pool), len(rows), 0.9)]
    return i


def _block_world(n_users: int, n_items: int, n_rows: int, out: Path, block_users: int = 50_000) -> None:
    """The world, generated per block of users and written block by block (module doc)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from gan_scale import make_table

    from synthdata.split import split

    schema = make_table(200, 1_000, 2_000)[1]  # gan_scale's schema; the tiny table is discarded
    schema.to_yaml(out / "schema.yaml")
    rng = np.random.default_rng(0)
    seg = rng.integers(0, 20, n_users)
    countries = np.array(["DE", "FR", "GB", "IT", "NL", "PL", "SE", "US", "BR", "IN"])
    country = rng.integers(0, len(countries), n_users)
    cat = rng.integers(0, 50, n_items)
    price = np.round(rng.lognormal(3, 0.8, n_items), 2).astype(np.float32)
    # popularity inside a category follows the item's global popularity rank
    item_rank = rng.permutation(n_items)
    rank_of = np.empty(n_items, dtype=np.int64)
    rank_of[item_rank] = np.arange(n_items)
    by_cat = [np.flatnonzero(cat == c) for c in range(50)]
    by_cat = [p[np.argsort(rank_of[p])] for p in by_cat]
    counts = np.ones(n_users, dtype=np.int64)  # every user appears at least once
    left = n_rows - n_users
    perm = rng.permutation(n_users)
    while left > 0:  # power-law activity, drawn in chunks
        m = min(left, 10_000_000)
        counts += np.bincount(perm[_power_law(rng, n_users, m, 0.5)], minlength=n_users)
        left -= m
    counts = np.minimum(counts, n_items // 4)  # leaves room for distinct items
    writers: dict[str, pq.ParquetWriter] = {}
    done = 0
    t0 = pd.Timestamp("2025-01-01", tz="UTC")
    for start in range(0, n_users, block_users):
        users = np.arange(start, min(start + block_users, n_users))
        want = counts[users]
        u = np.repeat(users, want)
        i = _draw_items(rng, u, seg, by_cat, item_rank, n_items)
        for _ in range(6):  # one row per (user, item): redraw repeats, a few rounds
            key = u * n_items + i
            _, first = np.unique(key, return_index=True)
            dup = np.ones(len(u), dtype=bool)
            dup[first] = False
            if not dup.any():
                break
            i[dup] = _draw_items(rng, u[dup], seg, by_cat, item_rank, n_items)
        keep = np.zeros(len(u), dtype=bool)
        keep[np.unique(u * n_items + i, return_index=True)[1]] = True
        u, i = u[keep], i[keep]
        n = len(u)
        done += n
        df = pd.DataFrame(
            {
                "user_id": u.astype(np.int32),
                "item_id": i.astype(np.int32),
                "rating": np.clip(rng.normal(3.6, 1.0, n).round(), 1, 5).astype(np.int8),
                "views": rng.poisson(2 + 3 * (seg[u] % 3), n).astype(np.int16),
                "ts": t0 + pd.to_timedelta(rng.integers(0, 180 * 86400, n), "s"),
                "segment": seg[u].astype(np.int8),
                "country": pd.Categorical.from_codes(country[u], categories=countries),
                "category": cat[i].astype(np.int8),
                "price": price[i],
            }
        )
        train, test = split(df, schema, "user-temporal", 0.2, seed=start)
        syn = _perturb(train, cat, price, by_cat, seed=start + 1)
        for name, t in (("train", train), ("test", test), ("synthetic", syn)):
            table = pa.Table.from_pandas(t.reset_index(drop=True), preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
            writers[name].write_table(table)
        print(f"  users {users[-1] + 1:,}/{n_users:,}, rows {done:,}", flush=True)
    for w in writers.values():
        w.close()


def build_world(n_rows: int, n_users: int, n_items: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    _block_world(n_users, n_items, n_rows, out)
    (out / "done").write_text(json.dumps({"seconds": round(time.perf_counter() - t0, 1)}))


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
    from synthdata.evaluate import EvalConfig, evaluate
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
    if profile is not None:
        import cProfile
        import io
        import pstats

        prof = cProfile.Profile()
        m = prof.runcall(evaluate, train, test, synthetic, schema, cfg)
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(60)
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40)
        profile.write_text(s.getvalue())
    else:
        m = evaluate(train, test, synthetic, schema, cfg)
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    workers_cpu, workers_peak = _worker_cpu(ruc0), children.stop()
    rec = m["recsys"]
    return {
        "train_rows": len(train),
        "test_rows": len(test),
        "synthetic_rows": len(synthetic),
        "users": m["data"]["users"],
        "items": m["data"]["items"],
        "load_s": round(load_s, 1),
        "rss_after_load_mb": round(rss_loaded),
        "evaluate_wall_s": round(wall, 1),
        # CPU seconds of the evaluate step (all threads and the tuning workers): comparable across a
        # loaded and an idle box
        "evaluate_cpu_s": round(ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime + workers_cpu, 1),
        "workers_cpu_s": round(workers_cpu, 1),
        "workers_peak_rss_mb": workers_peak,
        "timings_s": m["timings_s"],
        "recommender_fits": rec["recommender_fits"],
        "tuning_workers": rec.get("tuning_workers"),
        "scored_users": m["data"]["evaluated_users"],
        "test_users": m["data"]["test_users_with_positives"],
        "max_eval_users": max_eval_users,
        "peak_rss_mb": round(rss_mb()),
        "peak_rss_by_stage_mb": peaks,
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
        world = a.cache / f"{label(size)}_{users}x{items}"
        if not (world / "done").exists():
            t0 = time.perf_counter()
            cmd = [sys.executable, __file__, "--build", str(world), "--rows", str(size)]
            subprocess.run([*cmd, "--users", str(users), "--items", str(items)], check=True)
            print(f"world {label(size)}: built in {time.perf_counter() - t0:.0f} s → {world}", flush=True)
        cmd = [sys.executable, __file__, "--child", str(world)]
        if a.max_eval_users is not None:
            cmd += ["--max-eval-users", str(a.max_eval_users)]
        prof = RESULTS / f"evaluate_scale_{label(size)}.prof.txt"
        if a.profile:
            cmd += ["--prof-file", str(prof)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # its progress lines reach stderr live
        if p.returncode != 0:
            print(p.stdout[-3000:])
            raise SystemExit(f"evaluate child failed for {label(size)} (rc {p.returncode})")
        r = json.loads(next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))[7:])
        r = {"size": label(size), "n_users": users, "n_items": items, "child_wall_s": 0, **r}
        r["child_wall_s"] = round(time.perf_counter() - t0, 1)
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["timings_s"].items())
        peaks = ", ".join(f"{k} {v:,}" for k, v in r.get("peak_rss_by_stage_mb", {}).items())
        line = (
            f"{r['size']} ({users:,} users × {items:,} items; train {r['train_rows']:,}, test "
            f"{r['test_rows']:,}, synthetic {r['synthetic_rows']:,}): evaluate {r['evaluate_wall_s']:.1f} s "
            f"({r['evaluate_wall_s'] / 60:.1f} min; CPU {r['evaluate_cpu_s']:.0f} s), "
            f"{r['recommender_fits']} recommender fits, "
            f"{r['scored_users']:,} scored users{_cap(r)}, peak RSS {r['peak_rss_mb']:,} MiB{_workers(r)} "
            f"({r['rss_after_load_mb']:,} MiB after loading the tables in {r['load_s']:.0f} s); "
            f"stages (s): {stages}; peak RSS by the end of each stage (MiB): {peaks}; "
            f"verdict {r['verdict']}, chosen α {r['chosen_alpha']}"
        )
        print(line, flush=True)
        with open(a.out.with_suffix(".txt"), "a") as f:
            f.write(line + "\n")
        with open(a.out.with_suffix(".jsonl"), "a") as f:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
