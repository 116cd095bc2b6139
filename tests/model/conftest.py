"""Fixtures of the model tests: the small trained GAN, fitted once per session.

Tests only sample from it, save it and read its parts; a test that needs to train further or change
its settings fits its own model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gan_world import FAST, SCHEMA, make_table

from synthdata.model.synthesizer import Synthesizer

SMALL_TABLE_ROWS = 800  # the tests using the fixtures build their DF as make_table(n_rows=800)


@pytest.fixture(scope="session")
def small_gan() -> Synthesizer:
    """One epoch of the GAN on `make_table(n_rows=800)`, seed 0."""
    df = make_table(n_rows=SMALL_TABLE_ROWS)
    return Synthesizer(SCHEMA, epochs=1, batch_size=400, seed=0, **FAST).fit(df)


@pytest.fixture(scope="session")
def small_gan_file(small_gan: Synthesizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`small_gan` saved once; tests read the file, never write it."""
    return small_gan.save(tmp_path_factory.mktemp("small_gan") / "model.ckpt")
