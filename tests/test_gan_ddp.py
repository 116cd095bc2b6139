"""The GAN trains under Lightning's own DDP (two CPU processes, gloo), not a home-made scheme.

A GAN step uses one network's parameters at a time; plain DDP would abort on 'unused parameters',
so the synthesizer maps Lightning's DDP strategy names to their find-unused variants.
"""

from __future__ import annotations

from pathlib import Path

from _gan_world import SCHEMA, make_table

from synthdata.model.synthesizer import Synthesizer, _gan_strategy


def test_ddp_strategy_names_map_to_find_unused_variants() -> None:
    assert _gan_strategy("ddp") == "ddp_find_unused_parameters_true"
    assert _gan_strategy("ddp_spawn") == "ddp_spawn_find_unused_parameters_true"
    assert _gan_strategy("auto") == "auto"
    assert _gan_strategy("ddp_find_unused_parameters_false") == "ddp_find_unused_parameters_false"


def test_fit_with_two_ddp_processes_then_sample(tmp_path: Path) -> None:
    df = make_table(n_rows=600)
    syn = Synthesizer(
        SCHEMA,
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
    assert syn.meta["best_val_fidelity"] is not None and 0 < syn.meta["best_val_fidelity"] <= 1
    out = syn.sample(50)
    assert len(out) == 50 and list(out.columns) == list(df.columns)
    assert set(out["user_id"]) <= set(df["user_id"]) and set(out["item_id"]) <= set(df["item_id"])
    syn.save(tmp_path / "m.ckpt")
    again = Synthesizer.load(tmp_path / "m.ckpt").sample(50, seed=1)
    assert len(again) == 50
