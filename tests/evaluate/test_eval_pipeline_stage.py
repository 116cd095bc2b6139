"""The pipeline's evaluate stage: leak-free tuning synthesizer by default, opt-out, validation protocol."""

from __future__ import annotations

from pathlib import Path

from support.pipeline_world import tiny_config

from synthdata.pipeline.config import parse_config


def _cfg(**evaluate):
    base = tiny_config(Path("x.csv"), Path("x.schema.yaml"), evaluate=evaluate)
    return parse_config(base, origin="test")


def test_evaluate_hash_covers_the_tuning_synthesizer_and_split_protocol() -> None:
    on, off = _cfg(), _cfg(tune_synthesizer=False)
    assert on.evaluate.tune_synthesizer and not off.evaluate.tune_synthesizer
    h_on = on.stage_config("evaluate")
    assert h_on["train"] == on.stage_config("train")["train"]  # retraining the tuning copy depends on it
    assert "train" not in off.stage_config("evaluate")
    other = parse_config(
        {**tiny_config(Path("x.csv"), Path("x.schema.yaml")), "split": {"protocol": "user-random"}},
        origin="t",
    )
    assert other.stage_config("evaluate")["split_protocol"] == "user-random" != h_on["split_protocol"]


def test_validation_protocol_follows_the_split_unless_set() -> None:
    assert _cfg().evaluate.split_protocol is None  # the stage fills in the pipeline's split protocol
    assert _cfg(split_protocol="user-random").evaluate.protocol == "user-random"
