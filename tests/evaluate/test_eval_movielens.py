"""MovieLens-100K end to end in CI size: ingest → split → GAN fitted on train only → generate → evaluate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from synthdata.evaluate import EvalConfig
from synthdata.evaluate.fidelity import detection_auc
from synthdata.pipeline.experiment import run_experiment
from synthdata.schema import Schema

pytestmark = [pytest.mark.movielens, pytest.mark.slow]
SYNTHDATA = str(Path(sys.executable).with_name("synthdata"))

CI_CONFIG = dict(
    seeds=1,
    factors_grid=[32],
    regularization_grid=[0.1],
    alpha_grid=[0.3],
    iterations=8,
    n_bootstrap=200,
    n_permutations=200,
    fidelity_max_rows=5000,
    detection_max_rows=1000,
    privacy_max_rows=300,
)


@pytest.fixture(scope="module")
def clean(movielens_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Schema]:
    from synthdata.ingest import ingest

    out = tmp_path_factory.mktemp("ml") / "clean.parquet"
    ingest(movielens_dir, layout="movielens-100k", out=out)
    return pd.read_parquet(out), Schema.from_yaml(out.with_name("clean.schema.yaml"))


def test_movielens_experiment_end_to_end(clean: tuple[pd.DataFrame, Schema]) -> None:
    from synthdata.model.synthesizer import Synthesizer

    df, schema = clean
    fitted: list[pd.DataFrame] = []

    class Recorded(Synthesizer):
        def fit(self, data: pd.DataFrame, **kw):  # type: ignore[override]
            fitted.append(data)
            return super().fit(data, **kw)

    res = run_experiment(
        df,
        schema,
        synthesizer_factory=lambda s: Recorded(s, epochs=1, max_minutes=0.2, seed=0),
        n_synthetic=20_000,
        tune_synthesizer=False,
        config=EvalConfig(**CI_CONFIG),
    )
    # Leakage: the GAN saw exactly the training split, none of the 20,000 test interactions.
    assert len(fitted) == 1 and len(fitted[0]) == len(res.train) == 80_000 and len(res.test) == 20_000
    key = ["user_id", "item_id"]
    assert not pd.MultiIndex.from_frame(fitted[0][key]).isin(pd.MultiIndex.from_frame(res.test[key])).any()
    m = res.metrics
    assert len(res.synthetic) == 20_000
    assert list(res.synthetic.columns) == list(df.columns)
    rec = m["recsys"]
    assert rec["real"]["all"]["n_users"] > 900  # users with ≥1 test positive (rating ≥ 4)
    # The tuned real-only ALS must clearly beat the popularity floor on this data.
    assert rec["real"]["all"]["precision"]["ci_low"] > rec["popularity"]["all"]["precision"]["ci_high"]
    assert 0 < rec["augmented"]["all"]["precision"]["mean"] < 1
    assert m["data"]["synthetic_pairs_used"] > 0
    assert 0.5 < m["fidelity"]["column_shapes"] <= 1
    # Detection: one epoch of GAN training is far from the data, and a classifier must see it; the same
    # classifier on two random halves of the real training rows must not (a check of the check).
    fid = m["fidelity"]
    assert fid["detection_auc"] > 0.65, fid
    assert fid["detection_score"] == pytest.approx(2 * (1 - fid["detection_auc"]))
    halves = res.train.sample(frac=1.0, random_state=0)
    real_vs_real = detection_auc(halves.iloc[:40_000], halves.iloc[40_000:], schema, max_rows=1000)
    assert abs(real_vs_real["detection_auc"] - 0.5) < 0.06, real_vs_real
    assert fid["detection_auc"] > real_vs_real["detection_auc"] + 0.1
    assert m["privacy"]["exact_copy_rate"] < 0.05


def test_movielens_cli_chain(movielens_dir: Path, tmp_path: Path) -> None:
    """ingest → split → train → generate → evaluate, each a `synthdata` command, as a user runs them."""

    def run(*args: str) -> subprocess.CompletedProcess:
        r = subprocess.run([SYNTHDATA, *args], capture_output=True, text=True, check=False, timeout=600)
        assert r.returncode == 0, f"{args[0]} failed: {r.stderr[-2000:]}"
        return r

    d = tmp_path
    run("ingest", str(movielens_dir), "--layout", "movielens-100k", "--out", str(d / "clean.parquet"))
    run(
        "split",
        str(d / "clean.parquet"),
        "--out-train",
        str(d / "train.parquet"),
        "--out-test",
        str(d / "test.parquet"),
    )
    run(
        "train",
        str(d / "train.parquet"),
        "--out",
        str(d / "model.ckpt"),
        "--epochs",
        "1",
        "--max-minutes",
        "0.2",
    )
    run("generate", str(d / "model.ckpt"), "--rows", "10000", "--out", str(d / "synth.parquet"))
    import yaml

    (d / "eval.yaml").write_text(yaml.safe_dump(CI_CONFIG))
    r = run(
        "evaluate",
        "--train",
        str(d / "train.parquet"),
        "--test",
        str(d / "test.parquet"),
        "--synthetic",
        str(d / "synth.parquet"),
        "--out",
        str(d / "metrics.json"),
        "--html",
        str(d / "report.html"),
        "--config",
        str(d / "eval.yaml"),
    )
    m = json.loads((d / "metrics.json").read_text())
    assert m["data"]["train_rows"] == 80_000 and m["data"]["test_rows"] == 20_000
    assert m["data"]["synthetic_rows"] == 10_000
    for run_name in ("real", "augmented", "popularity"):
        for seg in ("all", "cold", "warm"):
            for metric in ("precision", "recall", "f1", "ndcg"):
                v = m["recsys"][run_name][seg][metric]
                assert v["ci_low"] <= v["mean"] <= v["ci_high"]
    assert set(m["recsys"]["delta"]["all"]["f1"]) == {"mean", "ci_low", "ci_high", "p_value"}
    assert "recall" in r.stdout
    assert "data:image/png;base64," in (d / "report.html").read_text(encoding="utf-8")
