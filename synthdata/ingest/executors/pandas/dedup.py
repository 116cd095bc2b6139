"""Exact-duplicate merging and the attribute-vote rule, over pandas chunks.

Used by the streaming executor for the main table and by every executor for attribute tables.
Rule (attribute_conflict): per id, the most frequent non-null value wins; a tie goes to the value
seen first (lowest line); rows giving the id another non-null value are rejected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.ingest.sources import LINE


class Deduper:
    """Finds exact duplicate rows across all chunks with bounded memory: 8 bytes per distinct row,
    kept as a few sorted uint64 runs (merged LSM-style). A 64-bit hash collision would merge two
    different rows; at 10M rows the chance is ~3e-6."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def seen_before(self, h: np.ndarray) -> np.ndarray:
        """Mask of rows whose hash occurred earlier (in this chunk or a previous one); records them."""
        dup = pd.Series(h).duplicated(keep="first").to_numpy()
        for run in self.runs:
            idx = np.searchsorted(run, h)
            idx[idx == len(run)] = 0
            dup |= run[idx] == h if len(run) else np.zeros(len(h), bool)
        new = np.sort(h[~dup])  # already distinct: within-chunk repeats are flagged above
        self.runs.append(new)
        while len(self.runs) > 1 and len(self.runs[-1]) * 2 >= len(self.runs[-2]):
            b, a = self.runs.pop(), self.runs.pop()
            self.runs.append(np.sort(np.concatenate([a, b]), kind="mergesort"))
        return dup


class AttributeVotes:
    """Counts values per (id, attribute) across chunks to pick the value each id keeps.

    Rule: the most frequent non-null value wins; a tie goes to the value seen first (lowest line).
    Rows with a different non-null value are `attribute_conflict` rejects."""

    def __init__(self, id_col: str, attrs: list[str]) -> None:
        self.id_col, self.attrs = id_col, attrs
        self.parts: dict[str, list[pd.DataFrame]] = {a: [] for a in attrs}

    def add(self, df: pd.DataFrame) -> None:
        for a in self.attrs:
            sub = df[[self.id_col, a, LINE]].dropna(subset=[a])
            g = sub.groupby([self.id_col, a], sort=False, observed=True)[LINE].agg(["size", "min"])
            self.parts[a].append(g.reset_index())
            if len(self.parts[a]) > 16:
                self.parts[a] = [self._combine(a)]

    def _combine(self, a: str) -> pd.DataFrame:
        allp = pd.concat(self.parts[a], ignore_index=True)
        return (
            allp.groupby([self.id_col, a], sort=False)
            .agg(size=("size", "sum"), min=("min", "min"))
            .reset_index()
        )

    def winners(self) -> dict[str, pd.Series]:
        """attribute -> Series indexed by id holding the kept value."""
        out = {}
        for a in self.attrs:
            if not self.parts[a]:
                out[a] = pd.Series(dtype=object)
                continue
            c = self._combine(a).sort_values(["size", "min"], ascending=[False, True], kind="mergesort")
            w = c.drop_duplicates(self.id_col, keep="first")
            out[a] = pd.Series(w[a].to_numpy(), index=w[self.id_col].to_numpy())
        return out


def conflict_mask(
    df: pd.DataFrame, id_col: str, winners: dict[str, pd.Series]
) -> tuple[np.ndarray, np.ndarray]:
    """(mask of conflicting rows, name of the first conflicting attribute per row)."""
    bad = np.zeros(len(df), bool)
    col = np.full(len(df), None, dtype=object)
    for a, w in winners.items():
        kept = df[id_col].map(w)
        m = (df[a].notna() & kept.notna() & (df[a].astype(object) != kept.astype(object))).to_numpy(bool)
        col[m & ~bad] = a
        bad |= m
    return bad, col
