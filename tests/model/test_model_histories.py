"""The histories family's shared suite: every histories backend (multvae, multdae) passes the same
end-to-end tests on a small table with two taste groups (virtual users and neighbours, ids that never
collide, whole rows with the clean table's schema, no copied histories, determinism, model files,
model selection on validation recall, resume, and the collaborative signal itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.gan_world import SCHEMA, make_table

from synthdata.errors import ConfigError, InputError
from synthdata.model.checkpoint import read_model
from synthdata.model.registry import models_of
from synthdata.model.synthesizer import Synthesizer

DF = make_table(n_users=60, n_items=80, n_rows=3000)
FAST = {"progress_bar": False, "hidden": [64], "latent_dim": 16, "val_users": 10}


@pytest.fixture(scope="module", params=models_of("histories"))
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def syn(model: str) -> Synthesizer:
    return Synthesizer(SCHEMA, model=model, epochs=40, batch_size=20, seed=0, **FAST).fit(DF)


def _positives(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["rating"] >= 4]


def test_virtual_users_have_new_ids_of_the_same_dtype_and_whole_rows(syn: Synthesizer) -> None:
    out = syn.sample_users(25, seed=1)
    assert out["user_id"].nunique() == 25
    assert not set(out["user_id"]) & set(DF["user_id"])
    assert list(out.columns) == list(DF.columns) and (out.dtypes == DF.dtypes).all()
    assert out["item_id"].isin(DF["item_id"]).all()
    assert not out.duplicated(["user_id", "item_id"]).any()  # items drawn without replacement
    assert (out["rating"] >= 4).all()  # histories are positive item sets: every row is a positive
    items = DF.drop_duplicates("item_id").set_index("item_id")["category"]
    assert (items.reindex(out["item_id"]).astype(str).to_numpy() == out["category"].astype(str)).all()
    per_user = out.groupby("user_id")[["age", "gender"]].nunique()
    assert (per_user == 1).all().all()  # one attribute combination per virtual user...
    real = set(map(tuple, DF[["age", "gender"]].astype(str).drop_duplicates().to_numpy()))
    assert set(map(tuple, out[["age", "gender"]].astype(str).to_numpy())) <= real  # ...a real one


def test_history_lengths_follow_the_real_length_distribution(syn: Synthesizer) -> None:
    real = _positives(DF).groupby("user_id").size()
    lens = syn.sample_users(400, seed=2).groupby("user_id").size()
    assert lens.min() >= real.min() and lens.max() <= real.max()
    assert abs(lens.median() - real.median()) <= 0.35 * real.median()


def test_virtual_users_carry_the_collaborative_signal(syn: Synthesizer) -> None:
    """Two taste groups (even vs odd items): a virtual user's items come from one group, as a real
    user's do; items drawn by popularity would mix both about half and half."""
    out = syn.sample_users(200, seed=3)

    def purity(items: pd.Series) -> float:
        parity = (items % 2).groupby(out["user_id"].to_numpy())
        p = parity.mean()[parity.size() >= 4]
        return float(np.maximum(p, 1 - p).mean())

    mixed = pd.Series(np.random.default_rng(0).permutation(out["item_id"].to_numpy()))
    assert purity(out["item_id"]) > purity(mixed) + 0.1


def test_neighbours_keep_the_source_attributes_and_length(syn: Synthesizer) -> None:
    src = ["u001", "u004"]
    out = syn.sample_users(like=src, per_user=3, seed=4)
    assert out["user_id"].nunique() == 6 and not set(out["user_id"]) & set(DF["user_id"])
    real_len = _positives(DF).groupby("user_id")["item_id"].nunique()
    lens = sorted(out.groupby("user_id", sort=False).size().tolist())
    assert lens == sorted([real_len["u001"]] * 3 + [real_len["u004"]] * 3)
    attrs = DF.drop_duplicates("user_id").set_index("user_id")["age"]
    assert sorted(out.drop_duplicates("user_id")["age"]) == sorted([attrs["u001"]] * 3 + [attrs["u004"]] * 3)


def test_neighbour_errors_name_the_id(syn: Synthesizer) -> None:
    with pytest.raises(InputError, match="nobody"):
        syn.sample_users(like=["nobody"])
    with pytest.raises(ConfigError):
        syn.sample_users(3, like=["u001"])
    with pytest.raises(ConfigError, match="--where"):
        syn.sample(10, conditions={"channel": "app"})


def test_no_output_history_copies_a_training_history(model: str) -> None:
    """A tiny catalogue where copies are likely: every copy is redrawn or left out."""
    rng = np.random.default_rng(0)
    df = make_table(n_users=40, n_items=6, n_rows=400).assign(rating=5)
    df["item_id"] = 1000 + rng.integers(0, 3, len(df))
    syn = Synthesizer(SCHEMA, model=model, epochs=3, batch_size=20, seed=0, **FAST).fit(df)
    out = syn.sample_users(100, seed=0)
    train_sets = {frozenset(g) for _, g in df.groupby("user_id")["item_id"]}
    assert all(frozenset(g) not in train_sets for _, g in out.groupby("user_id")["item_id"])


def test_same_data_config_seed_give_identical_rows(syn: Synthesizer, model: str) -> None:
    again = Synthesizer(SCHEMA, model=model, epochs=40, batch_size=20, seed=0, **FAST).fit(DF)
    pd.testing.assert_frame_equal(syn.sample_users(30, seed=5), again.sample_users(30, seed=5))
    assert not syn.sample_users(30, seed=5).equals(syn.sample_users(30, seed=6))


