"""The row family's shared suite: every row backend (gan, vae) passes the same end-to-end tests on a
small table (exact conditions, attribute consistency, determinism, persistence, streaming, model
selection on the validation score, resume and warm start)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from support.gan_world import FAST, SCHEMA, make_table

import synthdata.model.rows.sample as sample_mod
from synthdata.errors import ConfigError, InputError
from synthdata.model.registry import models_of
from synthdata.model.synthesizer import Synthesizer

DF = make_table()
VAL = make_table(seed=9)


@pytest.fixture(scope="module", params=models_of("rows"))
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def syn(model: str) -> Synthesizer:
    return Synthesizer(SCHEMA, model=model, epochs=3, batch_size=500, seed=0, **FAST).fit(DF, val_df=VAL)


def _contradictions(out: pd.DataFrame) -> int:
    users = DF.drop_duplicates("user_id").set_index("user_id")[["age", "gender"]]
    items = DF.drop_duplicates("item_id").set_index("item_id")[["category"]]
    u = users.reindex(out["user_id"]).reset_index(drop=True)
    i = items.reindex(out["item_id"]).reset_index(drop=True)
    bad = (u["age"].to_numpy() != out["age"].to_numpy()) | (
        u["gender"].astype(str).to_numpy() != out["gender"].astype(str).to_numpy()
    )
    bad |= i["category"].astype(str).to_numpy() != out["category"].astype(str).to_numpy()
    return int(bad.sum())


def test_sample_has_clean_table_columns_dtypes_and_no_contradictions(syn: Synthesizer) -> None:
    out = syn.sample(3000, seed=1)
    assert len(out) == 3000
    assert list(out.columns) == list(DF.columns) and (out.dtypes == DF.dtypes).all()
    assert out["user_id"].isin(DF["user_id"]).all() and out["item_id"].isin(DF["item_id"]).all()
    assert _contradictions(out) == 0
    assert out["rating"].between(1, 5).all()


def test_exact_user_conditions_in_order(syn: Synthesizer) -> None:
    users = list(DF["user_id"].unique()[:7]) * 30
    out = syn.sample(len(users), conditions={"user_id": users}, seed=3)
    assert out["user_id"].tolist() == users
    assert _contradictions(out) == 0


def test_exact_categorical_and_attribute_conditions(syn: Synthesizer) -> None:
    out = syn.sample(400, conditions={"channel": "store"}, seed=2)
    assert (out["channel"] == "store").all()
    f = syn.sample(400, conditions={"gender": "F"}, seed=2)
    assert (f["gender"] == "F").all()
    assert set(f["user_id"]) <= set(DF.loc[DF["gender"] == "F", "user_id"])
    assert _contradictions(f) == 0
    mixed = syn.sample(4, conditions={"category": ["toys", "books", "toys", "music"], "rating": "5"}, seed=0)
    assert mixed["category"].astype(str).tolist() == ["toys", "books", "toys", "music"]
    assert (mixed["rating"] == 5).all()  # text from the CLI matches the integer value


def test_bad_conditions_are_clear_errors(syn: Synthesizer) -> None:
    with pytest.raises(InputError, match="user_id"):
        syn.sample(3, conditions={"user_id": "nobody"})
    f_user = DF.loc[DF["gender"] == "F", "user_id"].iloc[0]
    with pytest.raises(InputError, match="does not have gender=M"):
        syn.sample(2, conditions={"user_id": f_user, "gender": "M"})
    with pytest.raises(InputError, match="no user_id"):
        syn.sample(2, conditions={"age": 999})
    with pytest.raises(ConfigError, match="views"):
        syn.sample(2, conditions={"views": 3})
    with pytest.raises(ConfigError, match="2 values for 3 rows"):
        syn.sample(3, conditions={"channel": ["app", "web"]})


def test_same_data_config_seed_give_identical_rows(syn: Synthesizer, model: str) -> None:
    again = Synthesizer(SCHEMA, model=model, epochs=3, batch_size=500, seed=0, **FAST).fit(DF, val_df=VAL)
    pd.testing.assert_frame_equal(syn.sample(500, seed=4), again.sample(500, seed=4))
    other = Synthesizer(SCHEMA, model=model, epochs=3, batch_size=500, seed=1, **FAST).fit(DF, val_df=VAL)
    assert not syn.sample(500, seed=4).equals(other.sample(500, seed=4))


def test_save_load_gives_same_samples_on_cpu(syn: Synthesizer, tmp_path: Path) -> None:
    path = syn.save(tmp_path / "model.ckpt")
    loaded = Synthesizer.load(path)
    assert loaded.model == syn.model
    assert all(p.device.type == "cpu" for p in loaded.net.parameters())
    assert not loaded.net.training
    pd.testing.assert_frame_equal(syn.sample(700, seed=5), loaded.sample(700, seed=5))
    cond = {"user_id": DF["user_id"].iloc[:50].tolist()}
    pd.testing.assert_frame_equal(syn.sample(50, cond, seed=6), loaded.sample(50, cond, seed=6))
    with pytest.raises(InputError, match="pickle"):
        torch.save({"x": 1}, tmp_path / "other.ckpt")
        Synthesizer.load(tmp_path / "other.ckpt")


def test_streaming_parquet_is_written_in_bounded_batches(
    syn: Synthesizer, tmp_path: Path, monkeypatch
) -> None:
    sizes: list[int] = []
    real = sample_mod.generate_batch

    def spy(net, cond, tr, n, *a, **k):  # type: ignore[no-untyped-def]
        sizes.append(n)
        return real(net, cond, tr, n, *a, **k)

    monkeypatch.setattr(sample_mod, "generate_batch", spy)
    monkeypatch.setattr(sample_mod, "BLOCK_ROWS", 500)  # drawn in seeded blocks (model/shard.py)
    n = syn.sample_to_parquet(tmp_path / "s.parquet", 2_345, batch_rows=300, seed=7)
    assert n == 2_345 and sizes == [500, 500, 500, 500, 345]
    meta = pq.ParquetFile(tmp_path / "s.parquet").metadata
    groups = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert meta.num_rows == 2_345 and groups == [300] * 7 + [245]  # written in batches of batch_rows
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert list(back.columns) == list(DF.columns) and _contradictions(back) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]  # no temporary file left
    assert syn.sample_to_parquet(tmp_path / "empty.parquet", 0) == 0
    assert pq.ParquetFile(tmp_path / "empty.parquet").metadata.num_rows == 0


def test_model_selection_uses_the_validation_score(tmp_path: Path, model: str) -> None:
    threads = torch.get_num_threads()
    s = Synthesizer(SCHEMA, model=model, epochs=4, batch_size=500, seed=0, **FAST).fit(
        DF, val_df=VAL, checkpoint_dir=tmp_path
    )
    metrics = pd.concat(pd.read_csv(p) for p in tmp_path.glob("logs/*/metrics.csv"))
    scores = metrics["val_fidelity"].dropna()
    assert len(scores) == 4
    assert s.meta["best_val_fidelity"] == pytest.approx(scores.max())
    best = torch.load(tmp_path / "best.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    for k, v in s.net.state_dict().items():
        assert torch.equal(v, best[f"net.{k}"])
    assert (tmp_path / "last.ckpt").exists()
    assert torch.get_num_threads() == threads  # fit's thread setting does not leak to the caller


def test_resume_continues_from_last_checkpoint(tmp_path: Path, model: str) -> None:
    first = Synthesizer(SCHEMA, model=model, epochs=2, batch_size=500, **FAST).fit(
        DF, checkpoint_dir=tmp_path
    )
    assert first.meta["epochs_trained"] == 2
    steps = first.meta["global_step"]
    torch.load(tmp_path / "last.ckpt", weights_only=True)  # data only: no pickled objects
    second = Synthesizer(SCHEMA, model=model, epochs=4, batch_size=500, **FAST).fit(
        DF, checkpoint_dir=tmp_path, resume=True
    )
    assert second.meta["epochs_trained"] == 4
    assert second.meta["global_step"] == 2 * steps  # continued, not restarted
    fresh = Synthesizer(SCHEMA, model=model, epochs=1, batch_size=500, **FAST)
    fresh.fit(DF, checkpoint_dir=tmp_path / "none", resume=True)  # nothing to resume: starts over
    assert fresh.meta["epochs_trained"] == 1


def test_warm_start_copies_weights(syn: Synthesizer, tmp_path: Path, model: str) -> None:
    path = syn.save(tmp_path / "m.ckpt")
    warm = Synthesizer(SCHEMA, model=model, epochs=0, batch_size=500, **FAST).fit(DF, init_from=path)
    for (k, a), b in zip(syn.net.state_dict().items(), warm.net.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    tuned = Synthesizer(SCHEMA, model=model, epochs=1, batch_size=500, **FAST).fit(
        make_table(seed=5), init_from=path
    )
    assert tuned.meta["epochs_trained"] == 1


def test_unknown_hyperparameter_and_missing_column_are_rejected(model: str) -> None:
    with pytest.raises(ConfigError, match="learning_rate: unknown"):
        Synthesizer(SCHEMA, model=model, learning_rate=1)
    with pytest.raises(ConfigError, match="z_dim"):
        Synthesizer(SCHEMA, model=model, z_dim="wide")
    with pytest.raises(InputError, match="views"):
        Synthesizer(SCHEMA, model=model, epochs=1, **FAST).fit(DF.drop(columns=["views"]))


def test_fit_on_single_pack_batches_not_divisible_by_pac() -> None:
    small = DF.iloc[:137]
    s = Synthesizer(SCHEMA, epochs=1, batch_size=55, seed=0, **FAST).fit(small)
    assert s.net.batch_rows(55) == 50 and s.meta["steps_per_epoch"] == 3
    assert np.isfinite(s.meta["best_val_fidelity"])
