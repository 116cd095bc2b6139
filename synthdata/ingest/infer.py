"""Infer a Schema from a sample of the input, to be written out as YAML for the user to edit.

Roles come from column names (user/item ids, time, event type, known attribute names) and, for
header-less files, from positions and value shapes. Inferred constraints are deliberately loose:
counts and prices get `min: 0`, ratings their sample range; categorical values are not pinned.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from synthdata.errors import InputError
from synthdata.ingest.sources import LINE, CsvSource, Source
from synthdata.schema import ColumnSpec, DType, PositiveRule, Role, Schema

_USER = {
    "user_id",
    "userid",
    "user",
    "uid",
    "customer_id",
    "customerid",
    "customer",
    "visitor_id",
    "visitorid",
    "visitor",
    "member_id",
    "account_id",
    "client_id",
}
_ITEM = {
    "item_id",
    "itemid",
    "item",
    "product_id",
    "productid",
    "product",
    "movie_id",
    "movieid",
    "movie",
    "sku",
    "article_id",
    "iid",
    "song_id",
    "track_id",
    "book_id",
    "isbn",
}
_TIME = re.compile(r"(^|_)(ts|time|timestamp|date|datetime|event_time|created_at|when)($|_)")
_EVENT = {
    "event",
    "event_type",
    "eventtype",
    "type",
    "action",
    "behavior",
    "behaviour",
    "event_name",
    "interaction_type",
}
_USER_ATTR = {
    "age",
    "age_band",
    "age_group",
    "gender",
    "sex",
    "occupation",
    "zip",
    "zip_code",
    "zipcode",
    "country",
    "city",
    "region",
    "signup_date",
    "segment",
    "user_country",
}
_ITEM_ATTR = {
    "category",
    "category_id",
    "genre",
    "genres",
    "brand",
    "title",
    "price",
    "item_price",
    "release_date",
    "artist",
    "author",
    "year",
    "department",
}
_EVENT_VALUE = {"price", "value", "amount", "revenue", "item_price", "quantity", "qty"}
_MAX_EVENT_TYPES = 20
_CATEGORY_MAX = 50
_NUMERIC_SHARE = 0.99  # share of parseable cells above which a text column is numeric
_NUMERIC_MIN_SAMPLE = 20


def clean_name(name: str | int) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower()
    return s or f"col{name}"


def _guess_dtype(s: pd.Series, raw_text: bool) -> tuple[DType, str | None]:
    v = s.dropna()
    if not raw_text:
        if pd.api.types.is_bool_dtype(v):
            return DType.BOOL, None
        if pd.api.types.is_integer_dtype(v):
            return DType.INT, None
        if pd.api.types.is_float_dtype(v):
            return (DType.INT, None) if len(v) and (v % 1 == 0).all() else (DType.FLOAT, None)
        if pd.api.types.is_datetime64_any_dtype(v):
            return DType.DATETIME, None
        v = v.astype(str)
    v = v.astype(str).str.strip()
    v = v[v != ""]
    if v.empty:
        return DType.STRING, None
    num = pd.to_numeric(v, errors="coerce")
    ok = num.notna()
    # A few unparseable cells in a numeric column are dirt to reject as bad_type, not a reason to
    # model the column as a category (one "x" among 2,000 ratings must not make "x" a rating).
    if ok.all() or (len(v) >= _NUMERIC_MIN_SAMPLE and ok.mean() >= _NUMERIC_SHARE):
        num, parsed = num[ok], v[ok]
        return (
            (DType.INT, None)
            if (num % 1 == 0).all() and not parsed.str.contains(r"[.eE]").any()
            else (DType.FLOAT, None)
        )
    low = v.str.lower()
    if low.isin({"true", "false", "yes", "no", "t", "f"}).all():
        return DType.BOOL, None
    if (
        v.str.match(r"^\d{4}-\d{2}-\d{2}").all()
        and pd.to_datetime(v, errors="coerce", utc=True, format="ISO8601").notna().all()
    ):
        return DType.DATETIME, None
    return DType.STRING, None


def _is_epoch(s: pd.Series) -> str | None:
    """Unit of an integer epoch column (1990..2100), else None."""
    v = pd.to_numeric(s.dropna(), errors="coerce").dropna()
    if v.empty:
        return None
    lo, hi = v.min(), v.max()
    for unit, scale in (("s", 1), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)):
        if 631152000 * scale <= lo and hi <= 4102444800 * scale:
            return unit
    return None


def infer_schema(sample: pd.DataFrame, source: Source, *, origin: str) -> Schema:
    """Guess a schema from `sample` (input column names, values as read)."""
    sample = sample.drop(columns=[LINE], errors="ignore")
    if sample.empty:
        raise InputError("empty input: no data rows", path=origin, row=2)
    names = list(sample.columns)
    keys = {c: clean_name(c) for c in names}
    header = not all(isinstance(c, int) for c in names)
    user, item = _id_columns(names, keys, header, origin)
    roles: dict[Any, Role] = {user: Role.USER_ID, item: Role.ITEM_ID}
    has_event = _has_event_column(sample, keys, header, source.raw_text, roles)
    specs: list[ColumnSpec] = []
    event_types: list[str] | None = None
    for c in names:
        spec, kinds = _column_spec(sample[c], c, keys[c], header, source.raw_text, has_event, roles, origin)
        roles[c] = spec.role
        event_types = kinds if kinds is not None else event_types
        specs.append(spec)
    specs = _dedupe_names(specs)
    layout = "events" if event_types is not None else "interactions"
    csv_opts: dict[str, Any] = {}
    if isinstance(source, CsvSource):
        csv_opts = {"sep": source.sep, "header": source.header}
    return Schema(
        layout=layout, columns=specs, event_types=event_types, positive=_positive_rule(specs), csv=csv_opts
    )


def _id_columns(names: list[Any], keys: dict[Any, str], header: bool, origin: str) -> tuple[Any, Any]:
    """(user id column, item id column): by name, then loosely (`*user*`, `*item|product*`); in a
    header-less file the first two columns."""
    if not header:
        if len(names) < 2:
            raise InputError(
                "cannot infer roles: need at least 2 columns (user, item); give --schema", path=origin
            )
        return names[0], names[1]
    user = next((c for c in names if keys[c] in _USER), None)
    item = next((c for c in names if keys[c] in _ITEM), None)
    if user is None or item is None:
        for c in names:  # looser: any *user*id / *item|product*id
            k = keys[c]
            if user is None and "user" in k and c != item:
                user = c
            elif item is None and re.search(r"item|product|movie|sku", k) and c != user:
                item = c
    if user is None or item is None:
        missing = "user id" if user is None else "item id"
        raise InputError(
            f"cannot infer which column is the {missing}; give --schema (columns: {names})",
            path=origin,
            row=1,
        )
    return user, item


def _has_event_column(
    sample: pd.DataFrame, keys: dict[Any, str], header: bool, raw_text: bool, roles: dict[Any, Role]
) -> bool:
    """Whether the table is an event log: a column named like an event type, or (header-less) a
    text column with few distinct values."""
    others = [c for c in sample.columns if c not in roles]
    if header:
        return any(keys[c] in _EVENT for c in others)
    return any(
        _guess_dtype(sample[c], raw_text)[0] == DType.STRING and 0 < sample[c].nunique() <= _MAX_EVENT_TYPES
        for c in others
    )


def _column_spec(
    s: pd.Series,
    c: Any,
    k: str,
    header: bool,
    raw_text: bool,
    has_event: bool,
    roles: dict[Any, Role],
    origin: str,
) -> tuple[ColumnSpec, list[str] | None]:
    """(the spec of input column `c` with cleaned name `k`, the event types when it is the event
    column). `roles` holds the columns decided so far (ids, and columns to the left)."""
    dtype, _ = _guess_dtype(s, raw_text)
    nullable = bool(s.isna().any() or (s.astype(str).str.strip() == "").any())
    role, dtype, unit = _role(s, c, k, dtype, header, has_event, roles)
    if role in (Role.USER_ID, Role.ITEM_ID):
        nullable = False
    event_types = None
    if role == Role.EVENT_TYPE:
        vals = s.dropna().astype(str).str.strip()
        event_types = list(dict.fromkeys(vals[vals != ""]))
        if len(event_types) > _MAX_EVENT_TYPES:
            raise InputError(
                f"column {c!r} looks like an event type but has {len(event_types)} values",
                path=origin,
                column=str(c),
            )
    lo = hi = None
    if dtype in (DType.INT, DType.FLOAT) and role != Role.USER_ID and role != Role.ITEM_ID:
        num = pd.to_numeric(s, errors="coerce").dropna()
        if len(num) and num.min() >= 0:
            lo = 0.0
        if "rating" in k and len(num):
            lo, hi = float(num.min()), float(num.max())
    name = "user_id" if role == Role.USER_ID else "item_id" if role == Role.ITEM_ID else k
    if not header:
        name = {Role.TIMESTAMP: "timestamp", Role.EVENT_TYPE: "event_type"}.get(role, name)
        if role == Role.SIGNAL and name == k:
            name = "rating" if _looks_like_rating(s) else f"value_{c}"
    spec = ColumnSpec(
        name=name,
        role=role,
        dtype=dtype,
        source=c,
        min=lo,
        max=hi,
        nullable=nullable,
        datetime_unit=unit,
    )
    return spec, event_types


def _role(
    s: pd.Series, c: Any, k: str, dtype: DType, header: bool, has_event: bool, roles: dict[Any, Role]
) -> tuple[Role, DType, str | None]:
    """(role, dtype, epoch unit) of a column: by name where there is a header, else by its values."""
    unit = None
    if c in roles:  # the ids
        return roles[c], dtype if dtype in (DType.INT, DType.STRING) else DType.STRING, None
    if (header and k in _EVENT) or (
        not header
        and dtype == DType.STRING
        and 0 < s.nunique() <= _MAX_EVENT_TYPES
        and Role.EVENT_TYPE not in roles.values()
    ):
        return Role.EVENT_TYPE, DType.STRING, None
    if (header and _TIME.search(k) and k not in _USER_ATTR | _ITEM_ATTR) or (
        not header
        and dtype == DType.INT
        and _is_epoch(s) is not None
        and Role.TIMESTAMP not in roles.values()
    ):
        if dtype in (DType.INT, DType.FLOAT):
            unit = _is_epoch(s) or "s"
        return Role.TIMESTAMP, DType.DATETIME, unit
    if has_event and k in _EVENT_VALUE and dtype in (DType.INT, DType.FLOAT):
        role = Role.SIGNAL  # in an event log a price is the event's value, not an item attribute
    elif header and k in _USER_ATTR:
        role = Role.USER_ATTRIBUTE
    elif header and k in _ITEM_ATTR:
        role = Role.ITEM_ATTRIBUTE
    elif dtype in (DType.INT, DType.FLOAT):
        role = Role.SIGNAL
    elif dtype == DType.STRING and s.nunique() <= _CATEGORY_MAX:
        role, dtype = Role.CATEGORICAL, DType.CATEGORY
    else:
        role = Role.IGNORE
    if (
        role in (Role.USER_ATTRIBUTE, Role.ITEM_ATTRIBUTE)
        and dtype == DType.STRING
        and s.nunique() <= _CATEGORY_MAX
    ):
        dtype = DType.CATEGORY
    return role, dtype, unit


def _positive_rule(specs: list[ColumnSpec]) -> PositiveRule:
    """A rating column of 0..5 (or 0..10) scale: positive from 4 (or 80% of its maximum)."""
    positive = PositiveRule()
    for sp in specs:
        if sp.role == Role.SIGNAL and "rating" in sp.name and sp.max is not None and sp.max >= 4:
            positive = PositiveRule(column=sp.name, min=4.0 if sp.max <= 5 else float(sp.max * 0.8))
    return positive


def _looks_like_rating(s: pd.Series) -> bool:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return len(v) > 0 and v.min() >= 0 and v.max() <= 10 and v.nunique() <= 11


def _dedupe_names(specs: list[ColumnSpec]) -> list[ColumnSpec]:
    seen: dict[str, int] = {}
    out = []
    for sp in specs:
        n = seen.get(sp.name, 0)
        seen[sp.name] = n + 1
        out.append(sp if n == 0 else sp.model_copy(update={"name": f"{sp.name}_{n}"}))
    return out


def infer_attribute_specs(
    sample: pd.DataFrame, id_col: Any, role: Role, raw_text: bool, taken: set[str]
) -> list[ColumnSpec]:
    """Attribute columns of a side table (everything but its id column)."""
    specs = []
    for c in sample.columns:
        if c in (id_col, LINE):
            continue
        s = sample[c]
        dtype, _ = _guess_dtype(s, raw_text)
        if dtype == DType.STRING and s.nunique() <= _CATEGORY_MAX:
            dtype = DType.CATEGORY
        lo = None
        if dtype in (DType.INT, DType.FLOAT):
            num = pd.to_numeric(s, errors="coerce").dropna()
            lo = 0.0 if len(num) and num.min() >= 0 else None
        name = clean_name(c)
        if name in taken:
            name = f"{'user' if role == Role.USER_ATTRIBUTE else 'item'}_{name}"
        specs.append(ColumnSpec(name=name, role=role, dtype=dtype, source=c, min=lo, nullable=True))
    return specs
