"""Seeded blocks and shards: how one sampling job splits into independent tasks.

Every sample is drawn in blocks of a fixed size (rows for row models, users for histories models; the
size depends on the model file only, never on `--batch-rows` or on the shard). Block `b` is drawn from
its own generators, seeded with the SeedSequence child (seed, "generate", 1, b), so a block's rows do
not depend on which other blocks are drawn, or where. Shard `I/N` draws the contiguous range of blocks
`[I·B//N, (I+1)·B//N)` of the `B` blocks an unsharded run draws: shards 0..N-1 concatenated in order
are exactly the rows of the unsharded run with the same seed, and a shard with no block is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from synthdata.errors import ConfigError
from synthdata.model.seeds import seed_for

_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (0-based, like SLURM array ids, Kubernetes completion indexes and
    Spark partition ids)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.index, int) and isinstance(self.count, int)) or not (
            self.count >= 1 and 0 <= self.index < self.count
        ):
            raise ConfigError(f"shard {self.index}/{self.count}: expected I/N with N >= 1 and 0 <= I < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`I/N`, e.g. `3/16`; anything else is a ConfigError naming the value."""
        m = _FORM.fullmatch(text)
        if m is None or int(m[2]) < 1 or int(m[1]) >= int(m[2]):
            raise ConfigError(f"--shard {text!r}: expected I/N with N >= 1 and 0 <= I < N, e.g. 3/16")
        return cls(int(m[1]), int(m[2]))

    @classmethod
    def of(cls, value: Shard | str | tuple[int, int] | None) -> Shard:
        """The API's forms: a Shard, "I/N", (I, N) or None (the whole job)."""
        if value is None:
            return cls()
        if isinstance(value, Shard):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        index, count = value
        return cls(int(index), int(count))

    @property
    def whole(self) -> bool:
        return self.count == 1

    @property
    def label(self) -> str:
        """`00003-of-00016`: sorts in shard order (what `{shard}` in an output path becomes)."""
        return f"{self.index:05d}-of-{self.count:05d}"

    def blocks(self, total: int, block: int) -> range:
        """The indexes of this shard's blocks among the ceil(total / block) blocks of the whole job."""
        n_blocks = -(-total // block) if total > 0 else 0
        return range(self.index * n_blocks // self.count, (self.index + 1) * n_blocks // self.count)


WHOLE = Shard()  # the whole job


def block_seed(seed: int, block: int) -> int:
    """The seed of block `block`'s generators (torch and numpy)."""
    return seed_for(seed, "generate", 1, block)


def rebatch(frames: Iterator[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The same rows in frames of exactly `rows` rows (the last may be shorter): what a writer gets
    as one batch, whatever the block size. Memory: one block plus one batch."""
    held: list[pd.DataFrame] = []
    n = 0
    for df in frames:
        while len(df):
            take = df.iloc[: rows - n]
            held.append(take)
            n += len(take)
            df = df.iloc[len(take) :]
            if n == rows:
                yield pd.concat(held, ignore_index=True) if len(held) > 1 else held[0].reset_index(drop=True)
                held, n = [], 0
    if held:
        yield pd.concat(held, ignore_index=True) if len(held) > 1 else held[0].reset_index(drop=True)
