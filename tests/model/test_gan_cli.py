"""`synthdata train` and `synthdata generate` end to end (in-process, through the real entry point)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.gan_world import SCHEMA, make_table

from synthdata.cli import main


def _run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as e:
        main(args)
    return int(e.value.code or 0)


def test_train_then_generate_with_conditions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = make_table()
    table = tmp_path / "clean.parquet"
    df.to_parquet(table, index=False)
    SCHEMA.to_yaml(tmp_path / "clean.schema.yaml")  # found beside the table without --schema
    model = tmp_path / "model.ckpt"
    assert (
        _run(
            [
                "train",
                str(table),
                "--out",
                str(model),
                "--epochs",
                "2",
                "--batch-size",
                "500",
                "--seed",
                "3",
                "--accelerator",
                "cpu",
                "--devices",
                "1",
            ]
        )
        == 0
    )
    assert model.exists() and "epochs=2" in capsys.readouterr().out
    out = tmp_path / "synth.parquet"
    assert (
        _run(
            [
                "generate",
                str(model),
                "--rows",
                "1234",
                "--out",
                str(out),
                "--where",
                "channel=web",
                "--where",
                "gender=F",
                "--batch-rows",
                "500",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    synth = pd.read_parquet(out)
    assert len(synth) == 1234 and list(synth.columns) == list(df.columns)
    assert (synth["channel"] == "web").all() and (synth["gender"] == "F").all()
    assert set(synth["user_id"]) <= set(df.loc[df["gender"] == "F", "user_id"])
    # same seed, same file contents
    out2 = tmp_path / "synth2.parquet"
    assert (
        _run(
            [
                "generate",
                str(model),
                "--rows",
                "1234",
                "--out",
                str(out2),
                "--where",
                "channel=web",
                "--where",
                "gender=F",
                "--batch-rows",
                "500",
                "--seed",
                "1",
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(synth, pd.read_parquet(out2))


def test_bad_inputs_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        _run(
            ["generate", str(tmp_path / "missing.ckpt"), "--rows", "5", "--out", str(tmp_path / "o.parquet")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "model file not found" in err and "Traceback" not in err
    assert (
        _run(
            [
                "train",
                str(tmp_path / "nope.parquet"),
                "--out",
                str(tmp_path / "m.ckpt"),
                "--schema",
                str(tmp_path / "nope.yaml"),
            ]
        )
        == 2
    )
    assert "schema file not found" in capsys.readouterr().err
    (tmp_path / "bad.ckpt").write_bytes(b"not a model")
    assert (
        _run(["generate", str(tmp_path / "bad.ckpt"), "--rows", "5", "--out", str(tmp_path / "o.parquet")])
        == 2
    )
    assert "cannot read model file" in capsys.readouterr().err


def test_train_infers_a_schema_when_none_is_beside_the_table(tmp_path: Path) -> None:
    df = make_table()[["user_id", "item_id", "rating", "ts"]]
    table = tmp_path / "t.parquet"
    df.to_parquet(table, index=False)
    model = tmp_path / "m.ckpt"
    assert _run(["train", str(table), "--out", str(model), "--epochs", "1", "--batch-size", "500"]) == 0
    out = tmp_path / "s.parquet"
    assert _run(["generate", str(model), "--rows", "100", "--out", str(out), "--where", "--bad"]) == 2
    assert _run(["generate", str(model), "--rows", "100", "--out", str(out)]) == 0
    assert set(pd.read_parquet(out)["item_id"]) <= set(df["item_id"])
