"""`train.model` and the typed `train.hp` block of a pipeline config: checked when the config is loaded
(a misspelt hyperparameter fails before ingest runs, naming the key), and a VAE pipeline runs end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.errors import ConfigError
from synthdata.pipeline import parse_config

BASE = {"source": {"path": "data.csv"}}


@pytest.mark.parametrize(
    ("train", "key"),
    [
        ({"hp": {"z_dimm": 8}}, "hp.z_dimm: unknown hyperparameter"),
        ({"model": "vae", "hp": {"pac": 10}}, "hp.pac: unknown hyperparameter"),  # a GAN-only key
        ({"hp": {"pac": "ten"}}, "hp.pac"),
        ({"model": "vae", "hp": {"beta": 0}}, "hp.beta"),
        ({"model": "diffusion"}, "unknown model 'diffusion'"),
    ],
)
def test_bad_model_or_hyperparameter_names_the_key(train: dict, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config({**BASE, "train": train})
    assert "train" in str(e.value) and key in str(e.value)


def test_good_hp_blocks_validate() -> None:
    cfg = parse_config({**BASE, "train": {"model": "vae", "hp": {"beta": 0.5, "enc_hidden": [64]}}})
    assert cfg.train.model == "vae" and cfg.train.hp["beta"] == 0.5
    assert parse_config(BASE).train.model == "gan"


def test_misspelt_hp_fails_before_ingest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, schema = write_source(tmp_path / "src")
    cfg = tiny_config(csv, schema, train={"hp": {"z_dimm": 8}})
    path = write_config(tmp_path / "bad.yaml", cfg)
    runs = tmp_path / "runs"
    code, _, err = run_cli(
        ["run", str(path), "--registry", f"sqlite:///{tmp_path / 'r.db'}", "--runs-dir", str(runs)], capsys
    )
    assert code == 2 and "hp.z_dimm" in err
    assert not runs.exists() or not any(runs.rglob("clean.parquet"))


def test_vae_pipeline_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv, schema = write_source(tmp_path / "src")
    cfg = tiny_config(
        csv, schema, train={"model": "vae", "hp": {"z_dim": 16, "enc_hidden": [32], "dec_hidden": [32]}}
    )
    path = write_config(tmp_path / "vae.yaml", cfg)
    runs = tmp_path / "runs"
    code, _, err = run_cli(
        ["run", str(path), "--registry", f"sqlite:///{tmp_path / 'r.db'}", "--runs-dir", str(runs)], capsys
    )
    assert code == 0, err[-2000:]
    (synth,) = list(runs.rglob("synth.parquet"))
    (model,) = list(runs.rglob("model.ckpt"))
    from synthdata.model import Synthesizer

    assert Synthesizer.load(model).model == "vae"
    df = pd.read_parquet(synth)
    assert len(df) > 0 and {"user_id", "item_id", "rating"} <= set(df.columns)
