"""Every backend of both families trains under Lightning's own DDP (two CPU processes, gloo), not a
home-made scheme.

A GAN step uses one network's parameters at a time; plain DDP would abort on 'unused parameters',
so the synthesizer maps Lightning's DDP strategy names to their find-unused variants.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.gan_world import SCHEMA, make_table

from synthdata.model import BACKENDS
from synthdata.model.synthesizer import Synthesizer
from synthdata.model.training import ddp_strategy


def test_ddp_strategy_names_map_to_find_unused_variants() -> None:
    assert ddp_strategy("ddp", True) == "ddp_find_unused_parameters_true"
    assert ddp_strategy("ddp_spawn", True) == "ddp_spawn_find_unused_parameters_true"
    assert ddp_strategy("auto", True) == "auto"
    assert ddp_strategy("ddp_find_unused_parameters_false", True) == "ddp_find_unused_parameters_false"
    assert ddp_strategy("ddp", False) == "ddp"  # the VAE's one optimiser uses every parameter


@pytest.mark.parametrize("model", sorted(BACKENDS))
def test_fit_with_two_ddp_processes_then_sample(tmp_path: Path, model: str) -> None:
    df = make_table(n_rows=600)
    syn = Synthesizer(
        SCHEMA,
        model=model,
        epochs=1,
        batch_size=100,
        seed=0,
        accelerator="cpu",
        devices=2,
        strategy="ddp_spawn",
        progress_bar=False,
    ).fit(df, checkpoint_dir=tmp_path / "ck")
    assert (tmp_path / "ck" / "last.ckpt").is_file() and (tmp_path / "ck" / "best.ckpt").is_file()
    # the workers' loop and model-selection state reach the parent process
    assert syn.meta["epochs_trained"] == 1 and syn.meta["global_step"] > 0
    score = syn.meta[f"best_{syn.family.monitor}"]
    assert score is not None and 0 <= score <= 1
    out = syn.sample(50)
    assert len(out) == 50 and list(out.columns) == list(df.columns)
    assert set(out["item_id"]) <= set(df["item_id"])
    real_users = set(out["user_id"]) <= set(df["user_id"])
    assert real_users if syn.family.name == "rows" else not (set(out["user_id"]) & set(df["user_id"]))
    syn.save(tmp_path / "m.ckpt")
    again = Synthesizer.load(tmp_path / "m.ckpt").sample(50, seed=1)
    assert len(again) == 50


EXIT_SCRIPT = """
import atexit, os, sys, torch, torch.distributed as dist
from synthdata.model.training import destroy_group_at_exit
atexit.register(lambda: print("initialized at exit:", dist.is_initialized(), flush=True))
store = dist.FileStore(sys.argv[1], 1)
dist.init_process_group("gloo", store=store, rank=0, world_size=1)
dist.all_reduce(torch.ones(3), async_op=True)  # gloo work still referenced when the script ends
destroy_group_at_exit()
destroy_group_at_exit()  # idempotent: one hook per process
print("hooks:", len(__import__("synthdata.model.training", fromlist=["x"])._EXIT_HOOK), flush=True)
"""


def test_process_group_is_destroyed_before_interpreter_exit(tmp_path: Path) -> None:
    """A gloo group left to interpreter finalisation can abort a worker that trained fine (seen in CI as
    SIGABRT in a spawned rank); every DDP process destroys its group in an exit hook instead."""
    out = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "hooks: 1" in out.stdout
    assert "initialized at exit: False" in out.stdout
