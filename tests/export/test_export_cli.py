"""`synthdata export` CLI: ad-hoc --file export, export of a registered run, clean errors + exit codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from support.cli import run_cli

from synthdata.export import read_table
from synthdata.registry import Registry


@pytest.fixture
def synth_parquet(tmp_path: Path) -> Path:
    p = tmp_path / "synth.parquet"
    pd.DataFrame({"user_id": np.arange(1234), "item_id": np.arange(1234) % 50, "views": 1}).to_parquet(p)
    return p


def test_export_file_prints_rows_per_second(db_url: str, synth_parquet: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(
        [
            "export",
            "--file",
            str(synth_parquet),
            "--to",
            db_url,
            "--table",
            "synth_out",
            "--chunk-size",
            "100",
        ],
        capsys,
    )
    assert code == 0 and "1,234" in out and "rows/s" in out
    assert len(read_table(db_url, "synth_out")) == 1234
    code, _, err = run_cli(
        ["export", "--file", str(synth_parquet), "--to", db_url, "--table", "synth_out"], capsys
    )
    assert code == 2 and "already exists" in err and "Traceback" not in err
    code, _, _ = run_cli(
        [
            "export",
            "--file",
            str(synth_parquet),
            "--to",
            db_url,
            "--table",
            "synth_out",
            "--if-exists",
            "append",
        ],
        capsys,
    )
    assert code == 0 and len(read_table(db_url, "synth_out")) == 2468


def test_export_run_id_via_registry(tmp_path: Path, synth_parquet: Path, capsys) -> None:
    reg_url = f"sqlite:///{tmp_path / 'reg.db'}"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    with Registry(reg_url) as reg:
        reg.create_run("20260101T000000-abcdef", run_dir=str(tmp_path))
        reg.add_artefact("20260101T000000-abcdef", "synth", synth_parquet, "synthetic")
        reg.create_run("20260101T000001-nosynth", run_dir=str(tmp_path))
    code, _, err = run_cli(
        ["export", "20260101T000000", "--to", target, "--table", "t", "--registry", reg_url], capsys
    )
    assert code == 0, err
    assert len(read_table(target, "t")) == 1234
    code, _, err = run_cli(
        ["export", "20260101T000001-nosynth", "--to", target, "--table", "u", "--registry", reg_url], capsys
    )
    assert code == 2 and "no synthetic table" in err
    code, _, err = run_cli(["export", "nope", "--to", target, "--table", "u", "--registry", reg_url], capsys)
    assert code == 2 and "no run 'nope'" in err


def test_export_cli_refuses_injection_and_bad_args(tmp_path: Path, synth_parquet: Path, capsys) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    run_cli(["export", "--file", str(synth_parquet), "--to", target, "--table", "y"], capsys)
    code, _, err = run_cli(
        ["export", "--file", str(synth_parquet), "--to", target, "--table", "x; DROP TABLE y"], capsys
    )
    assert code == 2 and "invalid table name" in err and "Traceback" not in err
    assert len(read_table(target, "y")) == 1234
    for bad in ("y\n", "y\r\n", "z\n"):  # `$` matched before a final newline: `y`/`z` were written
        args = ["export", "--file", str(synth_parquet), "--to", target, "--table", bad]
        code, _, err = run_cli([*args, "--if-exists", "replace"], capsys)
        assert code == 2 and "invalid table name" in err and "Traceback" not in err, err
    assert len(read_table(target, "y")) == 1234
    assert "z" not in sa.inspect(sa.create_engine(target)).get_table_names()
    code, _, err = run_cli(["export", "--to", target, "--table", "t"], capsys)
    assert code == 2 and "exactly one" in err
    code, _, err = run_cli(
        ["export", "--file", str(synth_parquet), "--to", target, "--table", "t", "--if-exists", "truncate"],
        capsys,
    )
    assert code == 2 and "if_exists" in err
