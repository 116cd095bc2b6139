"""The bundled sample is not convenient: times depend on the user (join dates, sessions, taste drift),
so a temporal split differs from a random one, and many users are cold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthdata.evaluate.augment import training_positives_per_user
from synthdata.ingest import ingest
from synthdata.schema import Schema
from synthdata.split import split

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[pd.DataFrame, Schema]:
    out = tmp_path_factory.mktemp("sample") / "clean.parquet"
    ingest(SAMPLE, layout="events", schema=SAMPLE / "schema.yaml", out=out)
    return pd.read_parquet(out), Schema.from_yaml(out.with_name("clean.schema.yaml"))


def _by_user(df: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    return df.sort_values([schema.user_col, "first_ts"], kind="mergesort")


def test_events_come_in_sessions(clean) -> None:
    df, schema = clean
    gaps = _by_user(df, schema).groupby(schema.user_col)["first_ts"].diff().dropna()
    assert (gaps < pd.Timedelta("15min")).mean() > 0.3  # uniform times over 6 weeks give ≈ 0.02


def test_users_join_over_time(clean) -> None:
    df, schema = clean
    first = df.groupby(schema.user_col)["first_ts"].min()
    assert (first - first.min()).median() > pd.Timedelta(days=7)  # not everyone active from day one


def test_taste_drifts(clean) -> None:
    """A user's top category early on differs from their top category later (uniform times: ≈ 5%)."""
    df, schema = clean
    changed = []
    for _, g in _by_user(df, schema).groupby(schema.user_col):
        if len(g) >= 10:
            h = len(g) // 2
            cats = g["category"].astype(str)
            changed.append(cats.iloc[:h].value_counts().index[0] != cats.iloc[h:].value_counts().index[0])
    assert sum(changed) / len(changed) > 0.15


def test_many_users_are_cold(clean) -> None:
    df, schema = clean
    train, _ = split(df, schema, "user-temporal", 0.2, seed=0)
    cold = (training_positives_per_user(train, schema) <= 10).mean()
    assert 0.3 < cold < 0.9
