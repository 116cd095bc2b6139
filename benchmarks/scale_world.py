"""The evaluate_scale.py world, generated per block of users and written to Parquet block by block.

It has gan_scale.py's columns and schema (users in 20 taste segments, items in 50 categories,
attributes per user and item). Item popularity is a power law (exponent 0.9, globally and inside each
category; 70% of a user's rows come from the categories the user's segment likes), user activity a power
law too (exponent 0.5, capped at a quarter of the catalogue), one row per (user, item) pair. Generated
with a seeded numpy Generator, vectorised, per block of 50,000 users; each block is split on its own
(user-temporal, 20% test: exact for a per-user split) and appended to train/test/synthetic.parquet, so
the world is never in memory whole. The "synthetic" table is a perturbed half of the training rows
(`_perturb`): no model is fitted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

COUNTRIES = np.array(["DE", "FR", "GB", "IT", "NL", "PL", "SE", "US", "BR", "IN"])
T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _perturb(train: pd.DataFrame, cat: np.ndarray, price: np.ndarray, by_cat: list, seed: int):
    """A perturbed half of the training rows (no model): half of them get a new item (by popularity,
    inside the row's category), ratings jitter by ±1, times shift by up to 3 days."""
    rng = np.random.default_rng(seed)
    n = len(train)
    syn = train.iloc[np.sort(rng.choice(n, size=n // 2, replace=False))].reset_index(drop=True)
    m = len(syn)
    move = np.flatnonzero(rng.random(m) < 0.5)
    item = syn["item_id"].to_numpy().astype(np.int64)
    cats = cat[item[move]]
    for c in np.unique(cats):
        rows = move[cats == c]
        pool = by_cat[c]
        item[rows] = pool[_power_law(rng, len(pool), len(rows), 0.9)]
    syn["item_id"] = item.astype(syn["item_id"].dtype)
    syn["category"] = cat[item].astype(syn["category"].dtype)
    syn["price"] = price[item]
    r = syn["rating"].to_numpy().astype(np.int64) + rng.integers(-1, 2, m)
    syn["rating"] = np.clip(r, 1, 5).astype(syn["rating"].dtype)
    syn["ts"] = syn["ts"] + pd.to_timedelta(rng.integers(-3 * 86400, 3 * 86400, m), "s")
    return syn


def _power_law(rng: np.random.Generator, n: int, size: int, a: float) -> np.ndarray:
    """Ranks 0..n-1 with P(rank r) ∝ (r+1)^-a (continuous bounded power law, inverse CDF)."""
    u = rng.random(size)
    x = (1 + u * (n ** (1 - a) - 1)) ** (1 / (1 - a))
    return np.minimum(x.astype(np.int64) - 1, n - 1)


def _draw_items(rng, u, seg, by_cat, item_rank, n_items):
    """70% of rows: an item of a category the user's segment likes, by popularity inside the category;
    30%: an item by global popularity. Popularity is a power law in both."""
    n = len(u)
    liked = (seg[u] * 5 + rng.integers(0, 5, n)) % 50
    i = item_rank[_power_law(rng, n_items, n, 0.9)]
    local = rng.random(n) < 0.7
    for c in range(50):  # vectorised per category (50 loops, not per row)
        rows = np.flatnonzero(local & (liked == c))
        pool = by_cat[c]
        i[rows] = pool[_power_law(rng, len(pool), len(rows), 0.9)]
    return i


def _catalogue(rng: np.random.Generator, n_users: int, n_items: int) -> dict:
    """Per-user segment and country, per-item category and price, items by popularity per category."""
    seg = rng.integers(0, 20, n_users)
    country = rng.integers(0, len(COUNTRIES), n_users)
    cat = rng.integers(0, 50, n_items)
    price = np.round(rng.lognormal(3, 0.8, n_items), 2).astype(np.float32)
    # popularity inside a category follows the item's global popularity rank
    item_rank = rng.permutation(n_items)
    rank_of = np.empty(n_items, dtype=np.int64)
    rank_of[item_rank] = np.arange(n_items)
    by_cat = [np.flatnonzero(cat == c) for c in range(50)]
    by_cat = [p[np.argsort(rank_of[p])] for p in by_cat]
    return dict(seg=seg, country=country, cat=cat, price=price, item_rank=item_rank, by_cat=by_cat)


def _activity(rng: np.random.Generator, n_users: int, n_items: int, n_rows: int) -> np.ndarray:
    """Rows per user: at least one each, the rest by a power law, capped at a quarter of the items."""
    counts = np.ones(n_users, dtype=np.int64)
    left = n_rows - n_users
    perm = rng.permutation(n_users)
    while left > 0:  # drawn in chunks
        m = min(left, 10_000_000)
        counts += np.bincount(perm[_power_law(rng, n_users, m, 0.5)], minlength=n_users)
        left -= m
    return np.minimum(counts, n_items // 4)  # leaves room for distinct items


def _block_pairs(rng: np.random.Generator, users: np.ndarray, counts: np.ndarray, w: dict, n_items: int):
    """The block's distinct (user, item) pairs: repeats are redrawn a few rounds, then dropped."""
    u = np.repeat(users, counts[users])
    i = _draw_items(rng, u, w["seg"], w["by_cat"], w["item_rank"], n_items)
    for _ in range(6):
        key = u * n_items + i
        _, first = np.unique(key, return_index=True)
        dup = np.ones(len(u), dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        i[dup] = _draw_items(rng, u[dup], w["seg"], w["by_cat"], w["item_rank"], n_items)
    keep = np.zeros(len(u), dtype=bool)
    keep[np.unique(u * n_items + i, return_index=True)[1]] = True
    return u[keep], i[keep]


def _block_frame(rng: np.random.Generator, u: np.ndarray, i: np.ndarray, w: dict) -> pd.DataFrame:
    n, seg = len(u), w["seg"]
    return pd.DataFrame(
        {
            "user_id": u.astype(np.int32),
            "item_id": i.astype(np.int32),
            "rating": np.clip(rng.normal(3.6, 1.0, n).round(), 1, 5).astype(np.int8),
            "views": rng.poisson(2 + 3 * (seg[u] % 3), n).astype(np.int16),
            "ts": T0 + pd.to_timedelta(rng.integers(0, 180 * 86400, n), "s"),
            "segment": seg[u].astype(np.int8),
            "country": pd.Categorical.from_codes(w["country"][u], categories=COUNTRIES),
            "category": w["cat"][i].astype(np.int8),
            "price": w["price"][i],
        }
    )


def _block_world(n_users: int, n_items: int, n_rows: int, out: Path, block_users: int = 50_000) -> None:
    """The world, generated per block of users and written block by block (module doc)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from gan_scale import make_table

    from synthdata.split import split

    schema = make_table(200, 1_000, 2_000)[1]  # gan_scale's schema; the tiny table is discarded
    schema.to_yaml(out / "schema.yaml")
    rng = np.random.default_rng(0)
    w = _catalogue(rng, n_users, n_items)
    counts = _activity(rng, n_users, n_items, n_rows)
    writers: dict[str, pq.ParquetWriter] = {}
    done = 0
    for start in range(0, n_users, block_users):
        users = np.arange(start, min(start + block_users, n_users))
        u, i = _block_pairs(rng, users, counts, w, n_items)
        done += len(u)
        df = _block_frame(rng, u, i, w)
        train, test = split(df, schema, "user-temporal", 0.2, seed=start)
        syn = _perturb(train, w["cat"], w["price"], w["by_cat"], seed=start + 1)
        for name, t in (("train", train), ("test", test), ("synthetic", syn)):
            table = pa.Table.from_pandas(t.reset_index(drop=True), preserve_index=False)
            if name not in writers:
                writers[name] = pq.ParquetWriter(out / f"{name}.parquet", table.schema)
            writers[name].write_table(table)
        print(f"  users {users[-1] + 1:,}/{n_users:,}, rows {done:,}", flush=True)
    for wr in writers.values():
        wr.close()


def build_world(n_rows: int, n_users: int, n_items: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    _block_world(n_users, n_items, n_rows, out)
    (out / "done").write_text(json.dumps({"seconds": round(time.perf_counter() - t0, 1)}))
