"""Evaluation settings, validated: one object travels from the CLI/notebook into every stage of `evaluate`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Strategy = Literal[
    "unconditional", "cold-users", "long-tail", "virtual-users", "cold-neighbours", "cold-items"
]
USER_STRATEGIES = ("virtual-users", "cold-neighbours")  # need a histories-family model


class EvalConfig(BaseModel):
    """What to compute and how hard to try. Defaults suit MovieLens-100K on a laptop CPU."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, description="Cut-off for all top-k metrics.")
    model: Literal["als", "bpr"] = "als"
    seeds: int = Field(default=3, ge=1, description="Recommender seeds; per-user metrics are averaged.")
    cold_threshold: int = Field(
        default=10, ge=0, description="Cold users have at most this many training positives."
    )
    # Tuning grid, shared by the real-only and the augmented model (fairness).
    factors_grid: list[int] = Field(default_factory=lambda: [8, 16, 32, 64])
    regularization_grid: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0])
    alpha_grid: list[float] = Field(
        default_factory=lambda: [0.0, 0.03, 0.1, 0.3, 1.0],
        description="Confidence weight of synthetic positives (augmented runs and controls). 0 is always "
        "in the grid: the augmented model may fall back to real-only, and α = 0 chosen means no-evidence.",
    )
    tuning: Literal["shared", "joint"] = Field(
        default="shared",
        description="shared: runs with synthetic rows (augmented and every control alike) reuse the "
        "factors/regularisation tuned for real-only and tune α; joint: each tunes the whole grid.",
    )
    iterations: int = Field(default=15, ge=1, description="ALS sweeps / BPR epochs.")
    als_alpha: float = Field(default=2.0, gt=0, description="implicit ALS confidence scale (both runs).")
    bpr_learning_rate: float = Field(default=0.05, gt=0)
    val_fraction: float = Field(default=0.2, gt=0, lt=1, description="Validation share carved from train.")
    split_protocol: Literal["user-temporal", "global-temporal", "user-random"] | None = Field(
        default=None,
        description="How the validation split is carved from train; unset: the pipeline's test-split "
        "protocol (user-temporal outside a pipeline).",
    )
    tune_metric: Literal["ndcg", "recall", "precision", "map"] = "ndcg"
    strategy: Strategy = Field(
        default="unconditional",
        description="Which synthetic rows augment training: all, only cold users', only long-tail items', "
        "virtual users (histories models), neighbours of cold users (histories models), or cold items "
        "(row models: rows on each cold item; histories models: neighbours of the users who liked one).",
    )
    virtual_users: int | None = Field(
        default=None, ge=1, description="virtual-users: how many (default: as many as the real users)."
    )
    neighbours: int = Field(
        default=5,
        ge=1,
        description="cold-neighbours / cold-items (histories models): virtual neighbours per imitated user.",
    )
    cold_item_threshold: int = Field(
        default=5,
        ge=0,
        description="Cold items have at most this many training positives (the cold_items item segment; "
        "the cold-items strategy targets those with at least one).",
    )
    long_tail_share: float = Field(
        default=0.8, gt=0, le=1, description="Head items account for this share of positives; rest = tail."
    )
    n_bootstrap: int = Field(default=1000, ge=100)
    n_permutations: int = Field(default=2000, ge=100)
    significance: float = Field(
        default=0.05, gt=0, lt=1, description="Family-wise error rate of the verdict (Holm-corrected)."
    )
    synthetic_only: bool = Field(
        default=True, description="Also score a model trained on synthetic rows alone."
    )
    tune_synthesizer: bool = Field(
        default=True,
        description="Pipeline: tune the augmented model with rows from a synthesizer fitted on the inner "
        "training split only (leak-free). false is faster (one synthesizer fit) but NOT leak-free for "
        "tuning.",
    )
    fidelity: bool = True
    privacy: bool = True
    fidelity_max_rows: int = Field(default=20_000, ge=100, description="Row subsample for fidelity metrics.")
    privacy_max_rows: int = Field(default=2_000, ge=50, description="Synthetic/holdout rows for DCR.")
    detection_max_rows: int = Field(default=5_000, ge=100)
    mia_max_rows: int = Field(default=2_000, ge=50, description="Member / non-member rows per MIA attack.")
    max_eval_users: int | None = Field(
        default=None,
        ge=100,
        description="Score at most this many test users, a seeded uniform sample (every arm the same "
        "users; CIs widen honestly). Unset: every test user. For very large data, where each top-k pass "
        "over all users costs minutes.",
    )
    max_shared_pairs: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Largest share of test (user, item) pairs also in train before evaluate refuses the "
        "split (0 is normal with one row per pair; raw logs with repeat interactions share some).",
    )
    workers: int = Field(
        default=0,
        ge=0,
        description="Processes for tuning fits run side by side (same results; evaluate/fitpool.py). "
        "0: one per CPU core when tuning runs on a user sample (large data) and fits run on CPU, else "
        "1; 1: none.",
    )
    seed: int = 0

    @field_validator("factors_grid", "regularization_grid")
    @classmethod
    def _non_empty(cls, v: list) -> list:
        if not v:
            raise ValueError("grid must not be empty")
        if any(x <= 0 for x in v):
            raise ValueError("grid values must be positive")
        return v

    @field_validator("alpha_grid")
    @classmethod
    def _alphas(cls, v: list[float]) -> list[float]:
        """Non-negative, sorted, and always holding 0 (the fall-back to real-only)."""
        if any(x < 0 for x in v):
            raise ValueError("alpha values must be ≥ 0")
        return sorted({0.0, *(float(x) for x in v)})

    @property
    def protocol(self) -> str:
        """The validation split protocol actually used."""
        return self.split_protocol or "user-temporal"
