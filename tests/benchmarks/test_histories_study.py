"""The histories study's floor, popularity virtual users, must pass for a histories-family model: the
user strategies refuse anything else, which once broke the study's third cell without a test noticing."""

from __future__ import annotations

import sys
from pathlib import Path

from support.eval_world import SCHEMA, world

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from histories_study import PopularityUsers

from synthdata.evaluate.augment import generate, is_histories


def test_popularity_virtual_users_go_through_the_user_strategies() -> None:
    train = world(n_users=30)
    floor = PopularityUsers(SCHEMA).fit(train)
    assert is_histories(floor)
    out = generate(floor, train, SCHEMA, "virtual-users", seed=0)
    assert out["user_id"].nunique() == 30 and not set(out["user_id"]) & set(train["user_id"])
    assert set(out["item_id"]) <= set(train["item_id"])
