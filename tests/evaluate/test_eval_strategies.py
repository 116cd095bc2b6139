"""The cold-items strategy for both model families, and null controls centred on a strategy's items."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from support.eval_world import SCHEMA, FakeSynthesizer, world

from synthdata.errors import ConfigError
from synthdata.evaluate.augment import (
    cold_item_users,
    cold_items,
    generate,
    is_histories,
    item_positive_counts,
    long_tail_items,
    select,
    strategy_item_pool,
)
from synthdata.evaluate.config import EvalConfig
from synthdata.evaluate.controls import CONTROLS, control_rngs, control_rows
from synthdata.evaluate.recommend import positive_rows
from synthdata.pipeline import parse_config
from synthdata.split import split

THRESHOLD = 6  # seven cold items in this world


class FakeHistories(FakeSynthesizer):
    """A histories model stand-in: `sample_users(like=...)` gives each id `per_user` virtual copies."""

    family = SimpleNamespace(name="histories")

    def sample_users(self, n=None, *, like=(), per_user=1, seed=None) -> pd.DataFrame:
        assert self.fitted_on is not None and n is None
        self.like = list(like)
        src = self.fitted_on[self.fitted_on["user_id"].isin(self.like)]
        parts = [src.assign(user_id=src["user_id"] + 10_000 * (j + 1)) for j in range(per_user)]
        return pd.concat(parts, ignore_index=True)


class RowSynthesizerLike(FakeSynthesizer):
    """Like the real row Synthesizer: it has a sample_users method, which refuses."""

    family = SimpleNamespace(name="rows")

    def sample_users(self, *args, **kwargs) -> pd.DataFrame:
        raise ConfigError("row models cannot sample users")


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return split(world(n_users=90, n_items=60, seed=5), SCHEMA)[0]


def test_cold_items_have_one_to_threshold_positives(train) -> None:
    counts = item_positive_counts(train, SCHEMA)
    cold = cold_items(train, SCHEMA, THRESHOLD)
    assert len(cold) > 0 and counts[cold].between(1, THRESHOLD).all()
    assert set(counts.index[counts.between(1, THRESHOLD)]) == set(cold)
    users = cold_item_users(train, SCHEMA, THRESHOLD)
    pos = train[positive_rows(train, SCHEMA)]
    assert set(users) == set(pos.loc[pos["item_id"].isin(cold), "user_id"])


def test_family_is_told_by_sample_users_and_family(train) -> None:
    assert not is_histories(FakeSynthesizer(SCHEMA))
    assert not is_histories(RowSynthesizerLike(SCHEMA))
    assert is_histories(FakeHistories(SCHEMA))


@pytest.mark.parametrize("cls", [FakeSynthesizer, RowSynthesizerLike])
def test_row_models_get_budget_rows_per_cold_item(train, cls) -> None:
    synth = cls(SCHEMA).fit(train)
    out = generate(synth, train, SCHEMA, "cold-items", budget=4, cold_item_threshold=THRESHOLD, seed=1)
    cold = cold_items(train, SCHEMA, THRESHOLD)
    assert (out["item_id"].value_counts().reindex(cold) == 4).all() and len(out) == 4 * len(cold)
    again = generate(synth, train, SCHEMA, "cold-items", budget=4, cold_item_threshold=THRESHOLD, seed=1)
    pd.testing.assert_frame_equal(out, again)  # seeded
    mixed = pd.concat([out, synth.sample(200, seed=2)], ignore_index=True)  # rows on any item
    kept = select(mixed, train, SCHEMA, "cold-items", cold_item_threshold=THRESHOLD)
    assert kept["item_id"].isin(cold).all() and len(kept) >= len(out)


def test_histories_models_get_neighbours_of_cold_item_users(train) -> None:
    synth = FakeHistories(SCHEMA).fit(train)
    out = generate(synth, train, SCHEMA, "cold-items", neighbours=2, cold_item_threshold=THRESHOLD)
    assert set(synth.like) == set(cold_item_users(train, SCHEMA, THRESHOLD))
    assert not out["user_id"].isin(train["user_id"]).any()  # all virtual
    assert out["user_id"].nunique() == 2 * len(synth.like)
    kept = select(out, train, SCHEMA, "cold-items", cold_item_threshold=THRESHOLD)
    pd.testing.assert_frame_equal(kept, out)  # neighbours' rows are kept whole, any item
    assert not out["item_id"].isin(cold_items(train, SCHEMA, THRESHOLD)).all()
    assert (
        strategy_item_pool("cold-items", train, SCHEMA, cold_item_threshold=THRESHOLD, synthetic=out) is None
    )


def test_nothing_cold_gives_an_empty_table(train) -> None:
    for synth in (FakeSynthesizer(SCHEMA).fit(train), FakeHistories(SCHEMA).fit(train)):
        out = generate(synth, train, SCHEMA, "cold-items", cold_item_threshold=0)
        assert len(out) == 0 and list(out.columns) == list(train.columns)


def test_item_pools(train) -> None:
    assert strategy_item_pool("unconditional", train, SCHEMA) is None
    assert strategy_item_pool("cold-users", train, SCHEMA) is None
    tail = strategy_item_pool("long-tail", train, SCHEMA, long_tail_share=0.7)
    assert tail is not None and tail.tolist() == long_tail_items(train, SCHEMA, 0.7).tolist()
    cold = strategy_item_pool("cold-items", train, SCHEMA, cold_item_threshold=THRESHOLD)
    assert cold is not None and set(cold) == set(cold_items(train, SCHEMA, THRESHOLD))


def test_controls_with_a_pool_draw_only_pool_items(train) -> None:
    synthetic = FakeSynthesizer(SCHEMA).fit(train).sample(400, seed=3)
    pool = cold_items(train, SCHEMA, THRESHOLD)
    on_pool = synthetic.assign(item_id=np.resize(pool, len(synthetic)))  # what select would keep
    for name in CONTROLS:
        rows = control_rows(name, on_pool, train, SCHEMA, control_rngs(0)[name], pool=pool)
        assert rows["item_id"].isin(pool).all() and len(rows) == len(on_pool)
        assert (rows["user_id"].to_numpy() == on_pool["user_id"].to_numpy()).all()
        again = control_rows(name, on_pool, train, SCHEMA, control_rngs(0)[name], pool=pool)
        pd.testing.assert_frame_equal(rows, again)  # seeded
    uni = control_rows("uniform", on_pool, train, SCHEMA, control_rngs(0)["uniform"], pool=pool)
    assert uni["item_id"].nunique() > 0.8 * len(pool)
    # popularity within the pool: items with more training positives are drawn more often
    counts = item_positive_counts(train, SCHEMA)
    rare, liked = counts.index[counts == 2][0], counts.index[counts == 6][0]
    two = np.array([rare, liked])
    pop = control_rows("popularity", synthetic, train, SCHEMA, control_rngs(1)["popularity"], pool=two)
    share = (pop["item_id"] == liked).mean()
    assert 0.65 < share < 0.85  # expected 6 / (2 + 6)
    with pytest.raises(ValueError, match="pool"):
        control_rows("uniform", on_pool, train, SCHEMA, control_rngs(0)["uniform"], pool=np.array([-7]))


def test_controls_without_a_pool_are_unchanged(train) -> None:
    synthetic = FakeSynthesizer(SCHEMA).fit(train).sample(300, seed=3)
    for name in CONTROLS:
        a = control_rows(name, synthetic, train, SCHEMA, control_rngs(4)[name])
        b = control_rows(name, synthetic, train, SCHEMA, control_rngs(4)[name], pool=None)
        pd.testing.assert_frame_equal(a, b)
    rng = control_rngs(4)["popularity"]
    liked = train.loc[positive_rows(train, SCHEMA), "item_id"].to_numpy()
    expected = liked[rng.integers(0, len(liked), size=len(synthetic))]  # the draw before pools existed
    pop = control_rows("popularity", synthetic, train, SCHEMA, control_rngs(4)["popularity"])
    assert (pop["item_id"].to_numpy() == expected).all()


def test_config_accepts_cold_items_for_both_families() -> None:
    cfg = EvalConfig(strategy="cold-items", cold_item_threshold=2)
    assert cfg.cold_item_threshold == 2 and EvalConfig().cold_item_threshold == 5
    base = {"source": {"path": "x.csv"}, "evaluate": {"strategy": "cold-items", "neighbours": 3}}
    rows = parse_config({**base, "train": {"model": "gan"}})
    assert rows.user_strategy() is None  # row model: rows are generated, evaluate keeps cold-item rows
    hist = parse_config({**base, "train": {"model": "multvae"}})
    assert hist.user_strategy() == {"strategy": "cold-items", "neighbours": 3, "cold_item_threshold": 5}


def test_cold_items_end_to_end_through_evaluate_and_the_cli(eval_split, tmp_path, capsys) -> None:
    """A row model's cold-items rows: segments in metrics.json, pooled controls, the CLI's item table."""
    from support.cli import run_cli
    from support.eval_world import FAST_EVAL

    from synthdata.evaluate import evaluate

    train, test = eval_split
    synth = FakeSynthesizer(SCHEMA).fit(train)
    rows = generate(synth, train, SCHEMA, "cold-items", budget=5, cold_item_threshold=THRESHOLD, seed=1)
    assert set(rows["item_id"]) <= set(cold_items(train, SCHEMA, THRESHOLD))
    cfg = EvalConfig(**{**FAST_EVAL, "strategy": "cold-items", "cold_item_threshold": THRESHOLD})
    out = evaluate(train, test, rows, SCHEMA, cfg)
    items = out["recsys"]["items"]
    assert set(items["n_items"]) == {"cold_items", "head", "tail"}
    n_train_items = train["item_id"].nunique()
    assert items["n_items"]["head"] + items["n_items"]["tail"] == n_train_items  # a partition
    for arm in ("real", "augmented", "popularity", *(f"control.{c}" for c in CONTROLS)):
        for seg in items["n_items"]:
            s = items["summary"][arm][seg]
            assert 0 <= s["coverage"]["mean"] <= 1 and 0 <= s["rec_share"]["mean"] <= 1
    head, tail = items["summary"]["popularity"]["head"], items["summary"]["popularity"]["tail"]
    assert head["rec_share"]["mean"] > tail["rec_share"]["mean"]  # the popularity floor favours the head
    assert set(items["delta"]["real"]) == set(items["n_items"])
    assert "item_recall" in out["definitions"] and "verdict" in out["definitions"]

    for name, df in (("train", train), ("test", test), ("synth", rows)):
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
        SCHEMA.to_yaml(tmp_path / f"{name}.schema.yaml")
    args = ["evaluate", "--train", tmp_path / "train.parquet", "--test", tmp_path / "test.parquet"]
    args += ["--synthetic", tmp_path / "synth.parquet", "--strategy", "cold-items", "--seeds", "1"]
    args += [
        "--cold-item-threshold",
        str(THRESHOLD),
        "--out",
        tmp_path / "m.json",
        "--html",
        tmp_path / "r.html",
    ]
    code, text, err = run_cli(args, capsys)
    assert code == 0, err[-1500:]
    assert "Item segments" in text and "cold_items" in text and "share of top-k" in text
    page = (tmp_path / "r.html").read_text()
    assert "Item segments" in page and "recsys.items.summary.augmented.cold_items.recall" in page
