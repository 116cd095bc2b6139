"""Split protocols: partition, temporal order, per-user counts, errors, and the `synthdata split` CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.eval_world import SCHEMA, world

from synthdata.errors import ConfigError, InputError
from synthdata.schema import Schema
from synthdata.split import n_test_per_group, split

SYNTHDATA = str(Path(sys.executable).with_name("synthdata"))


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 120))
    users = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))  # small range: many ties
    return pd.DataFrame(
        {
            "user_id": users,
            "item_id": np.arange(n),
            "rating": 5,
            "timestamp": pd.to_datetime(np.asarray(times) * 3600 + 1_600_000_000, unit="s", utc=True),
        }
    )


def expected_test_rows(n: int, frac: float) -> int:
    """round(n·f) half up, but each user keeps at least one training row."""
    return min(math.floor(n * frac + 0.5), n - 1)


MINI = Schema.from_dict(
    {
        "columns": [
            {"name": "user_id", "role": "user_id", "dtype": "int"},
            {"name": "item_id", "role": "item_id", "dtype": "int"},
            {"name": "rating", "role": "signal", "dtype": "int"},
            {"name": "timestamp", "role": "timestamp", "dtype": "datetime"},
        ]
    }
)


@settings(max_examples=60, deadline=None)
@given(
    df=tables(),
    frac=st.floats(0.05, 0.95),
    protocol=st.sampled_from(["user-temporal", "user-random"]),
    seed=st.integers(0, 3),
)
def test_per_user_protocols_partition_and_count(
    df: pd.DataFrame, frac: float, protocol: str, seed: int
) -> None:
    train, test = split(df, MINI, protocol=protocol, test_fraction=frac, seed=seed)  # type: ignore[arg-type]
    # Partition: every row exactly once, nothing invented.
    assert sorted(pd.concat([train, test]).item_id) == sorted(df.item_id)
    assert set(train.index).isdisjoint(test.index)
    sizes = df.groupby("user_id").size()
    got = test.groupby("user_id").size().reindex(sizes.index, fill_value=0)
    expected = [expected_test_rows(n, frac) for n in sizes]  # by hand, not by the code under test
    assert got.tolist() == expected
    np.testing.assert_array_equal(n_test_per_group(sizes.to_numpy(), frac), expected)
    # Every user keeps at least one training row; single-interaction users stay wholly in train.
    assert set(train.user_id) == set(df.user_id)
    single = sizes.index[sizes == 1]
    assert not test.user_id.isin(single).any()
    if protocol == "user-temporal":
        last_train = train.groupby("user_id").timestamp.max()
        first_test = test.groupby("user_id").timestamp.min()
        assert (first_test >= last_train.reindex(first_test.index)).all()


@settings(max_examples=40, deadline=None)
@given(df=tables(), frac=st.floats(0.05, 0.95))
def test_global_temporal_cuts_at_one_time(df: pd.DataFrame, frac: float) -> None:
    train, test = split(df, MINI, protocol="global-temporal", test_fraction=frac)
    assert len(train) + len(test) == len(df)
    assert len(test) == int(np.floor(len(df) * frac + 0.5))
    if len(test) and len(train):
        assert test.timestamp.min() >= train.timestamp.max()


def test_user_temporal_takes_each_users_latest_fifth() -> None:
    df = world(n_users=30, seed=3)
    _, test = split(df, SCHEMA)
    for u, g in df.groupby("user_id"):
        k = int(np.floor(len(g) * 0.2 + 0.5))
        latest = g.sort_values("timestamp").tail(min(k, len(g) - 1)).index
        assert set(test.index[test.user_id == u]) == set(latest)


def test_split_is_deterministic_and_seed_sensitive_for_random() -> None:
    df = world(seed=1)
    a = split(df, SCHEMA, protocol="user-random", seed=5)[1].index
    b = split(df, SCHEMA, protocol="user-random", seed=5)[1].index
    c = split(df, SCHEMA, protocol="user-random", seed=6)[1].index
    assert a.equals(b)
    assert not a.equals(c)


def test_split_errors_are_clear() -> None:
    df = world(n_users=5)
    with pytest.raises(ConfigError, match="protocol"):
        split(df, SCHEMA, protocol="weekly")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="test_fraction"):
        split(df, SCHEMA, test_fraction=1.0)
    no_time = Schema.from_dict({"columns": [c.model_dump() for c in SCHEMA.columns if c.name != "timestamp"]})
    with pytest.raises(ConfigError, match="timestamp"):
        split(df.drop(columns="timestamp"), no_time)
    bad = df.copy()
    bad.loc[bad.index[3], "timestamp"] = pd.NaT
    with pytest.raises(InputError, match="row 3"):
        split(bad, SCHEMA)


def test_split_cli_writes_parquet_and_schema(tmp_path: Path) -> None:
    df = world(n_users=20)
    src = tmp_path / "clean.parquet"
    df.to_parquet(src, index=False)
    SCHEMA.to_yaml(tmp_path / "clean.schema.yaml")
    out_tr, out_te = tmp_path / "out" / "train.parquet", tmp_path / "out" / "test.parquet"
    r = subprocess.run(
        [
            SYNTHDATA,
            "split",
            str(src),
            "--protocol",
            "user-temporal",
            "--test-fraction",
            "0.25",
            "--out-train",
            str(out_tr),
            "--out-test",
            str(out_te),
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    tr, te = pd.read_parquet(out_tr), pd.read_parquet(out_te)
    # every row once, each user's latest quarter (counted by hand) in test
    key = ["user_id", "item_id", "timestamp"]
    both = pd.concat([tr, te]).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(both, df.sort_values(key, ignore_index=True), check_categorical=False)
    for u, g in df.groupby("user_id"):
        k = expected_test_rows(len(g), 0.25)
        assert (te.user_id == u).sum() == k and (tr.user_id == u).sum() == len(g) - k
        if k:
            assert te.timestamp[te.user_id == u].min() >= tr.timestamp[tr.user_id == u].max()
    assert 0 < len(te) < len(df)
    assert Schema.from_yaml(tmp_path / "out" / "train.schema.yaml") == SCHEMA
    assert Schema.from_yaml(tmp_path / "out" / "test.schema.yaml") == SCHEMA
    # Missing schema: one clear line, exit code 2, no traceback.
    (tmp_path / "clean.schema.yaml").unlink()
    r = subprocess.run(
        [SYNTHDATA, "split", str(src), "--out-train", str(out_tr), "--out-test", str(out_te)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 2
    assert "schema not found" in r.stderr and "Traceback" not in r.stderr
