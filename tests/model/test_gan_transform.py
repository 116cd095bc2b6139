"""DataTransformer: reversible encoding, valid decoded values, one span list driving activations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from support.gan_world import SCHEMA, high_card_table, make_table

from synthdata.model.rows.condition import ConditionSampler
from synthdata.model.rows.gan import Gan, GanHyper
from synthdata.model.rows.nets import activate
from synthdata.model.rows.transform import DataTransformer

DF = make_table()
TR = DataTransformer(SCHEMA, seed=0).fit(DF)


def _decode(tr: DataTransformer, enc: np.ndarray, df: pd.DataFrame) -> pd.DataFrame:
    codes = tr.encode_codes(df)
    ids = {c: codes[c] for c in tr.catalogues}
    return tr.inverse_transform(enc, ids)


def test_round_trip_restores_values_and_dtypes() -> None:
    enc = TR.transform(DF)
    assert enc.shape == (len(DF), TR.output_dim) and enc.dtype == np.float32
    back = _decode(TR, enc, DF)
    assert list(back.columns) == list(DF.columns)
    assert (back.dtypes == DF.dtypes).all()
    for col in ["user_id", "item_id", "rating", "channel", "age", "gender", "category"]:
        assert (back[col].astype(object).to_numpy() == DF[col].astype(object).to_numpy()).all(), col
    # continuous: exact up to float precision except values clipped at ±4σ of their mode
    assert (back["views"] == DF["views"]).mean() > 0.97
    assert (back["ts"] - DF["ts"]).abs().dt.total_seconds().median() <= 1
    assert back["price_paid"].isna().equals(DF["price_paid"].isna())
    close = np.isclose(back["price_paid"], DF["price_paid"], rtol=1e-4) | DF["price_paid"].isna()
    assert close.mean() > 0.97
    assert str(back["ts"].dt.tz) == "UTC"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), spread=st.floats(0.1, 20.0))
def test_any_generator_output_decodes_to_valid_values(seed: int, spread: float) -> None:
    """Whatever the generator emits, decoded ints are integers in range and categories are known."""
    rng = np.random.default_rng(seed)
    raw = torch.from_numpy(rng.normal(0, spread, (200, TR.output_dim)).astype(np.float32))
    act = activate(raw, TR.output_info, hard=True).numpy()
    ids = {c: rng.integers(0, cat.n, 200) for c, cat in TR.catalogues.items()}
    out = TR.inverse_transform(act, ids)
    assert out["rating"].between(1, 5).all() and out["rating"].dtype == np.int64
    assert out["views"].between(DF["views"].min(), DF["views"].max()).all()
    assert out["views"].dtype == np.int64
    p = out["price_paid"].dropna()
    assert p.between(DF["price_paid"].min(), DF["price_paid"].max()).all()
    assert out["ts"].between(DF["ts"].min(), DF["ts"].max()).all()
    assert set(out["channel"].astype(str)) <= set(DF["channel"].astype(str))
    assert set(out["note"]) <= set(DF["note"])


def test_span_list_drives_layout_and_activations() -> None:
    spans = TR.output_info
    assert sum(s.dim for s in spans) == TR.output_dim
    starts = [c.start for c in TR.columns]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(b.start == a.start + a.dim for a, b in zip(TR.columns, TR.columns[1:], strict=False))
    raw = torch.randn(64, TR.output_dim) * 5
    act = activate(raw, spans)
    a = 0
    for s in spans:
        block = act[:, a : a + s.dim]
        if s.activation == "tanh":
            assert block.abs().max() <= 1
        elif s.activation == "softmax":
            assert torch.allclose(block.sum(1), torch.ones(64), atol=1e-5) and (block >= 0).all()
        else:
            assert torch.allclose(block.norm(dim=1), torch.ones(64), atol=1e-5)
        a += s.dim
    hard = activate(raw, spans, hard=True)
    a = 0
    for s in spans:
        if s.activation == "softmax":
            assert set(hard[:, a : a + s.dim].unique().tolist()) <= {0.0, 1.0}
            assert (hard[:, a : a + s.dim].sum(1) == 1).all()
        a += s.dim
    # the same spans locate columns for the conditional sampler
    cond = ConditionSampler(TR)
    for slot in cond.slots:
        info = TR.column_info(slot.column)
        assert (slot.span_start, slot.span_dim) == (info.start, info.dim)


def test_ids_and_attributes_are_not_one_hot() -> None:
    kinds = {c.name: c.kind for c in TR.columns}
    assert kinds["user_id"] == kinds["item_id"] == "id"
    assert "age" not in kinds and "gender" not in kinds and "category" not in kinds  # looked up
    assert kinds["rating"] == "discrete" and kinds["views"] == "continuous"
    assert TR.column_info("user_id").dim == TR.id_dim


def test_mixture_is_fitted_on_a_bounded_subsample(monkeypatch) -> None:
    from sklearn.mixture import BayesianGaussianMixture

    seen: list[int] = []
    orig = BayesianGaussianMixture.fit

    def spy(self, x, y=None):  # type: ignore[no-untyped-def]
        seen.append(len(x))
        return orig(self, x, y)

    monkeypatch.setattr(BayesianGaussianMixture, "fit", spy)
    big = make_table(n_rows=12_000, seed=3)
    DataTransformer(SCHEMA, bgm_rows=2000, seed=0).fit(big)
    assert seen and max(seen) == 2000


def test_high_cardinality_memory_is_linear_in_ids() -> None:
    """20k items: encoded width, networks and conditional vector do not grow with the catalogue;
    the only per-id storage is the (n_ids × d) embedding/decoder tables."""
    sizes = {}
    for n_items in (2_000, 20_000):
        df, schema = high_card_table(n_users=5_000, n_items=n_items, n_rows=40_000)
        tr = DataTransformer(schema, id_dim=16, seed=0).fit(df)
        cond = ConditionSampler(tr)
        net = Gan(tr.output_dim, cond.cond_dim, tr.output_info, GanHyper())
        params = sum(p.numel() for p in net.parameters())
        buffers = sum(b.numel() for b in [*net.buffers(), *cond.buffers()])
        sizes[n_items] = (tr.output_dim, cond.cond_dim, params, buffers)
    (w1, c1, p1, b1), (w2, c2, p2, b2) = sizes[2_000], sizes[20_000]
    assert (w1, c1, p1) == (w2, c2, p2)
    d = 16
    # buffers: per item at most a few rows of d floats (table + decoder copy) plus O(1) indices
    assert b2 - b1 <= 18_000 * (3 * d + 4)
    assert b2 - b1 >= 18_000 * d
