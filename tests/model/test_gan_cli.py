"""`synthdata train` and `synthdata generate` end to end (in-process, through the real entry point)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli
from support.gan_world import SCHEMA, make_table


def test_train_then_generate_with_conditions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = make_table()
    table = tmp_path / "clean.parquet"
    df.to_parquet(table, index=False)
    SCHEMA.to_yaml(tmp_path / "clean.schema.yaml")  # found beside the table without --schema
    model = tmp_path / "model.ckpt"
    train = ["train", table, "--out", model, "--epochs", 2, "--batch-size", 500, "--seed", 3]
    code, stdout, _ = run_cli([*train, "--accelerator", "cpu", "--devices", 1], capsys)
    assert code == 0 and model.exists() and "epochs=2" in stdout
    out = tmp_path / "synth.parquet"
    generate = ["generate", model, "--rows", 1234, "--where", "channel=web", "--where", "gender=F"]
    generate += ["--batch-rows", 500, "--seed", 1]
    assert run_cli([*generate, "--out", out], capsys)[0] == 0
    synth = pd.read_parquet(out)
    assert len(synth) == 1234 and list(synth.columns) == list(df.columns)
    assert (synth["channel"] == "web").all() and (synth["gender"] == "F").all()
    assert set(synth["user_id"]) <= set(df.loc[df["gender"] == "F", "user_id"])
    # same seed, same file contents
    out2 = tmp_path / "synth2.parquet"
    assert run_cli([*generate, "--out", out2], capsys)[0] == 0
    pd.testing.assert_frame_equal(synth, pd.read_parquet(out2))


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.parquet"
    code, _, err = run_cli(["generate", tmp_path / "missing.ckpt", "--rows", 5, "--out", out], capsys)
    assert code == 2 and "model file not found" in err and "Traceback" not in err
    train = ["train", tmp_path / "nope.parquet", "--out", tmp_path / "m.ckpt"]
    code, _, err = run_cli([*train, "--schema", tmp_path / "nope.yaml"], capsys)
    assert code == 2 and "schema file not found" in err
    (tmp_path / "bad.ckpt").write_bytes(b"not a model")
    code, _, err = run_cli(["generate", tmp_path / "bad.ckpt", "--rows", 5, "--out", out], capsys)
    assert code == 2 and "cannot read model file" in err


def test_train_infers_a_schema_when_none_is_beside_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    df = make_table()[["user_id", "item_id", "rating", "ts"]]
    table = tmp_path / "t.parquet"
    df.to_parquet(table, index=False)
    model = tmp_path / "m.ckpt"
    assert run_cli(["train", table, "--out", model, "--epochs", 1, "--batch-size", 500], capsys)[0] == 0
    out = tmp_path / "s.parquet"
    assert run_cli(["generate", model, "--rows", 100, "--out", out, "--where", "--bad"], capsys)[0] == 2
    assert run_cli(["generate", model, "--rows", 100, "--out", out], capsys)[0] == 0
    assert set(pd.read_parquet(out)["item_id"]) <= set(df["item_id"])
