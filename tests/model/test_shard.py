"""`generate --shard I/N` and `sample(..., shard=)`: shards 0..N-1 in order are exactly the rows of the
unsharded run with the same seed (rows and histories families, conditions, neighbours), each shard is
deterministic, the rows never depend on batch sizes, empty shards are files with the columns, and
bad `--shard` values are one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from support.cli import run_cli
from support.gan_world import FAST, SCHEMA, make_table

import synthdata.model.rows.sample as rows_sample
from synthdata.errors import ConfigError
from synthdata.model.shard import Shard, rebatch
from synthdata.model.synthesizer import Synthesizer

DF = make_table(n_users=60, n_items=80, n_rows=1500)
SMALL_GAN = {"z_dim": 8, "gen_hidden": [16], "dis_hidden": [16], "n_modes": 2, "bgm_rows": 200}
SMALL_VAE = {"z_dim": 8, "enc_hidden": [16], "dec_hidden": [16], "n_modes": 2, "bgm_rows": 200}
SMALL_HIST = {"progress_bar": False, "hidden": [32], "latent_dim": 8, "val_users": 10, "sample_batch": 5}
BLOCK = 50  # rows per block in these tests (the default is 10,000): many blocks from few rows


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rows_sample, "BLOCK_ROWS", BLOCK)


@pytest.fixture(scope="module", params=["gan", "vae"])
def rows_model(request: pytest.FixtureRequest) -> Synthesizer:
    hp = SMALL_GAN if request.param == "gan" else SMALL_VAE
    return Synthesizer(SCHEMA, model=request.param, epochs=1, batch_size=500, seed=0, **FAST, **hp).fit(DF)


@pytest.fixture(scope="module")
def hist_model() -> Synthesizer:
    return Synthesizer(SCHEMA, model="multvae", epochs=2, batch_size=20, seed=0, **SMALL_HIST).fit(DF)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as values: each Parquet file has the dictionary of its own rows."""
    return df.apply(lambda c: c.astype(object) if isinstance(c.dtype, pd.CategoricalDtype) else c)


def _joined(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([_plain(p) for p in parts], ignore_index=True)


# --- the contract ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["0/0", "3/2", "2/2", "a/b", "-1/2", "1/", "/3", "1/2/3", ""])
def test_bad_shard_values_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="expected I/N"):
        Shard.parse(text)


