"""Model files are data: a hostile pickle is refused without running, version-1 files load only when
trusted explicitly, version-2 files round-trip every kind of value the transformer holds, and
`last.ckpt` loads with `weights_only=True`."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import pytest
import torch
from support.cli import run_cli
from support.gan_world import SCHEMA

from synthdata.errors import InputError
from synthdata.model.synthesizer import Synthesizer


class _Payload:
    """Unpickling this touches a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("kind", ["torch-zip", "raw-pickle"])
def test_hostile_pickle_model_file_is_refused_without_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.ckpt"
    state = {"format": "synthdata-gan", "version": 1, "transformer": _Payload(marker)}
    if kind == "torch-zip":
        torch.save(state, evil)
    else:
        evil.write_bytes(pickle.dumps(state))
    code, _, err = run_cli(["generate", evil, "--rows", "3", "--out", tmp_path / "o.parquet"], capsys)
    assert code == 2
    assert "pickle" in err and "--trust-legacy-pickle" in err and str(evil) in err
    assert not marker.exists()  # refused by its first bytes: nothing was unpickled
    with pytest.raises(InputError, match="version-1"):
        Synthesizer.load(evil)
    assert not marker.exists()


def test_version_2_file_is_safetensors_with_json_and_round_trips(
    small_gan: Synthesizer, tmp_path: Path
) -> None:
    from safetensors import safe_open

    path = small_gan.save(tmp_path / "m.ckpt")
    with safe_open(str(path), framework="pt") as f:
        doc = json.loads(f.metadata()["synthdata"])
        keys = set(f.keys())
    assert doc["format"] == "synthdata-model" and doc["version"] == 2 and doc["backend"] == "gan"
    assert any(k.startswith("net.generator.") for k in keys) and "tr.user_id.embeddings" in keys
    loaded = Synthesizer.load(path)
    tr, lt = small_gan.transformer, loaded.transformer
    assert tr is not None and lt is not None
    assert lt.output_info == tr.output_info and lt.output_columns == tr.output_columns
    assert lt.dtypes == tr.dtypes
    for name, cat in tr.catalogues.items():
        assert list(lt.catalogues[name].values) == list(cat.values)
        pd.testing.assert_frame_equal(
            lt.catalogues[name].attributes.astype(str), cat.attributes.astype(str), check_dtype=False
        )
    pd.testing.assert_frame_equal(small_gan.sample(300, seed=2), loaded.sample(300, seed=2))


def test_trusted_legacy_file_loads_and_converts(small_gan: Synthesizer, tmp_path: Path) -> None:
    """A version-1 file (the old torch.save pickle layout) loads only with the trust flag."""
    net = small_gan.net
    assert net is not None
    sd = net.state_dict()
    hp = small_gan.hyper.model_dump()
    v1 = {
        "format": "synthdata-gan",
        "version": 1,
        "schema_yaml": SCHEMA.to_yaml(),
        "config": {**small_gan.document()["config"], "hp": {}},
        "module_hparams": {k: hp[k] for k in ("z_dim", "gen_hidden", "dis_hidden", "pac", "tau")}
        | {"batch_size": 400, "val_seed": 0},
        "transformer": pickle.dumps(small_gan.transformer),
        "generator": {k[len("generator.") :]: v for k, v in sd.items() if k.startswith("generator.")},
        "discriminator": {
            k[len("discriminator.") :]: v for k, v in sd.items() if k.startswith("discriminator.")
        },
        "arrow_schema": small_gan._arrow_schema,
        "meta": {},
    }
    path = tmp_path / "v1.ckpt"
    torch.save(v1, path)
    with pytest.raises(InputError, match="trust-legacy-pickle"):
        Synthesizer.load(path)
    old = Synthesizer.load(path, trust_legacy_pickle=True)
    pd.testing.assert_frame_equal(old.sample(200, seed=1), small_gan.sample(200, seed=1))
    resaved = old.save(tmp_path / "v2.ckpt")
    assert Synthesizer.load(resaved).model == "gan"


def test_damaged_version_2_files_are_clear_errors(small_gan_file: Path, tmp_path: Path) -> None:
    blob = small_gan_file.read_bytes()
    (tmp_path / "cut.ckpt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(InputError, match="cannot read model file"):
        Synthesizer.load(tmp_path / "cut.ckpt")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "foreign.ckpt"), metadata={"other": "1"})
    with pytest.raises(InputError, match="not a synthdata model"):
        Synthesizer.load(tmp_path / "foreign.ckpt")
    save_file(
        {"x": torch.zeros(2)},
        str(tmp_path / "partial.ckpt"),
        metadata={"synthdata": json.dumps({"format": "synthdata-model", "version": 2, "backend": "gan"})},
    )
    with pytest.raises(InputError, match="lacks schema_yaml"):
        Synthesizer.load(tmp_path / "partial.ckpt")
