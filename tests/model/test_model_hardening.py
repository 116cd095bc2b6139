"""Regression tests for the model stage's hardening (issue 9 items 3, 4, 11, 14, 15): each failed on
74c103d. Resume refuses another table, warm start refuses another schema unless told, damaged
checkpoints and model files are one-line errors naming the file, repeated `--where` keys spread rows
over their values, `--out x.csv` writes CSV and unknown suffixes are refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli
from support.gan_world import FAST, SCHEMA, make_table

from synthdata.errors import ConfigError, InputError
from synthdata.model.synthesizer import Synthesizer
from synthdata.schema import Schema

DF = make_table(n_rows=800)


def _table(tmp_path: Path, df: pd.DataFrame, name: str) -> Path:
    path = tmp_path / f"{name}.parquet"
    df.to_parquet(path, index=False)
    SCHEMA.to_yaml(tmp_path / f"{name}.schema.yaml")
    return path


def _train_args(table: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train",
        str(table),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "400",
        "--accelerator",
        "cpu",
        *extra,
    ]


# --- item 3: resume on another table ----------------------------------------------------------------
def test_resume_on_another_table_is_refused_by_the_api(tmp_path: Path) -> None:
    Synthesizer(SCHEMA, epochs=1, batch_size=400, **FAST).fit(DF, checkpoint_dir=tmp_path)
    other = make_table(n_rows=800, seed=3)
    with pytest.raises(InputError, match="another table") as e:
        Synthesizer(SCHEMA, epochs=2, batch_size=400, **FAST).fit(other, checkpoint_dir=tmp_path, resume=True)
    assert "last.ckpt" in str(e.value)
    with pytest.raises(InputError, match="another hyperparameters"):
        Synthesizer(SCHEMA, epochs=2, batch_size=400, z_dim=8, **FAST).fit(
            DF, checkpoint_dir=tmp_path, resume=True
        )
    # the same table still resumes, also when only how the fit is shown or run differs
    again = Synthesizer(SCHEMA, epochs=2, batch_size=400, **{**FAST, "sample_batch": 999}).fit(
        DF, checkpoint_dir=tmp_path, resume=True
    )
    assert again.meta["epochs_trained"] == 2


def test_resume_on_another_table_is_refused_by_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = _table(tmp_path, DF, "a"), _table(tmp_path, make_table(n_rows=800, seed=4), "b")
    ck = tmp_path / "ck"
    assert run_cli(_train_args(a, tmp_path / "a.ckpt", "--checkpoint-dir", str(ck)), capsys)[0] == 0
    resume = _train_args(b, tmp_path / "b.ckpt", "--checkpoint-dir", str(ck), "--resume")
    code, _, err = run_cli(resume, capsys)
    assert code == 2
    assert "another table" in err and "last.ckpt" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "b.ckpt").exists()


# --- item 4: warm start from another schema -----------------------------------------------------------
def test_warm_start_from_another_schema_needs_the_partial_flag(
    small_gan_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = SCHEMA.model_dump(mode="json")
    d["columns"] = [c for c in d["columns"] if c["name"] != "views"]
    narrower = Schema.from_dict(d)
    df = DF.drop(columns=["views"])
    with pytest.raises(ConfigError, match=r"another schema.*--warm-start-partial"):
        Synthesizer(narrower, epochs=0, batch_size=400, **FAST).fit(df, init_from=small_gan_file)
    with caplog.at_level(logging.WARNING, logger="synthdata"):
        Synthesizer(narrower, epochs=0, batch_size=400, **FAST).fit(
            df, init_from=small_gan_file, warm_start_partial=True
        )
    warn = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "warm_start" in r.getMessage()
    ]
    assert len(warn) == 1
    assert "copied=" in warn[0] and "not_copied=" in warn[0]
    assert "generator.seq.0.fc.weight" in warn[0]  # the input layer's shape changed: listed as not copied


# --- item 11: damaged checkpoints and model files ------------------------------------------------------
def test_truncated_last_ckpt_on_resume_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, ck = _table(tmp_path, DF, "t"), tmp_path / "ck"
    assert run_cli(_train_args(table, tmp_path / "m.ckpt", "--checkpoint-dir", str(ck)), capsys)[0] == 0
    last = ck / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    resume = _train_args(table, tmp_path / "m2.ckpt", "--checkpoint-dir", str(ck), "--resume")
    code, _, err = run_cli(resume, capsys)
    err = err.strip()
    assert code == 2
    assert str(last) in err and "damaged" in err and len(err.splitlines()) == 1


def test_datetime_column_holding_raw_numbers_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table that skipped ingest (epoch integers where the schema says datetime) is bad input."""
    raw = DF.assign(ts=DF["ts"].astype("int64") // 10**9)
    capsys.readouterr()
    code, _, err = run_cli(_train_args(_table(tmp_path, raw, "raw"), tmp_path / "m.ckpt"), capsys)
    err = err.strip()
    assert code == 2
    assert "'ts'" in err and "datetime" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not (tmp_path / "m.ckpt").exists()


def test_model_file_that_is_a_dict_without_the_keys_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    bad = tmp_path / "bad.ckpt"
    torch.save({"format": "synthdata-gan", "version": 1}, bad)
    out = tmp_path / "o.parquet"
    code, _, err = run_cli(["generate", bad, "--rows", "3", "--out", out], capsys)
    err = err.strip()
    assert code == 2
    assert str(bad) in err and len(err.splitlines()) == 1 and not out.exists()


def test_trusted_legacy_dict_without_the_keys_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    bad = tmp_path / "bad.ckpt"
    torch.save({"format": "synthdata-gan", "version": 1}, bad)
    args = ["generate", bad, "--rows", "3", "--out", tmp_path / "o.parquet", "--trust-legacy-pickle"]
    code, _, err = run_cli(args, capsys)
    err = err.strip()
    assert code == 2
    assert "lacks" in err and str(bad) in err and len(err.splitlines()) == 1


# --- item 14: repeated --where keys -------------------------------------------------------------------
def test_repeated_where_keys_spread_rows_over_the_values(
    small_gan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.parquet"
    args = ["generate", small_gan_file, "--rows", "400", "--out", out, "--seed", "1"]
    assert run_cli([*args, "--where", " channel = web ", "--where", "channel=store"], capsys)[0] == 0
    got = pd.read_parquet(out)["channel"].astype(str)
    assert set(got) == {"web", "store"}
    assert 0.35 < (got == "web").mean() < 0.65
    code, _, err = run_cli([*args, "--where", "channel="], capsys)
    assert code == 2 and "COLUMN=VALUE" in err


# --- item 15: --out suffix decides the format ---------------------------------------------------------
def test_out_csv_writes_csv_and_unknown_suffixes_are_refused(
    small_gan_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "x.csv"
    assert run_cli(["generate", small_gan_file, "--rows", "50", "--out", csv], capsys)[0] == 0
    assert not csv.read_bytes().startswith(b"PAR1")
    back = pd.read_csv(csv)
    assert len(back) == 50 and list(back.columns) == list(DF.columns)
    assert back["user_id"].isin(DF["user_id"]).all()
    for name in ("x.json", "x"):
        code, _, err = run_cli(["generate", small_gan_file, "--rows", "5", "--out", tmp_path / name], capsys)
        assert code == 2 and "unknown file type" in err
        assert not (tmp_path / name).exists()
