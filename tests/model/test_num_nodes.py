"""`--num-nodes`: two "nodes" of one process each on 127.0.0.1 (gloo, Lightning's own environment
variables, as a launcher sets them) train one DDP job and end with the same model; rank 0 alone writes
it. Bad values are refused before training (CLI, API, pipeline config)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from support.cli import run_cli
from support.gan_world import SCHEMA, make_table

from synthdata.errors import ConfigError
from synthdata.model.checkpoint import read_model
from synthdata.model.distributed import weights_digest
from synthdata.model.synthesizer import Synthesizer
from synthdata.pipeline import parse_config

TINY = {
    "gan": ["z_dim=8", "gen_hidden=[16]", "dis_hidden=[16]", "n_modes=2", "bgm_rows=200", "val_rows=100"],
    "multvae": ["hidden=[32]", "latent_dim=8", "val_users=10"],
}
TIMEOUT_S = 300  # a rank waiting for a peer that died must not hang CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(table: Path, node: Path, rank: int, port: int, model: str) -> subprocess.Popen[str]:
    """One node's process, with the variables torchrun/srun-style launchers set for Lightning."""
    env = {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "WORLD_SIZE": "2",
        "NODE_RANK": str(rank),
        "LOCAL_RANK": "0",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    args = ["train", str(table), "--out", str(node / "m.ckpt"), "--model", model, "--epochs", "2"]
    args += ["--batch-size", "100", "--num-nodes", "2", "--devices", "1", "--accelerator", "cpu"]
    args += [f"--hp={h}" for h in [*TINY[model], "num_threads=1", "progress_bar=false"]]
    code = "from synthdata.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=node,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    done = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT_S)
            done.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return done


@pytest.mark.parametrize("model", ["gan", "multvae"])
def test_two_nodes_train_one_model(tmp_path: Path, model: str) -> None:
    table = tmp_path / "t.parquet"
    make_table(n_rows=400).to_parquet(table, index=False)
    SCHEMA.to_yaml(tmp_path / "t.schema.yaml")
    nodes = [tmp_path / "node0", tmp_path / "node1"]
    port = _free_port()
    for n in nodes:
        n.mkdir()
    results = _finish([_launch(table, n, rank, port, model) for rank, n in enumerate(nodes)])
    for code, _, err in results:
        assert code == 0, err[-3000:]
    (_, out0, _), (_, out1, _) = results
    digests = [re.search(r"weights=([0-9a-f]{16})", o) for o in (out0, out1)]
    assert all(digests), (out0, out1)
    # the ranks drew different batches (seeded per rank): equal weights mean DDP averaged their gradients
    assert digests[0][1] == digests[1][1]  # type: ignore[index]
    assert out0.startswith(f"model {nodes[0] / 'm.ckpt'}: {model}")
    assert out1.startswith("rank 1: trained with rank 0")
    assert (nodes[0] / "m.ckpt").is_file() and not (nodes[1] / "m.ckpt").exists()  # rank 0 writes
    saved = Synthesizer.load(nodes[0] / "m.ckpt")
    assert weights_digest(saved.net.state_dict()) == digests[0][1]  # type: ignore[index]
    assert saved.num_nodes == 2
    doc, tensors = read_model(nodes[0] / "m.ckpt")
    del doc["config"]["num_nodes"]  # a model file from before the setting existed still loads
    assert Synthesizer.from_document(doc, tensors, origin="old").num_nodes == 1


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--num-nodes", "0"], "num_nodes must be an integer >= 1"),
        (["--num-nodes", "2", "--strategy", "fsdp"], "needs a DDP strategy"),
    ],
)
def test_bad_num_nodes_is_one_line_exit_2_before_training(
    extra: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "t.parquet"
    make_table(n_rows=100).to_parquet(table, index=False)
    SCHEMA.to_yaml(tmp_path / "t.schema.yaml")
    code, _, err = run_cli(["train", table, "--out", tmp_path / "m.ckpt", *extra], capsys)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1, err
    assert "epoch=" not in err and not (tmp_path / "m.ckpt").exists()


def test_api_checks_num_nodes_and_model_files_remember_it() -> None:
    with pytest.raises(ConfigError, match="integer >= 1"):
        Synthesizer(SCHEMA, num_nodes=True)
    with pytest.raises(ConfigError, match="needs a DDP strategy"):
        Synthesizer(SCHEMA, num_nodes=3, strategy="single_device")
    assert Synthesizer(SCHEMA, num_nodes=4, strategy="ddp_spawn").document()["config"]["num_nodes"] == 4


def test_pipeline_config_takes_train_num_nodes() -> None:
    from synthdata.pipeline.stages import _synthesizer_factory

    base = {"source": {"path": "data.csv"}}
    cfg = parse_config({**base, "train": {"num_nodes": 2, "strategy": "ddp"}})
    assert cfg.train.num_nodes == 2 and parse_config(base).train.num_nodes == 1
    assert _synthesizer_factory(SimpleNamespace(cfg=cfg))(SCHEMA).num_nodes == 2  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"train\.num_nodes"):
        parse_config({**base, "train": {"num_nodes": 0}})
    with pytest.raises(ConfigError, match="needs a DDP strategy"):
        parse_config({**base, "train": {"num_nodes": 2, "strategy": "fsdp"}})
