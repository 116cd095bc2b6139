"""Random event logs for the ingest tests: a clean, typed log (the oracle a test aggregates by hand)
and its text with the dirt a test asks for by name, so what an assertion counts on is visible where
the log is built.

Columns, always in this order: user, item, event, ts, price, and channel when asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

EVENTS = ["view", "cart", "purchase"]
EVENT_SHARES = [0.7, 0.2, 0.1]
CHANNELS = ["web", "app"]


def event_log(
    n: int,
    *,
    seed: int = 0,
    users: int = 40,
    items: int = 25,
    item_prefix: str = "p",
    start: str = "2024-01-01",
    days: int = 9,
    channel: bool = False,
) -> pd.DataFrame:
    """`n` clean events: user (int, 1..users), item (`p<k>`, or int k with `item_prefix=""`, k < items),
    event (view/cart/purchase, 70/20/10 %), ts (UTC, to the second, within `days` of `start`),
    price (float, two decimals, log-normal) and channel (web/app) when asked for."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, items, n)
    ts = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.integers(0, days * 86400, n), unit="s")
    df = pd.DataFrame(
        {
            "user": rng.integers(1, users + 1, n),
            "item": np.array([f"{item_prefix}{i}" for i in k], dtype=object) if item_prefix else k,
            "event": rng.choice(EVENTS, n, p=EVENT_SHARES).astype(object),
            "ts": pd.Series(ts),
            "price": np.round(rng.lognormal(1, 1, n), 2),
        }
    )
    if channel:
        df["channel"] = rng.choice(CHANNELS, n).astype(object)
    return df


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every field as the text a CSV file holds (timestamps ISO 8601 with `Z`)."""
    out = df.astype(str).astype(object)
    out["ts"] = np.asarray(df["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"), dtype=object)
    return out


def _const(value: str) -> Callable[[pd.Series], object]:
    return lambda _s: value


# kind of dirt → (column, the text it becomes); the comment says how the validator judges it
DIRT: dict[str, tuple[str, Callable[[pd.Series], object]]] = {
    "padded_user": ("user", lambda s: " " + s + " "),  # kept (stripped); not certain for SQL
    "empty_user": ("user", _const("")),  # missing_id
    "bad_user": ("user", _const("u?")),  # bad_type
    "unknown_event": ("event", _const("oops")),  # unknown_event_type
    "offset_ts": ("ts", lambda s: s.str.replace("T", " ").str.replace("Z", "+0100")),  # kept
    "bad_date": ("ts", _const("2024-13-45")),  # bad_type
    "negative_price": ("price", _const("-1")),  # out_of_range (min 0)
    "exponent_price": ("price", _const("1e1")),  # kept
    "empty_price": ("price", _const("")),  # kept when nullable
    "empty_channel": ("channel", _const("")),  # kept when nullable
}


def dirty(df: pd.DataFrame, dirt: Mapping[str, float], *, seed: int = 0, duplicates: int = 0) -> pd.DataFrame:
    """`as_text(df)` with dirt: each kind (a key of DIRT) hits each row with its probability,
    independently of the others (a row may carry several); then `duplicates` exact copies of
    distinct random rows are appended."""
    rng = np.random.default_rng(seed)
    out = as_text(df)
    for kind, share in dirt.items():
        column, value = DIRT[kind]
        hit = rng.random(len(out)) < share
        out.loc[hit, column] = value(out.loc[hit, column])
    if duplicates:
        out = pd.concat([out, out.sample(duplicates, random_state=seed)], ignore_index=True)
    return out