def test_shard_blocks_partition_the_job_in_order() -> None:
    assert Shard.parse(" 3 / 16 ") == Shard(3, 16) and Shard.of("3/16").label == "00003-of-00016"
    for total in (0, 1, 7, 50, 51, 499, 1000):
        for count in (1, 2, 3, 7, 40):
            ranges = [Shard(i, count).blocks(total, BLOCK) for i in range(count)]
            assert [b for r in ranges for b in r] == list(range(-(-total // BLOCK)))
            sizes = [len(r) for r in ranges]
            assert max(sizes) - min(sizes) <= 1  # balanced; more shards than blocks: some empty


def test_rebatch_keeps_rows_and_order() -> None:
    frames = [pd.DataFrame({"x": range(a, b)}) for a, b in ((0, 7), (7, 7), (7, 30), (30, 31))]
    out = list(rebatch(iter(frames), 10))
    assert [len(f) for f in out] == [10, 10, 10, 1]
    assert pd.concat(out)["x"].tolist() == list(range(31))


# --- rows family -------------------------------------------------------------------------------------
def test_row_shards_concatenate_to_the_unsharded_sample(rows_model: Synthesizer) -> None:
    whole = rows_model.sample(437, seed=3)
    for count in (1, 2, 4, 9, 12):  # 9 blocks: 12 shards leave some empty
        parts = [rows_model.sample(437, seed=3, shard=(i, count)) for i in range(count)]
        assert sum(len(p) == 0 for p in parts) == max(0, count - 9)
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert len(rows_model.sample(437, seed=3, shard="1/4")) == 2 * BLOCK  # blocks 2, 3 of 0..8


def test_conditions_follow_their_rows_into_the_shards(rows_model: Synthesizer) -> None:
    users = DF["user_id"].iloc[:230].tolist()
    whole = rows_model.sample(230, {"user_id": users}, seed=4)
    parts = [rows_model.sample(230, {"user_id": users}, seed=4, shard=(i, 3)) for i in range(3)]
    joined = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole)
    assert joined["user_id"].tolist() == users


def test_a_shard_is_deterministic_and_depends_on_the_seed(rows_model: Synthesizer) -> None:
    a = rows_model.sample(300, seed=5, shard="2/3")
    pd.testing.assert_frame_equal(a, rows_model.sample(300, seed=5, shard="2/3"))
    assert not a.equals(rows_model.sample(300, seed=6, shard="2/3"))
    assert not a.equals(rows_model.sample(300, seed=5, shard="1/3"))  # blocks have their own streams


def test_rows_never_depend_on_the_batch_size(rows_model: Synthesizer, tmp_path: Path) -> None:
    whole = rows_model.sample(260, seed=7)
    for batch in (1_000, 37):
        n = rows_model.sample_to_parquet(tmp_path / f"b{batch}.parquet", 260, seed=7, batch_rows=batch)
        meta = pq.ParquetFile(tmp_path / f"b{batch}.parquet").metadata
        assert n == 260 and meta.num_row_groups == -(-260 // batch)  # batches of exactly batch_rows
        got = pd.read_parquet(tmp_path / f"b{batch}.parquet")
        pd.testing.assert_frame_equal(_plain(got), _plain(whole))


# --- histories family (blocks of sample_batch=5 users) ------------------------------------------------
def test_virtual_user_shards_concatenate_to_the_unsharded_users(hist_model: Synthesizer) -> None:
    whole = hist_model.sample_users(23, seed=2)  # 5 blocks of 5, 5, 5, 5, 3 users
    assert whole["user_id"].nunique() == 23
    for count in (2, 3, 7):
        parts = [hist_model.sample_users(23, seed=2, shard=(i, count)) for i in range(count)]
        pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
        owners = [set(p["user_id"]) for p in parts]
        assert sum(len(o) for o in owners) == 23  # a user's rows are never split between shards
    pd.testing.assert_frame_equal(
        hist_model.sample_users(23, seed=2, shard="1/3"), hist_model.sample_users(23, seed=2, shard="1/3")
    )


def test_neighbour_shards_concatenate_to_the_unsharded_neighbours(hist_model: Synthesizer) -> None:
    like = DF["user_id"].drop_duplicates().iloc[:9].tolist()
    whole = hist_model.sample_users(like=like, per_user=2, seed=3)  # 18 sources: 4 blocks
    parts = [hist_model.sample_users(like=like, per_user=2, seed=3, shard=(i, 3)) for i in range(3)]
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)


def test_histories_rows_cannot_be_sharded(hist_model: Synthesizer) -> None:
    assert len(hist_model.sample(40, seed=1)) == 40  # the whole job is fine
    with pytest.raises(ConfigError, match="--users N or --like"):
        hist_model.sample(40, seed=1, shard="0/2")


# --- the command line ----------------------------------------------------------------------------------
def _generate(model: Path, out: Path, *args: str) -> list[str]:
    return ["generate", str(model), "--out", str(out), "--seed", "11", *args]


def test_cli_shards_with_empty_ones_join_to_the_unsharded_file(
    rows_model: Synthesizer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = rows_model.save(tmp_path / "m.ckpt")
    assert run_cli(_generate(model, tmp_path / "all.parquet", "--rows", "120"), capsys)[0] == 0
    for i in range(5):  # 3 blocks, 5 shards
        args = _generate(model, tmp_path / "part-{shard}.parquet", "--rows", "120", "--shard", f"{i}/5")
        code, out, _ = run_cli([*args, "--batch-rows", "17"], capsys)
        assert code == 0 and f"(shard {i}/5) to {tmp_path / f'part-0000{i}-of-00005.parquet'}" in out
    files = sorted(tmp_path.glob("part-*.parquet"))
    assert [f.name for f in files][-1] == "part-00004-of-00005.parquet" and len(files) == 5
    parts = [pd.read_parquet(f) for f in files]
    assert [len(p) for p in parts] == [0, 50, 0, 50, 20]
    assert all(list(p.columns) == list(DF.columns) for p in parts)  # empty shards keep the schema
    assert pq.read_schema(files[0]).names == pq.read_schema(tmp_path / "all.parquet").names
    pd.testing.assert_frame_equal(_joined(parts), _plain(pd.read_parquet(tmp_path / "all.parquet")))


def test_cli_virtual_user_shards(hist_model: Synthesizer, tmp_path: Path, capsys) -> None:
    model = hist_model.save(tmp_path / "h.ckpt")
    assert run_cli(_generate(model, tmp_path / "all.csv", "--users", "12"), capsys)[0] == 0
    for i in range(2):
        args = _generate(model, tmp_path / f"p{i}.csv", "--users", "12", "--shard", f"{i}/2")
        assert run_cli(args, capsys)[0] == 0
    joined = pd.concat([pd.read_csv(tmp_path / f"p{i}.csv") for i in range(2)], ignore_index=True)
    pd.testing.assert_frame_equal(joined, pd.read_csv(tmp_path / "all.csv"))
    code, _, err = run_cli(_generate(model, tmp_path / "r.csv", "--rows", "30", "--shard", "0/2"), capsys)
    assert code == 2 and "--users N or --like" in err and not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("text", ["0/0", "3/2", "a/b"])
def test_cli_bad_shard_is_one_line_exit_2(
    text: str, rows_model: Synthesizer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = rows_model.save(tmp_path / "m.ckpt")
    out = tmp_path / "x.parquet"
    code, _, err = run_cli(_generate(model, out, "--rows", "10", "--shard", text), capsys)
    assert code == 2 and f"--shard {text!r}: expected I/N" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
