"""Virtual users in the evaluation: their rows become extra rows of the interaction matrix, the
synthetic-only model is scored by fold-in, the user strategies need a histories model, and the
user-level privacy checks see copies that row-level checks cannot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from support.cli import run_cli
from support.eval_world import FAST_EVAL, SCHEMA, FakeSynthesizer, world
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.errors import ConfigError
from synthdata.evaluate import evaluate
from synthdata.evaluate.augment import generate
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.privacy_users import nearest_jaccard, user_privacy_report
from synthdata.evaluate.recommend import Index, ModelParams, fit_recommend, make_model, positive_rows
from synthdata.pipeline import parse_config
from synthdata.split import split

FAST = FAST_EVAL


def relabel(df: pd.DataFrame, offset: int = 10_000) -> pd.DataFrame:
    """The same histories under new (virtual) user ids: a perfect copy, for tests only."""
    return df.assign(user_id=df["user_id"] + offset)


def popularity_users(train: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Virtual users of the real lengths whose items follow training popularity (a null generator)."""
    rng = np.random.default_rng(seed)
    pos = train[positive_rows(train, SCHEMA)]
    out = relabel(pos)
    out["item_id"] = pos["item_id"].to_numpy()[rng.integers(0, len(pos), len(pos))]
    return out.drop_duplicates(["user_id", "item_id"])


def test_index_appends_virtual_users_and_keeps_real_codes(eval_split) -> None:
    train, test = eval_split
    index = Index.build(SCHEMA, train, test)
    more = index.with_users(pd.Index([10_001, 10_002, 10_001, int(train["user_id"].iloc[0])]))
    assert list(more.users[: len(index.users)]) == list(index.users)
    assert list(more.users[len(index.users) :]) == [10_001, 10_002]


def test_virtual_users_are_kept_and_unknown_items_dropped(eval_split, caplog) -> None:
    train, test = eval_split
    synth = relabel(train)
    bad_items = synth.iloc[:7].assign(item_id=np.arange(90_000, 90_007))
    out = evaluate(train, test, pd.concat([synth, bad_items]), SCHEMA, EvalConfig(**{**FAST, "seeds": 1}))
    d = out["data"]
    assert d["synthetic_rows_unknown_items_dropped"] == 7 and "dropped_rows=7" in caplog.text
    assert d["synthetic_virtual_users"] == train["user_id"].nunique()
    assert d["users"] == len(set(train["user_id"]) | set(test["user_id"])) + d["synthetic_virtual_users"]
    assert d["synthetic_pairs_used"] > 0  # the virtual users' rows reached the augmented matrix
    assert out["recsys"]["synthetic_only_protocol"] == "fold-in"


def test_fold_in_matches_implicit_recalculate_user() -> None:
    """Our fold-in top-k equals implicit's own recommend(recalculate_user=True) on the same model."""
    rng = np.random.default_rng(0)
    real = sp.random(30, 40, density=0.2, format="csr", random_state=1, dtype=np.float32)
    real.data[:] = 1
    virtual = sp.random(50, 40, density=0.2, format="csr", random_state=2, dtype=np.float32)
    virtual.data[:] = 1
    train_m = sp.vstack([sp.csr_matrix((30, 40), dtype=np.float32), virtual]).tocsr()
    fold = sp.vstack([real, sp.csr_matrix((50, 40), dtype=np.float32)]).tocsr()
    users = rng.choice(30, 10, replace=False)
    p = ModelParams(factors=8, regularization=0.1, iterations=5)
    ours = fit_recommend(train_m, fold, users, 5, p, seed=3, fold_in=fold)
    model = make_model(p, 3)
    model.fit(train_m, show_progress=False)
    ids, _ = model.recommend(users, fold[users], N=5, recalculate_user=True, filter_already_liked_items=True)
    assert (ours == ids).mean() > 0.95  # equal up to ties in float scores


def test_synthetic_only_fold_in_separates_copies_from_popularity(eval_split) -> None:
    train, test = eval_split
    cfg = EvalConfig(**{**FAST, "seeds": 1, "privacy": False})
    copy = evaluate(train, test, relabel(train), SCHEMA, cfg)["recsys"]
    pop = evaluate(train, test, popularity_users(train), SCHEMA, cfg)["recsys"]
    assert copy["synthetic_only_protocol"] == pop["synthetic_only_protocol"] == "fold-in"
    assert copy["synthetic_only_ratio"]["ndcg"]["mean"] > 0.8
    assert pop["synthetic_only_ratio"]["ndcg"]["mean"] < copy["synthetic_only_ratio"]["ndcg"]["mean"] - 0.1


