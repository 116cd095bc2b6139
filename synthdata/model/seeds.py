"""The model stage's one seed policy: a `numpy.random.SeedSequence` from the user's seed, one child
per consumer (and per rank / epoch / stream below it), so no two consumers share a random stream and
adding one never shifts another's numbers."""

from __future__ import annotations

import numpy as np

CONSUMERS = ("transformer", "train", "validation", "generate", "tune")  # append only


def seed_for(seed: int, consumer: str, *sub: int) -> int:
    """A 31-bit integer seed (fits torch, sklearn and Lightning) for `consumer`, child `sub...`."""
    ss = np.random.SeedSequence(seed, spawn_key=(CONSUMERS.index(consumer), *sub))
    return int(ss.generate_state(1, np.uint32)[0] >> 1)
