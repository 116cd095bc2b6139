"""Start-up of `synthdata generate MODEL --rows 10`: the wall time a user waits for ten rows.

Trains a tiny model with the code under `--root` (default: this checkout) through the CLI, then runs
`generate --rows 10` `--repeats` times in fresh processes and prints the median and minimum, the time
of a bare `import torch` in the same environment (the floor: sampling needs torch), and whether the
command imported Lightning (it should not: only fitting needs it). To compare with another version,
run it with `--root` pointing at that checkout, e.g. `git worktree add /tmp/old 74c103d`.

    python benchmarks/model_startup.py [--root PATH] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLI = "import sys; from synthdata.cli import main; main()"
SCHEMA = """columns:
  - {name: user_id, role: user_id, dtype: int}
  - {name: item_id, role: item_id, dtype: int}
  - {name: rating, role: signal, dtype: int, min: 1, max: 5}
  - {name: ts, role: timestamp, dtype: datetime}
"""


def _env(root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(root),
        "OPENBLAS_NUM_THREADS": "1",
        "SYNTHDATA_LOG_LEVEL": "WARNING",
    }


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    """Run in `cwd` (not the checkout: `python -c` puts the working directory first on sys.path)."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    dt = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"command failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return dt, done.stdout + done.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    env = _env(args.root.resolve())
    with tempfile.TemporaryDirectory(prefix="synthdata-startup-") as tmp:
        d = Path(tmp)
        rng = np.random.default_rng(0)
        n = 3000
        pd.DataFrame(
            {
                "user_id": rng.integers(1, 200, n),
                "item_id": rng.integers(1, 300, n),
                "rating": rng.integers(1, 6, n),
                "ts": pd.Timestamp("2024-01-01", tz="UTC")
                + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
            }
        ).to_parquet(d / "t.parquet", index=False)
        (d / "t.schema.yaml").write_text(SCHEMA)
        model = d / "model.ckpt"
        train = [
            sys.executable,
            "-c",
            CLI,
            "train",
            str(d / "t.parquet"),
            "--out",
            str(model),
            "--epochs",
            "1",
        ]
        _timed(train, env, d)
        gen = [
            sys.executable,
            "-c",
            CLI,
            "generate",
            str(model),
            "--rows",
            "10",
            "--out",
            str(d / "o.parquet"),
        ]
        _timed(gen, env, d)  # warm the file cache once
        times = [_timed(gen, env, d)[0] for _ in range(args.repeats)]
        torch_s = min(_timed([sys.executable, "-c", "import torch"], env, d)[0] for _ in range(3))
        _, trace = _timed([sys.executable, "-X", "importtime", *gen[1:]], env, d)
        where = _timed([sys.executable, "-c", "import synthdata; print(synthdata.__file__)"], env, d)
    lightning = "pytorch_lightning" in trace or "lightning.pytorch" in trace
    print(f"code: {args.root} (imported from {where[1].strip() or '?'}); load avg {os.getloadavg()}")
    print(
        f"synthdata generate MODEL --rows 10: median {statistics.median(times):.2f} s, "
        f"min {min(times):.2f} s over {args.repeats} runs (target ≤ 2.5 s)"
    )
    print(f"bare `import torch`: {torch_s:.2f} s; imports Lightning: {'yes' if lightning else 'no'}")


if __name__ == "__main__":
    main()
