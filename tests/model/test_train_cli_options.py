"""`synthdata train` options the docs promise: `--hp` parse and type errors (one line, exit 2, before
any training), `--max-minutes` and `patience` ending training early; sampling never imports Lightning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli
from support.gan_world import SCHEMA, make_table

# a small GAN: tiny layers, one torch thread, few validation rows
SMALL = ["z_dim=8", "gen_hidden=[16]", "dis_hidden=[16]", "n_modes=2", "bgm_rows=200", "bgm_iter=10"]
SMALL += ["val_rows=100", "num_threads=1"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("train")
    make_table(n_rows=400).to_parquet(d / "t.parquet", index=False)
    SCHEMA.to_yaml(d / "t.schema.yaml")
    return d / "t.parquet"


def train(table: Path, out: Path, *extra: str, hp: list[str] = SMALL) -> list[str]:
    return ["train", str(table), "--out", str(out), "--batch-size", "100", *extra, *(f"--hp={h}" for h in hp)]


@pytest.mark.parametrize(
    ("pair", "said"),
    [
        ("z_dim", "expected KEY=VALUE"),
        ("=8", "expected KEY=VALUE"),
        ("gen_hidden=[16,", "not a YAML scalar or list"),
        ("z_dim=wide", "z_dim"),  # checked by type
        ("gen_hidden=16x", "gen_hidden"),
        ("z_dimm=8", "z_dimm"),  # an unknown key is named, not ignored
    ],
)
def test_hp_errors_are_one_line_exit_2_before_training(
    pair: str, said: str, table: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "m.ckpt"
    code, _, err = run_cli(train(table, out, hp=[*SMALL, pair]), capsys)
    assert code == 2 and said in err, err[-2000:]
    assert [line for line in err.splitlines() if line.startswith("error:")] == err.strip().splitlines()[-1:]
    assert "Traceback" not in err and "event=train_start" not in err and "epoch=" not in err
    assert not out.exists()


def _epochs(out: str) -> int:
    return int(out.split(" epochs=")[1].split()[0])


def test_max_minutes_stops_training_before_the_epochs(table: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.ckpt"
    code, stdout, err = run_cli(train(table, out, "--epochs", "500", "--max-minutes", "0.005"), capsys)
    assert code == 0, err[-2000:]
    assert 1 <= _epochs(stdout) < 500 and out.is_file(), stdout  # 0.3 s of 500 epochs


def test_patience_stops_when_the_score_stops_improving(table: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.ckpt"
    code, stdout, err = run_cli(train(table, out, "--epochs", "60", hp=[*SMALL, "patience=1"]), capsys)
    assert code == 0, err[-2000:]
    assert _epochs(stdout) < 60, stdout


# Run in a fresh interpreter, not through run_cli: sys.modules must start without lightning.
SAMPLER = """
import json, sys
from synthdata.model.synthesizer import Synthesizer
syn = Synthesizer.load(sys.argv[1])
rows = syn.sample(20, seed=1)
from synthdata.cli import main
try:
    main(["generate", sys.argv[1], "--rows", "30", "--out", sys.argv[2]])
except SystemExit as e:
    assert not e.code, e.code
lightning = sorted(m for m in sys.modules if m.split(".")[0] in ("lightning", "pytorch_lightning"))
print(json.dumps({"rows": len(rows), "lightning": lightning}))
"""


def test_loading_and_sampling_never_import_lightning(table: Path, tmp_path: Path, capsys) -> None:
    model, out = tmp_path / "m.ckpt", tmp_path / "g.parquet"
    code, _, err = run_cli(train(table, model, "--epochs", "1"), capsys)
    assert code == 0, err[-2000:]
    r = subprocess.run(
        [sys.executable, "-c", SAMPLER, str(model), str(out)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got == {"rows": 20, "lightning": []}
    assert out.is_file()
