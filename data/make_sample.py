"""Generate the bundled SIMULATED e-commerce behaviour log in data/sample/ (not real users).

    python data/make_sample.py --out data/sample --seed 7

Model (all draws from one numpy `default_rng(seed)`, so the files are byte-identical per seed):
- items: `--items` products in 8 categories; price lognormal around a category median; popularity
  follows a power law (Zipf exponent 1.1 over a random ranking of the items);
- items also belong to one of 5 niches inside their category (40 tastes in all), so there is
  personal taste for a collaborative-filtering recommender to learn beyond popularity;
- users: `--users` users with heavy-tailed activity (Pareto, shape 1.3), a favourite category and a
  favourite niche inside it; attributes age_band and country;
- time is per user: each user joins on a day spread over the `--weeks` weeks from 2024-03-01 00:00 UTC
  (a fixed date, never "now") and stays active for an exponential lifetime (mean 3 weeks, cut at the
  end); their views come in sessions (1 + Poisson(views / 6) sessions on days of their active span,
  starting on an evening-peaked daily cycle, views 30 s–5 min apart inside a session). Users who join
  late have little history: a realistic share of cold users, and a temporal split differs from a
  random one;
- views: 25 % of a user's views follow global popularity, 35 % popularity within the favourite
  category, 40 % popularity within the current taste niche. Taste drifts: 70 % of users move from
  their first niche to a second one (70 % of them in another category, whose category views then
  follow too) with probability rising linearly from 0 to 1 over their active span, so their latest
  interactions (the temporal test split) are less predictable from their history;
- funnel: a view leads to a cart with p=0.12 (minutes later), a cart to a purchase with p=0.35;
  carts and purchases carry the item price in `value`.

A handful of deliberately dirty rows (from the same seed) shows the cleaning at work:
events.csv: 3 rows without user_id, 2 unparseable timestamps, 2 timestamps in 1970, 2 negative
values, 2 unknown event types (`wishlist`), 3 exact duplicate rows (double-logged events);
users.csv: one user listed again with another country (attribute conflict), one exact duplicate
row; items.csv: one item with a negative price.
Outputs: events.csv, users.csv, items.csv and schema.yaml (the input schema the demo uses).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-03-01T00:00:00Z")
CATEGORIES = ["electronics", "books", "fashion", "home", "sports", "beauty", "toys", "grocery"]
CAT_PRICE = [120.0, 14.0, 35.0, 45.0, 40.0, 18.0, 22.0, 6.0]
AGE_BANDS = ["18-24", "25-34", "35-44", "45-54", "55+"]
COUNTRIES = ["DE", "FR", "GB", "US", "PL", "ES", "IT", "NL"]
EVENT_TYPES = ["view", "cart", "purchase"]
NICHES = 5  # taste niches per category

SCHEMA_YAML = """\
# Input schema of the simulated sample (see data/make_sample.py). Used by `synthdata demo`.
version: 1
layout: events
event_types: [view, cart, purchase]
csv: {sep: ",", header: true}
columns:
- {name: user_id, role: user_id, dtype: int}
- {name: item_id, role: item_id, dtype: int}
- {name: event_type, role: event_type, dtype: string}
- {name: timestamp, role: timestamp, dtype: datetime}
- {name: value, role: signal, dtype: float, min: 0, nullable: true}
- {name: age_band, role: user_attribute, dtype: category, allowed: [18-24, 25-34, 35-44, 45-54, 55+]}
- {name: country, role: user_attribute, dtype: category}
- {name: category, role: item_attribute, dtype: category}
- {name: price, role: item_attribute, dtype: float, min: 0}
"""


def simulate(n_users: int, n_items: int, weeks: int, views_per_user: float, seed: int):
    rng = np.random.default_rng(seed)
    # items
    cat = rng.integers(0, len(CATEGORIES), n_items)
    niche = cat * NICHES + rng.integers(0, NICHES, n_items)
    price = np.round(np.asarray(CAT_PRICE)[cat] * rng.lognormal(0.0, 0.5, n_items), 2)
    rank = rng.permutation(n_items) + 1
    pop = rank.astype(float) ** -1.1
    pop /= pop.sum()
    items = pd.DataFrame(
        {"item_id": np.arange(1, n_items + 1), "category": np.asarray(CATEGORIES)[cat], "price": price}
    )
    # users
    activity = rng.pareto(1.3, n_users) + 1.0
    n_views = np.maximum(1, np.round(activity / activity.mean() * views_per_user)).astype(int)
    n_views = np.minimum(n_views, 40 * int(views_per_user))
    fav = rng.integers(0, len(CATEGORIES), n_users)
    fav_niche = fav * NICHES + rng.integers(0, NICHES, n_users)
    users = pd.DataFrame(
        {
            "user_id": np.arange(1, n_users + 1),
            "age_band": np.asarray(AGE_BANDS)[
                rng.choice(len(AGE_BANDS), n_users, p=[0.15, 0.32, 0.25, 0.16, 0.12])
            ],
            "country": np.asarray(COUNTRIES)[
                rng.choice(len(COUNTRIES), n_users, p=[0.2, 0.15, 0.15, 0.2, 0.1, 0.08, 0.07, 0.05])
            ],
        }
    )
    # time: join day, lifetime, sessions (all per user)
    span_s = weeks * 7 * 86400
    join = rng.uniform(0.0, weeks * 7 * 0.95, n_users) * 86400
    life = np.minimum(rng.exponential(21.0, n_users) * 86400 + 3600, span_s - join)
    u = np.repeat(np.arange(n_users), n_views)
    n = len(u)
    n_sessions = 1 + rng.poisson(n_views / 6.0)
    first_session = np.concatenate(([0], np.cumsum(n_sessions)[:-1]))
    session = first_session[u] + (rng.random(n) * n_sessions[u]).astype(int)  # session of each view
    s_user = np.repeat(np.arange(n_users), n_sessions)
    s_day = np.floor(rng.random(s_user.size) * life[s_user] / 86400)
    s_hour = np.mod(rng.normal(19.0, 4.0, s_user.size), 24.0)  # evening peak, wrapping past midnight
    s_start = join[s_user] + s_day * 86400 + s_hour * 3600
    order = np.lexsort((rng.random(n), session))  # views grouped by session, random order within
    gaps = rng.integers(30, 300, n)
    t = np.empty(n)
    sorted_sess = session[order]
    starts = np.r_[True, sorted_sess[1:] != sorted_sess[:-1]]
    csum = np.cumsum(gaps)
    base = np.maximum.accumulate(np.where(starts, csum - gaps, 0))
    t[order] = s_start[sorted_sess] + (csum - base)  # seconds since the session started
    late = t >= span_s  # sessions running past the end wrap back into the user's window
    t = np.where(late, join[u] + np.mod(t - join[u], np.maximum(span_s - join[u], 1.0)), t).astype(np.int64)
    progress = np.clip((t - join[u]) / np.maximum(life[u], 1.0), 0.0, 1.0)  # position in the user's span
    # taste, with drift
    drifts = rng.random(n_users) < 0.7
    other_cat = rng.random(n_users) < 0.7
    new_cat = np.where(other_cat, rng.integers(0, len(CATEGORIES), n_users), fav)
    new_niche = new_cat * NICHES + rng.integers(0, NICHES, n_users)
    moved = drifts[u] & (rng.random(n) < progress)
    cur_cat = np.where(moved, new_cat[u], fav[u])
    cur_niche = np.where(moved, new_niche[u], fav_niche[u])
    item = rng.choice(n_items, n, p=pop)
    draw = rng.random(n)
    # 35 % popularity inside the current category, 40 % inside the current niche
    for group, of_view, chosen in (
        (cat, cur_cat, (draw >= 0.25) & (draw < 0.6)),
        (niche, cur_niche, draw >= 0.6),
    ):
        for g in np.unique(of_view[chosen]):
            m = chosen & (of_view == g)
            members = np.flatnonzero(group == g)
            if m.any() and len(members):
                p = pop[members] / pop[members].sum()
                item[m] = members[rng.choice(len(members), int(m.sum()), p=p)]
    # funnel
    cart = rng.random(n) < 0.12
    buy = cart & (rng.random(n) < 0.35)
    t_cart = t + rng.integers(30, 1800, n)
    t_buy = t_cart + rng.integers(60, 3600, n)
    ev = pd.concat(
        [
            pd.DataFrame({"u": u, "i": item, "e": 0, "t": t}),
            pd.DataFrame({"u": u[cart], "i": item[cart], "e": 1, "t": t_cart[cart]}),
            pd.DataFrame({"u": u[buy], "i": item[buy], "e": 2, "t": t_buy[buy]}),
        ],
        ignore_index=True,
    )
    ev = ev.drop_duplicates(["u", "i", "e", "t"])  # a chance double event: only the dirty rows duplicate
    ev = ev.sort_values(["t", "u", "i", "e"], kind="mergesort").reset_index(drop=True)
    ts = (START + pd.to_timedelta(ev["t"], unit="s")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    value = np.where(ev["e"] > 0, price[ev["i"]], np.nan)
    events = pd.DataFrame(
        {
            "user_id": (ev["u"] + 1).astype(str),
            "item_id": (ev["i"] + 1).astype(str),
            "event_type": np.asarray(EVENT_TYPES)[ev["e"]],
            "timestamp": ts.to_numpy(),
            "value": pd.Series(value).map(lambda v: "" if np.isnan(v) else f"{v:.2f}"),
        }
    )
    return rng, events, users, items


def make_dirty(rng: np.random.Generator, events: pd.DataFrame, users: pd.DataFrame, items: pd.DataFrame):
    """Insert the documented dirty rows at seeded positions."""
    ev = events.copy()
    pick = rng.choice(len(ev), 11, replace=False)
    ev.loc[pick[0:3], "user_id"] = ""
    ev.loc[pick[3:5], "timestamp"] = "not-a-date"
    ev.loc[pick[5:7], "timestamp"] = "1970-01-01T00:00:00Z"
    ev.loc[pick[7:9], "value"] = "-9.99"
    ev.loc[pick[9:11], "event_type"] = "wishlist"
    dup_at = np.sort(rng.choice(len(ev) - 1, 3, replace=False))
    parts, last = [], 0
    for k in dup_at:  # each duplicate is written right after its original
        parts += [ev.iloc[last : k + 1], ev.iloc[[k]]]
        last = k + 1
    parts.append(ev.iloc[last:])
    ev = pd.concat(parts, ignore_index=True)
    us = users.copy()
    j = int(rng.integers(0, len(us)))
    clash = us.iloc[[j]].copy()
    clash["country"] = COUNTRIES[(COUNTRIES.index(clash["country"].iloc[0]) + 1) % len(COUNTRIES)]
    k = int(rng.integers(0, len(us)))
    us = pd.concat([us, clash, us.iloc[[k]]], ignore_index=True)
    it = items.copy().astype({"price": object})
    it.loc[int(rng.integers(0, len(it))), "price"] = -1.0
    return ev, us, it


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "sample")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--items", type=int, default=1000)
    ap.add_argument("--weeks", type=int, default=6)
    ap.add_argument("--views-per-user", type=float, default=34.0)
    ap.add_argument("--clean", action="store_true", help="omit the dirty rows")
    a = ap.parse_args(argv)
    rng, events, users, items = simulate(a.users, a.items, a.weeks, a.views_per_user, a.seed)
    if not a.clean:
        events, users, items = make_dirty(rng, events, users, items)
    a.out.mkdir(parents=True, exist_ok=True)
    events.to_csv(a.out / "events.csv", index=False, lineterminator="\n")
    users.to_csv(a.out / "users.csv", index=False, lineterminator="\n")
    items.to_csv(a.out / "items.csv", index=False, lineterminator="\n", float_format="%.2f")
    (a.out / "schema.yaml").write_text(SCHEMA_YAML, encoding="utf-8")
    size = sum((a.out / f).stat().st_size for f in ("events.csv", "users.csv", "items.csv"))
    print(
        f"wrote {len(events)} events, {len(users)} user rows, {len(items)} item rows "
        f"({size / 1e6:.2f} MB) to {a.out}"
    )


if __name__ == "__main__":
    main()
