"""Inequality constraints (`low <= high`): schema validation, enforcement by reparametrisation in the
transformer (every decoded row valid, whatever the generator emits), a fitted synthesizer with zero
violations across save/load and conditions, and ingestion (events output schema, rejects)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support.files import write
from support.gan_world import FAST

from synthdata.errors import ConfigError, InputError
from synthdata.ingest import ingest
from synthdata.model.registry import models_of
from synthdata.model.rows.nets import activate
from synthdata.model.rows.transform import DataTransformer
from synthdata.model.synthesizer import Synthesizer
from synthdata.schema import Schema

COLUMNS = [
    {"name": "user_id", "role": "user_id", "dtype": "int"},
    {"name": "item_id", "role": "item_id", "dtype": "int"},
    {"name": "views", "role": "signal", "dtype": "int", "min": 0},
    {"name": "first_ts", "role": "signal", "dtype": "datetime"},
    {"name": "last_ts", "role": "timestamp", "dtype": "datetime"},
    {"name": "min_paid", "role": "signal", "dtype": "float", "nullable": True},
    {"name": "max_paid", "role": "signal", "dtype": "float", "nullable": True},
    {"name": "segment", "role": "user_attribute", "dtype": "category"},
    {"name": "note", "role": "ignore", "dtype": "string"},
]
CONSTRAINTS = [
    {"type": "inequality", "low": "first_ts", "high": "last_ts"},
    {"type": "inequality", "low": "min_paid", "high": "max_paid"},
]
SCHEMA = Schema.from_dict({"columns": COLUMNS, "constraints": CONSTRAINTS})


def make_table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Aggregated-events-like rows: 60% single-event pairs (first == last), the rest spread over days."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, 40, n)
    last = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 60 * 86400, n), unit="s")
    gap = np.where(rng.random(n) < 0.6, 0, rng.exponential(3 * 86400, n).astype(np.int64))
    lo_paid = np.round(rng.gamma(2.0, 10.0, n), 2)
    hi_paid = lo_paid + np.round(rng.exponential(5.0, n), 2)
    null = rng.random(n) < 0.1
    lo_paid[null], hi_paid[null] = np.nan, np.nan
    return pd.DataFrame(
        {
            "user_id": users,
            "item_id": rng.integers(100, 160, n),
            "views": rng.poisson(2 + 3 * (users % 2), n).astype(np.int64),
            "first_ts": last - pd.to_timedelta(gap, unit="s"),
            "last_ts": last,
            "min_paid": lo_paid,
            "max_paid": hi_paid,
            "segment": np.where(users % 2 == 0, "a", "b").astype(object),
            "note": rng.choice(["x", "y"], n).astype(object),
        }
    )


DF = make_table()


def violations(df: pd.DataFrame) -> int:
    bad = (df["first_ts"] > df["last_ts"]) | (df["min_paid"] > df["max_paid"])
    return int(bad.sum())


# --- schema ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constraint", "key"),
    [
        ({"type": "inequality", "low": "nope", "high": "last_ts"}, "constraints.0.low"),
        ({"type": "inequality", "low": "first_ts", "high": "nope"}, "constraints.0.high"),
        ({"type": "inequality", "low": "first_ts", "high": "views"}, "constraints.0.high"),  # datetime vs int
        ({"type": "inequality", "low": "note", "high": "views"}, "constraints.0.low"),  # ignore role
        ({"type": "inequality", "low": "views", "high": "views"}, "constraints.0.high"),
        (
            {"type": "inequality", "low": "first_ts", "high": "last_ts", "strict": True},
            "constraints.0.strict",
        ),
        ({"type": "ratio", "low": "first_ts", "high": "last_ts"}, "constraints.0.type"),
        ({"type": "inequality", "low": "first_ts"}, "constraints.0.high"),
    ],
)
def test_schema_errors_name_the_bad_key(constraint: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        Schema.from_dict({"columns": COLUMNS, "constraints": [constraint]})


def test_schema_rejects_double_lows_and_cycles() -> None:
    twice = [*CONSTRAINTS, {"type": "inequality", "low": "first_ts", "high": "last_ts"}]
    with pytest.raises(ConfigError, match=r"constraints\.2\.low"):
        Schema.from_dict({"columns": COLUMNS, "constraints": twice})
    cycle = [
        {"type": "inequality", "low": "min_paid", "high": "max_paid"},
        {"type": "inequality", "low": "max_paid", "high": "min_paid"},
    ]
    with pytest.raises(ConfigError, match="cycle"):
        Schema.from_dict({"columns": COLUMNS, "constraints": cycle})


def test_schema_yaml_round_trip(tmp_path: Path) -> None:
    SCHEMA.to_yaml(tmp_path / "s.yaml")
    assert Schema.from_yaml(tmp_path / "s.yaml") == SCHEMA
    plain = Schema.from_dict({"columns": COLUMNS})
    assert plain.constraints == [] and "constraints" not in plain.to_yaml()  # old schemas unchanged


# --- transformer -------------------------------------------------------------------------------------
TR = DataTransformer(SCHEMA, seed=0).fit(DF)


def test_low_is_encoded_as_a_continuous_gap_and_round_trips() -> None:
    info = TR.column_info("first_ts")
    assert info.kind == "continuous" and info.gap_high == "last_ts" and info.gap_datetime
    assert "first_ts" not in TR.ignored and "min_paid" not in TR.ignored
    codes = TR.encode_codes(DF)
    back = TR.inverse_transform(TR.transform(DF), {c: codes[c] for c in TR.catalogues})
    assert (back.dtypes == DF.dtypes).all()
    assert violations(back) == 0
    err = (back["first_ts"] - DF["first_ts"]).abs().dt.total_seconds()
    assert err.median() <= 1  # low = high - gap reproduces the real value
    assert back["min_paid"].isna().equals(DF["min_paid"].isna())
    assert np.isclose(back["min_paid"], DF["min_paid"], rtol=1e-3, equal_nan=True).mean() > 0.95


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.floats(0.1, 30.0))
def test_any_generator_output_satisfies_the_constraints(seed: int, spread: float) -> None:
    """By construction, not by rejection: even noise from an untrained generator decodes to valid rows."""
    rng = np.random.default_rng(seed)
    raw = torch.from_numpy(rng.normal(0, spread, (300, TR.output_dim)).astype(np.float32))
    act = activate(raw, TR.output_info, hard=True).numpy()
    out = TR.inverse_transform(act, {c: rng.integers(0, cat.n, 300) for c, cat in TR.catalogues.items()})
    assert violations(out) == 0
    assert out["first_ts"].notna().all() and str(out["first_ts"].dt.tz) == "UTC"
    assert (out["first_ts"] >= DF["first_ts"].min()).all()


def test_chained_integer_constraints_hold() -> None:
    """a <= b <= c on ints: b is rebuilt from c before a is rebuilt from b; values stay integers."""
    rng = np.random.default_rng(3)
    n = 600
    c = rng.integers(50, 100, n)
    b = c - rng.integers(0, 20, n)
    a = b - rng.integers(0, 20, n)
    df = pd.DataFrame({"u": rng.integers(0, 9, n), "i": rng.integers(0, 9, n), "a": a, "b": b, "c": c})
    num = {"role": "signal", "dtype": "int"}
    schema = Schema.from_dict(
        {
            "columns": [
                {"name": "u", "role": "user_id", "dtype": "int"},
                {"name": "i", "role": "item_id", "dtype": "int"},
                *({"name": x, **num} for x in "abc"),
            ],
            "constraints": [
                {"type": "inequality", "low": "a", "high": "b"},
                {"type": "inequality", "low": "b", "high": "c"},
            ],
        }
    )
    tr = DataTransformer(schema, seed=0, max_discrete_int=4).fit(df)
    raw = torch.from_numpy(rng.normal(0, 5, (500, tr.output_dim)).astype(np.float32))
    act = activate(raw, tr.output_info, hard=True).numpy()
    out = tr.inverse_transform(act, {k: rng.integers(0, cat.n, 500) for k, cat in tr.catalogues.items()})
    assert ((out["a"] <= out["b"]) & (out["b"] <= out["c"])).all()
    assert all(out[x].dtype == np.int64 for x in "abc")


def test_fitting_on_rows_that_break_the_constraint_names_column_and_row() -> None:
    bad = DF.copy()
    bad.loc[7, "first_ts"] = bad.loc[7, "last_ts"] + pd.Timedelta(1, "h")
    with pytest.raises(InputError, match=r"first_ts <= last_ts.*column 'first_ts'.*row 7"):
        DataTransformer(SCHEMA, seed=0).fit(bad)


# --- synthesizer -------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=models_of("rows"))
def syn(request: pytest.FixtureRequest) -> Synthesizer:
    """Every backend: constraints hold by construction (shared decoding), not by what was learned."""
    return Synthesizer(SCHEMA, model=request.param, epochs=2, batch_size=400, seed=0, **FAST).fit(DF)


def test_fitted_synthesizer_samples_zero_violations(syn: Synthesizer, tmp_path: Path) -> None:
    out = syn.sample(3000, seed=1)
    assert violations(out) == 0
    assert list(out.columns) == list(DF.columns) and (out.dtypes == DF.dtypes).all()
    assert out["first_ts"].nunique() > 100  # modelled, not a copy of last_ts or a constant
    cond = syn.sample(200, conditions={"user_id": 3, "segment": "b"}, seed=2)
    assert (cond["user_id"] == 3).all() and violations(cond) == 0
    path = syn.save(tmp_path / "m.ckpt")
    again = Synthesizer.load(path).sample(3000, seed=1)
    pd.testing.assert_frame_equal(out, again)  # the saved transformer keeps the constraint
    pd.testing.assert_frame_equal(out, syn.sample(3000, seed=1))  # deterministic


# --- ingestion ---------------------------------------------------------------------------------------
def test_events_output_schema_carries_the_constraint(tmp_path: Path) -> None:
    log = write(
        tmp_path / "log.csv",
        "user_id,item_id,event_type,timestamp\n"
        "1,9,view,2022-02-02T10:00:00Z\n1,9,purchase,2022-02-05T08:00:00Z\n2,9,view,2022-02-03T00:00:00Z\n",
    )
    res = ingest(log, layout="events", out=tmp_path / "c.parquet")
    assert res.schema.column("first_ts").role == "signal"
    assert [(k.low, k.high) for k in res.schema.constraints] == [("first_ts", "last_ts")]
    assert Schema.from_yaml(res.schema_path).constraints == res.schema.constraints
    df = res.read()
    assert (df["first_ts"] <= df["last_ts"]).all() and (df["first_ts"] < df["last_ts"]).any()


def test_interactions_rows_breaking_a_constraint_are_rejected(tmp_path: Path) -> None:
    schema = Schema.from_dict(
        {
            "layout": "interactions",
            "columns": [
                {"name": "user_id", "role": "user_id", "dtype": "int"},
                {"name": "item_id", "role": "item_id", "dtype": "int"},
                {"name": "lo", "role": "signal", "dtype": "int", "max": 10, "nullable": True},
                {"name": "hi", "role": "signal", "dtype": "int"},
            ],
            "constraints": [{"type": "inequality", "low": "lo", "high": "hi"}],
        }
    )
    body = "user_id,item_id,lo,hi\n1,1,2,3\n1,2,3,3\n1,3,5,4\n1,4,,4\n1,5,12,4\n"
    src = write(tmp_path / "in.csv", body)
    res = ingest(src, schema=schema, out=tmp_path / "c.parquet", report=tmp_path / "r.json")
    rep = json.loads((tmp_path / "r.json").read_text())
    rej = pd.read_parquet(res.rejects_path).sort_values("line")
    # line 4 breaks lo <= hi; line 6 is out of range first (column checks come before constraints)
    assert rej[["line", "column", "reason", "value"]].values.tolist() == [
        [4, "lo", "constraint_violation", "5"],
        [6, "lo", "out_of_range", "12"],
    ]
    assert rep["rejected_by_reason"]["constraint_violation"] == 1
    assert res.read()["item_id"].tolist() == [1, 2, 4]  # equal and empty sides pass
    assert res.schema.constraints == schema.constraints
