"""The tables a study works on: the pipeline's own training split, carved again into an inner training
split (trials fit here) and a validation split (trials are scored here).

Leak-freeness is structural: the source is ingested and split by the pipeline's own stage bodies, so
the training split is exactly the one `synthdata run` trains on; the test split they write is never
opened, and nothing below this module ever sees it. The validation split is carved the way the test
split was (same protocol and share), so a trial's score mirrors the test situation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synthdata.log import get_logger, kv
from synthdata.pipeline import stages
from synthdata.pipeline.config import PipelineConfig
from synthdata.pipeline.manifest import ARTEFACTS
from synthdata.schema import Schema
from synthdata.split import split

log = get_logger("tune")


@dataclass(frozen=True)
class TuneData:
    """The inner training split (fit), the validation split (score) and their schema."""

    schema: Schema
    inner: pd.DataFrame
    val: pd.DataFrame
    train_rows: int  # rows of the pipeline's training split (row budgets scale from it)


@dataclass
class _Workdir:
    """Just enough of a running pipeline for the ingest and split stage bodies (`StageContext`)."""

    cfg: PipelineConfig
    run_dir: Path
    run_id: str = "tune"
    warm_start_model: Path | None = None
    warm_start_from: str | None = None

    def path(self, artefact: str) -> Path:
        return self.run_dir / ARTEFACTS[artefact][0]

    def out(self, artefact: str) -> Path:
        return self.path(artefact)


def training_split(cfg: PipelineConfig, workdir: Path) -> tuple[pd.DataFrame, Schema]:
    """Ingest the source and split it exactly as the pipeline does; only the training split is read."""
    ctx = _Workdir(cfg, workdir)
    stages.ingest(ctx)
    stages.split(ctx)
    return pd.read_parquet(ctx.path("train")), Schema.from_yaml(ctx.path("schema"))


def tuning_split(train: pd.DataFrame, schema: Schema, cfg: PipelineConfig) -> TuneData:
    """(inner training split, validation split) of the training split, carved like the test split."""
    s = cfg.split
    inner, val = split(train, schema, s.protocol, s.test_fraction, seed=cfg.seed)
    log.info(kv(stage="tune_split", train_rows=len(train), inner_rows=len(inner), validation_rows=len(val)))
    return TuneData(schema, inner.reset_index(drop=True), val.reset_index(drop=True), len(train))


@contextmanager
def tune_data(cfg: PipelineConfig) -> Iterator[TuneData]:
    """The study's tables, built in a scratch folder that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="synthdata-tune-") as tmp:
        train, schema = training_split(cfg, Path(tmp))
        yield tuning_split(train, schema, cfg)