def test_same_ids_protocol_for_row_synthesizers(eval_split) -> None:
    train, test = eval_split
    synth = FakeSynthesizer(SCHEMA).fit(train).sample(len(train), seed=1)
    out = evaluate(train, test, synth, SCHEMA, EvalConfig(**{**FAST, "seeds": 1, "privacy": False}))
    assert out["recsys"]["synthetic_only_protocol"] == "same-ids"
    assert out["data"]["synthetic_virtual_users"] == 0


def test_user_strategies_need_a_histories_model(eval_split) -> None:
    train, _ = eval_split
    fake = FakeSynthesizer(SCHEMA).fit(train)
    for strategy in ("virtual-users", "cold-neighbours"):
        with pytest.raises(ConfigError, match="multvae or multdae"):
            generate(fake, train, SCHEMA, strategy)
    with pytest.raises(ConfigError) as e:
        parse_config(
            {
                "source": {"path": "x.csv"},
                "train": {"model": "gan"},
                "evaluate": {"strategy": "virtual-users"},
            }
        )
    assert "virtual-users" in str(e.value) and "multvae" in str(e.value)


def test_user_privacy_sees_copied_histories() -> None:
    train, test = split(world(n_users=120, n_items=300, seed=11), SCHEMA)  # sparse enough to tell apart
    copied = user_privacy_report(train, test, relabel(train), SCHEMA, seed=0)
    null = user_privacy_report(train, test, popularity_users(train), SCHEMA, seed=0)
    n = int(train.loc[positive_rows(train, SCHEMA), "user_id"].nunique())
    assert copied["virtual_users"] == n and copied["identical_to_train"] == n
    assert copied["nn_jaccard_train_median"] == 1.0 and copied["closer_to_train_share"] > 0.9
    assert copied["mia_auc"] > 0.75 and copied["mia_auc_excess"] > 0.15
    assert null["identical_to_train"] <= 2 and abs(null["mia_auc_excess"]) < 0.1


def test_nearest_jaccard_is_exact_on_small_sets() -> None:
    a = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], dtype=np.float32))
    b = sp.csr_matrix(np.array([[1, 1, 1, 0], [0, 0, 0, 1]], dtype=np.float32))
    assert nearest_jaccard(a, b).tolist() == pytest.approx([2 / 3, 1 / 2])


def test_pipeline_with_multvae_and_virtual_users(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, schema = write_source(tmp_path / "src")
    cfg = tiny_config(
        csv,
        schema,
        train={"model": "multvae", "epochs": 3, "hp": {"hidden": [32], "latent_dim": 8, "val_users": 5}},
    )
    cfg["evaluate"] = {**cfg.get("evaluate", {}), "strategy": "virtual-users", "virtual_users": 30}
    path = write_config(tmp_path / "mv.yaml", cfg)
    runs = tmp_path / "runs"
    code, _, err = run_cli(
        ["run", str(path), "--registry", f"sqlite:///{tmp_path / 'r.db'}", "--runs-dir", str(runs)], capsys
    )
    assert code == 0, err[-2000:]
    (synth,) = list(runs.rglob("synth.parquet"))
    (train_path,) = list(runs.rglob("train.parquet"))
    df, train = pd.read_parquet(synth), pd.read_parquet(train_path)
    assert df["user_id"].nunique() == 30 and not set(df["user_id"]) & set(train["user_id"])
    import json

    (metrics,) = list(runs.rglob("metrics.json"))
    m = json.loads(metrics.read_text())
    assert m["data"]["synthetic_virtual_users"] == 30
    assert m["recsys"]["synthetic_only_protocol"] == "fold-in"
    assert m["privacy"]["users"]["identical_to_train"] == 0


def test_bpr_skips_fold_in_and_says_why(eval_split) -> None:
    train, test = eval_split
    cfg = EvalConfig(**{**FAST, "seeds": 1, "privacy": False, "model": "bpr"})
    out = evaluate(train, test, relabel(train), SCHEMA, cfg)
    assert "synthetic_only_ratio" not in out["recsys"] and "augmented" in out["recsys"]
    assert "ALS" in out["data"]["synthetic_only_skipped"]
