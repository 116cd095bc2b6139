"""Fair comparison: every run (real-only, augmented, controls, synthetic-only) gets the same tuning budget.

Each is tuned on a validation split carved from train (same protocol as the test split) over the
same grid of factors × regularisation (× synthetic weight α, 0 included, for runs with extra rows),
then refitted on the full training split with several seeds and scored once on test (see runs.py).

Synthetic rows for tuning: the test situation is "synthesizer fitted on train, scored on unseen
pairs". Its exact analogue on validation is a synthesizer fitted on the inner training split
(`val_synthetic`, which synthdata.pipeline.experiment.run_experiment provides by default). Without
one, the final
synthetic table is used minus every pair of the full training split: that synthesizer saw the
validation pairs, so keeping them would leak; dropping them is leak-free but pessimistic (the
synthetic pairs left can never hit a validation pair), so the augmented run is then tuned towards
small α. The test comparison itself is leak-free either way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from synthdata.evaluate.metrics import hit_matrix, per_user_metrics
from synthdata.evaluate.recommend import ModelParams


@dataclass(frozen=True)
class Target:
    """Held-out positives to score against: evaluated users (codes), their positive counts, the pairs."""

    users: np.ndarray
    n_pos: np.ndarray
    pair_users: np.ndarray
    pair_items: np.ndarray

    @classmethod
    def from_codes(cls, u: np.ndarray, i: np.ndarray) -> Target:
        """Users with ≥1 held-out positive; pairs whose item is unknown (-1) still count in n_pos."""
        keep_u = u >= 0
        u, i = u[keep_u], i[keep_u]
        key = np.unique(u * (int(i.max(initial=0)) + 2) + (i + 1))  # distinct pairs, -1 items kept
        width = int(i.max(initial=0)) + 2
        pu, pi = key // width, key % width - 1
        users, n_pos = np.unique(pu, return_counts=True)
        known = pi >= 0
        return cls(users=users, n_pos=n_pos, pair_users=pu[known], pair_items=pi[known])

    def sample(self, max_users: int | None, seed: int) -> Target:
        """At most `max_users` users, drawn uniformly without replacement (seeded), with their pairs.

        Users are the sampling unit of every mean and CI, so a uniform user sample estimates the
        same means with honestly wider CIs; every arm is scored on the same sampled users."""
        if max_users is None or self.users.size <= max_users:
            return self
        rng = np.random.default_rng([seed, 0x5A3B1E])
        keep = np.sort(rng.choice(self.users.size, size=max_users, replace=False))
        users = self.users[keep]
        kept = np.zeros(int(self.users.max()) + 1, dtype=bool)  # user code → sampled: one lookup per pair
        kept[users] = True
        pairs = kept[self.pair_users]
        return Target(users, self.n_pos[keep], self.pair_users[pairs], self.pair_items[pairs])

    def score(self, recs: np.ndarray, k: int) -> dict[str, np.ndarray]:
        hits = hit_matrix(recs, self.users, self.pair_users, self.pair_items)
        return per_user_metrics(hits, self.n_pos, k)


@dataclass(frozen=True)
class Candidate:
    params: ModelParams
    alpha: float | None  # None: a run without extra rows

    def as_dict(self) -> dict:
        d = asdict(self.params)
        if self.params.model == "als":
            d.pop("learning_rate")
        else:
            d.pop("als_alpha")
        if self.alpha is not None:
            d["synthetic_alpha"] = self.alpha
        return d
