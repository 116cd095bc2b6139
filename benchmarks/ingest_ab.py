"""A/B of one ingest engine between two revisions of synthdata, run alternately on the same input.

    python benchmarks/ingest_ab.py --before 599f0ac [--after WORKTREE] [--rows 10000000] [--rounds 5]

Why: this 2-core box drifts by 10-25% over minutes, so "unchanged or better" after a refactor is read
from runs interleaved before/after/before/after on one input file, not from two runs an hour apart.
`--before` is checked out with `git worktree` into a temporary folder; each ingest runs in a child
process with that revision first on PYTHONPATH (after `os.sync()`), and reports its wall time.
Prints every wall time, the best and the median of each side. Results: benchmarks/results/ingest_ab.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest_scale  # the same generator and schema as the scale benchmark

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, sys, time
from synthdata.ingest import ingest
a = json.loads(sys.argv[1]); t = time.perf_counter()
r = ingest(a.pop("source"), **a)
print(json.dumps({"wall": time.perf_counter() - t, "rows_out": r.report.to_dict()["rows_out"]}))
"""


def _ingest(root: Path, args: dict) -> dict:
    os.sync()
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1"}
    p = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)], capture_output=True, text=True, env=env, cwd=root
    )
    if p.returncode != 0:
        raise SystemExit(f"ingest failed in {root}:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="git revision for the 'before' side")
    ap.add_argument("--after", type=Path, default=ROOT, help="working tree for the 'after' side")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--engine", default="duckdb", choices=["duckdb", "pandas"])
    ap.add_argument("--memory-limit", default="1GB")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work, old = Path(d), Path(d) / "before"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), a.before], check=True
        )
        try:
            csv = work / "events.csv"
            ingest_scale.generate(csv, a.rows, 200_000, 50_000, 0)
            (work / "s.yaml").write_text(ingest_scale.SCHEMA)
            walls: dict[str, list[float]] = {"before": [], "after": []}
            for i in range(a.rounds):
                for side, root in (("before", old), ("after", a.after)):
                    args = {
                        "source": str(csv),
                        "schema": str(work / "s.yaml"),
                        "engine": a.engine,
                        "out": str(work / f"{side}.parquet"),
                        "memory_limit": a.memory_limit,
                    }
                    out = _ingest(root, args)
                    walls[side].append(round(out["wall"], 2))
                    print(f"round {i} {side}: {out['wall']:.2f} s, rows_out {out['rows_out']:,}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    for side, w in walls.items():
        print(
            f"{side} ({a.before if side == 'before' else a.after}): {w} best {min(w):.2f} s median "
            f"{statistics.median(w):.2f} s"
        )
    print(
        f"after/before: best {min(walls['after']) / min(walls['before']):.3f}, median "
        f"{statistics.median(walls['after']) / statistics.median(walls['before']):.3f}"
    )


if __name__ == "__main__":
    main()
