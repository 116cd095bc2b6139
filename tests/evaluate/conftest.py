"""Fixtures of the evaluation tests: the shared evaluation world, built once per session.

The frames are shared by every test that asks for them, so no test may change them: after each test
they must still hash as they did when built, or the test fails at teardown. Tests derive new frames
with `.assign`, `.copy()` or `concat`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from support.eval_world import SCHEMA, FakeSynthesizer, world

from synthdata.split import split

# the world the controls, pipeline, strategies and virtual-users tests share
WORLD = {"n_users": 90, "n_items": 50, "seed": 11}
_AS_BUILT: dict[int, tuple[pd.DataFrame, tuple]] = {}  # id(frame) → (frame, its fingerprint when built)


def _fingerprint(df: pd.DataFrame) -> tuple:
    return tuple(df.columns), tuple(map(str, df.dtypes)), pd.util.hash_pandas_object(df).to_numpy().tobytes()


def _share(*frames: pd.DataFrame) -> None:
    for df in frames:
        _AS_BUILT[id(df)] = (df, _fingerprint(df))


@pytest.fixture(scope="session")
def eval_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): the default temporal split of `world(n_users=90, n_items=50, seed=11)`."""
    train, test = split(world(**WORLD), SCHEMA)
    _share(train, test)
    return train, test


@pytest.fixture(scope="session")
def eval_data(eval_split: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, ...]:
    """(train, test, synthetic): `eval_split` and the fake generator's resample of train (seed 1)."""
    train, test = eval_split
    synthetic = FakeSynthesizer(SCHEMA).fit(train).sample(len(train), seed=1)
    _share(synthetic)
    return train, test, synthetic


@pytest.fixture(autouse=True)
def _eval_world_unchanged() -> Iterator[None]:
    """Fail, at teardown, the test that changed a shared frame (or ran after the module fixture that
    did) and every test after it, instead of letting them pass or fail on another world."""
    yield
    changed = [df for df, built in _AS_BUILT.values() if _fingerprint(df) != built]
    assert not changed, "a test changed the shared evaluation world (eval_split / eval_data)"
