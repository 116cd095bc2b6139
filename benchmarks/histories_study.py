"""Virtual users on MovieLens-100K: the histories family against the row family, side by side.

    python benchmarks/histories_study.py --out benchmarks/results/histories_study.md

Part A, synthetic-only utility (per-user temporal split, 20% test): each generator is fitted on the
training split with the product defaults and makes as many users as the real data has. The ALS model
is trained on the synthetic rows alone and scored on the real test split: for virtual users by
fold-in (each real user's factors recomputed from its training rows), for the row models (GAN, VAE:
real user ids kept) on the same ids. Floor: popularity virtual users (items drawn by training
popularity, the real history lengths). User-level privacy of every virtual-user table.

Part B, augmentation verdicts: `evaluate` with strategy `virtual-users` and `cold-neighbours` (5
neighbours per user with ≤ 10 training positives) on the full and the sparse regime (each user keeps
the earliest 25% of its training rows; the generator sees only those), with the product's tuning,
negative controls and verdict rule. Whatever comes out is reported.

Every cell appends one JSON line to `<out>.jsonl` as it finishes; the Markdown table is rewritten
after each cell.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import pandas as pd
from utility_study import splits

from synthdata.evaluate import EvalConfig
from synthdata.evaluate.recommend import positive_rows
from synthdata.model.registry import FAMILIES
from synthdata.pipeline.experiment import run_experiment
from synthdata.schema import Schema

ROW_BUDGET_S = 120.0  # the row models' fit budget (GAN and VAE alike)


class PopularityUsers:
    """The floor: virtual users whose items follow training popularity, with the real lengths."""

    family = FAMILIES["histories"]  # what augment.is_histories reads off a Synthesizer

    def __init__(self, schema: Schema, seed: int = 0) -> None:
        self.schema, self.seed = schema, seed
        self.train: pd.DataFrame | None = None

    def fit(self, df: pd.DataFrame, **_: Any) -> PopularityUsers:
        self.train = df.loc[positive_rows(df, self.schema)].reset_index(drop=True)
        return self

    def sample_users(self, n: int | None = None, *, like=(), per_user: int = 1, seed=None) -> pd.DataFrame:
        assert self.train is not None
        s, t = self.schema, self.train
        rng = np.random.default_rng(self.seed if seed is None else seed)
        lens = t.groupby(s.user_col).size().to_numpy()
        users = [] if n is None else rng.choice(lens, size=n)
        if like:
            users = np.repeat(t.groupby(s.user_col).size().reindex(like).fillna(1).to_numpy(int), per_user)
        parts = []
        base = 10 ** len(str(int(t[s.user_col].max()) * 10))
        for k, length in enumerate(users):
            rows = t.iloc[rng.choice(len(t), size=int(length), replace=True)].drop_duplicates(s.item_col)
            parts.append(rows.assign(**{s.user_col: base + k}))
        return pd.concat(parts, ignore_index=True)

    def sample(self, n: int, conditions=None, seed=None) -> pd.DataFrame:
        return self.sample_users(max(1, n // 50), seed=seed).head(n)


def factory(generator: str, epochs: int | None):
    def make(schema: Schema) -> Any:
        if generator == "popularity":
            return PopularityUsers(schema)
        from synthdata.model import Synthesizer

        hp: dict[str, Any] = {"progress_bar": False}
        if generator in ("gan", "vae"):
            return Synthesizer(schema, model=generator, epochs=100_000, max_minutes=ROW_BUDGET_S / 60, **hp)
        kw = {"epochs": epochs} if epochs else {}
        return Synthesizer(schema, model=generator, **kw, **hp)

    return make


def run_cell(part: str, regime: str, strategy: str, generator: str, work: Path, epochs: int | None) -> dict:
    train, test, schema = splits("movielens", regime, work)
    cfg = EvalConfig(strategy=strategy)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    res = run_experiment(
        train=train, test=test, schema=schema, synthesizer_factory=factory(generator, epochs), config=cfg
    )
    m, rec = res.metrics, res.metrics["recsys"]
    users = m.get("privacy", {}).get("users", {})
    ratio = rec.get("synthetic_only_ratio", {}).get("ndcg", {})
    return {
        "part": part,
        "regime": regime,
        "strategy": strategy,
        "generator": generator,
        "synthetic_users": int(res.synthetic[schema.user_col].nunique()),
        "synthetic_rows": len(res.synthetic),
        "protocol": rec.get("synthetic_only_protocol"),
        "ratio_ndcg": [ratio.get("mean"), ratio.get("ci_low"), ratio.get("ci_high")],
        "verdict": rec.get("verdict", {}),
        "delta_ndcg_all": rec.get("delta", {}).get("all", {}).get("ndcg"),
        "chosen_alpha": rec.get("chosen_alpha", {}).get("augmented"),
        "identical_to_train": users.get("identical_to_train"),
        "user_mia_auc": users.get("mia_auc"),
        "user_mia_auc_null": users.get("mia_auc_null"),
        "row_mia_auc": m.get("privacy", {}).get("mia_auc"),
        "fit_s": res.timings_s.get("fit_synthesizer"),
        "total_s": round(time.perf_counter() - t0, 1),
    }


CELLS = [
    ("A", "full", "virtual-users", "multvae"),
    ("A", "full", "virtual-users", "multdae"),
    ("A", "full", "virtual-users", "popularity"),
    ("A", "full", "unconditional", "gan"),
    ("A", "full", "unconditional", "vae"),
    ("B", "full", "cold-neighbours", "multvae"),
    ("B", "sparse", "virtual-users", "multvae"),
    ("B", "sparse", "cold-neighbours", "multvae"),
]


def _f(x: Any) -> str:
    return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def markdown(rows: list[dict]) -> str:
    head = (
        "| part | regime | strategy | generator | users | synthetic-only NDCG ratio [95% CI] (protocol) "
        "| verdict all/cold/warm | Δ NDCG all [CI] | α | identical | user MIA AUC (null) | fit s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        m, lo, hi = r["ratio_ndcg"]
        ratio = "—" if m is None else f"{m:.3f} [{lo:.3f}, {hi:.3f}] ({r['protocol']})"
        v = r["verdict"]
        verdict = "/".join(v.get(s, "—") for s in ("all", "cold", "warm")) if v else "—"
        d = r["delta_ndcg_all"]
        delta = "—" if not d else f"{d['mean']:+.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]"
        mia = f"{_f(r['user_mia_auc'])} ({_f(r['user_mia_auc_null'])})"
        lines.append(
            f"| {r['part']} | {r['regime']} | {r['strategy']} | {r['generator']} | {r['synthetic_users']} "
            f"| {ratio} | {verdict} | {delta} | {_f(r['chosen_alpha'])} | {_f(r['identical_to_train'])} "
            f"| {mia} | {_f(r['fit_s'])} |"
        )
    return head + "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/histories_study.md"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/synthdata-histories-study"))
    ap.add_argument("--only", default=None, help="Comma-separated generators to run (default: all cells).")
    ap.add_argument("--epochs", type=int, default=None, help="Histories models' epochs (default: product's).")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    jsonl = args.out.with_suffix(".jsonl")
    rows: list[dict] = []
    for part, regime, strategy, gen in CELLS:
        if args.only and gen not in args.only.split(","):
            continue
        row = run_cell(part, regime, strategy, gen, args.work, args.epochs)
        rows.append(row)
        print(json.dumps(row), flush=True)
        with jsonl.open("a") as f:
            f.write(json.dumps(row) + "\n")
        args.out.write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