def test_model_file_is_data_and_round_trips(syn: Synthesizer, tmp_path: Path) -> None:
    path = syn.save(tmp_path / "m.ckpt")
    doc, tensors = read_model(path)
    assert doc["backend"] == syn.model and "encoder" in doc and "transformer" not in doc
    assert any(k.startswith("enc.") for k in tensors) and any(k.startswith("net.") for k in tensors)
    loaded = Synthesizer.load(path)
    pd.testing.assert_frame_equal(loaded.sample_users(20, seed=7), syn.sample_users(20, seed=7))
    pd.testing.assert_frame_equal(loaded.sample(150, seed=7), syn.sample(150, seed=7))
    assert len(syn.sample(150, seed=7)) == 150


def test_streaming_writes_users_whole(syn: Synthesizer, tmp_path: Path) -> None:
    n = syn.sample_to_parquet(tmp_path / "u.parquet", users=50, batch_rows=40, seed=8)
    back = pd.read_parquet(tmp_path / "u.parquet")
    assert len(back) == n and back["user_id"].nunique() == 50
    runs = (back["user_id"] != back["user_id"].shift()).sum()
    assert runs == 50  # each user's rows are contiguous: a batch never splits a user
    syn.sample_to_parquet(tmp_path / "v.parquet", users=50, batch_rows=40, seed=8)
    pd.testing.assert_frame_equal(back, pd.read_parquet(tmp_path / "v.parquet"))


def test_model_selection_uses_validation_recall(model: str, tmp_path: Path) -> None:
    syn = Synthesizer(SCHEMA, model=model, epochs=6, batch_size=20, seed=0, val_every=2, **FAST)
    syn.fit(DF, checkpoint_dir=tmp_path)
    logged = pd.read_csv(next(tmp_path.glob("logs/version_*/metrics.csv")))
    scores = logged["val_recall"].dropna()
    assert len(scores) == 3 and syn.meta["best_val_recall"] == pytest.approx(scores.max())
    assert 0 < syn.meta["best_val_recall"] <= 1


def test_resume_continues_and_refuses_another_table(model: str, tmp_path: Path) -> None:
    Synthesizer(SCHEMA, model=model, epochs=2, batch_size=20, seed=0, **FAST).fit(DF, checkpoint_dir=tmp_path)
    more = Synthesizer(SCHEMA, model=model, epochs=4, batch_size=20, seed=0, **FAST)
    more.fit(DF, checkpoint_dir=tmp_path, resume=True)
    assert more.meta["epochs_trained"] == 4
    other = Synthesizer(SCHEMA, model=model, epochs=5, batch_size=20, seed=0, **FAST)
    with pytest.raises(InputError, match="another table"):
        other.fit(DF.iloc[:-10], checkpoint_dir=tmp_path, resume=True)


def test_hyperparameters_are_the_family_s_own(model: str) -> None:
    with pytest.raises(ConfigError, match="n_modes: unknown hyperparameter"):
        Synthesizer(SCHEMA, model=model, n_modes=3)
    with pytest.raises(ConfigError, match="dropout"):
        Synthesizer(SCHEMA, model=model, dropout=1.5)
    with pytest.raises(ConfigError, match="latent_dim: unknown hyperparameter"):
        Synthesizer(SCHEMA, model="gan", latent_dim=8)


def test_row_models_refuse_virtual_users() -> None:
    syn = Synthesizer(SCHEMA, model="vae", epochs=1, batch_size=500, seed=0, progress_bar=False).fit(DF)
    with pytest.raises(ConfigError, match="multvae or multdae"):
        syn.sample_users(5)


def test_cli_train_then_virtual_users_and_neighbours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from support.cli import run_cli

    table = tmp_path / "clean.parquet"
    DF.to_parquet(table, index=False)
    SCHEMA.to_yaml(tmp_path / "clean.schema.yaml")
    model = tmp_path / "mdae.ckpt"
    hp = ["--hp", "hidden=[32]", "--hp", "latent_dim=8", "--hp", "val_users=5"]
    code, out, err = run_cli(
        ["train", table, "--model", "multdae", "--epochs", 3, "--batch-size", 20, "--out", model, *hp], capsys
    )
    assert code == 0, err and "val_recall=" in out
    code, out, _ = run_cli(["generate", model, "--users", 12, "--out", tmp_path / "v.csv"], capsys)
    assert code == 0 and "of 12 virtual users" in out
    assert pd.read_csv(tmp_path / "v.csv")["user_id"].nunique() == 12
    ids = tmp_path / "ids.txt"
    ids.write_text("u001\n# a comment\n\nu004\n")
    code, out, _ = run_cli(
        [
            "generate",
            model,
            "--like-file",
            ids,
            "--like",
            "u002",
            "--per-user",
            2,
            "--out",
            tmp_path / "n.parquet",
        ],
        capsys,
    )
    assert code == 0 and pd.read_parquet(tmp_path / "n.parquet")["user_id"].nunique() == 6
    code, _, err = run_cli(["generate", model, "--like", "ghost", "--out", tmp_path / "x.parquet"], capsys)
    assert code == 2 and "ghost" in err and not (tmp_path / "x.parquet").exists()
    code, _, err = run_cli(
        ["generate", model, "--rows", 5, "--users", 5, "--out", tmp_path / "y.parquet"], capsys
    )
    assert code == 2 and "exactly one of" in err
