"""Input checks for `evaluate`: required columns, id dtypes, and synthetic ids the training data lacks.

A synthetic row whose *item* never appears in the training data cannot help the recommender (no real
interaction links it to anything) and would silently become a new item; such rows are counted and
dropped with a warning. A synthetic *user* the training data lacks is a virtual user (a histories
model's output): its rows become extra rows of the interaction matrix, and are counted. Ids of another
kind than the training ids (text vs numbers) mean the file belongs to another dataset or was written
wrongly: an input error naming the column.
"""

from __future__ import annotations

import pandas as pd

from synthdata.datetimes import is_datetime
from synthdata.errors import InputError
from synthdata.log import get_logger, kv
from synthdata.schema import Schema

log = get_logger("evaluate.inputs")


def check_columns(df: pd.DataFrame, schema: Schema, name: str) -> None:
    for col in (schema.user_col, schema.item_col):
        if col not in df.columns:
            raise InputError(f"{name} table lacks a required column", path=name, column=col)


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "bool"
    if pd.api.types.is_numeric_dtype(s):
        return "number"
    if is_datetime(s):
        return "datetime"
    return "text"


def check_id_dtypes(df: pd.DataFrame, train: pd.DataFrame, schema: Schema, name: str) -> None:
    """Ids must be of the same kind (number / text) as the training ids."""
    for col in (schema.user_col, schema.item_col):
        a, b = _kind(train[col]), _kind(df[col])
        if len(df) and a != b:
            raise InputError(
                f"{name} ids are {b} ({df[col].dtype}) but the training ids are {a} ({train[col].dtype})",
                path=name,
                column=col,
            )


def drop_unknown_items(
    df: pd.DataFrame, train: pd.DataFrame, schema: Schema, name: str
) -> tuple[pd.DataFrame, int, int]:
    """(rows kept, rows dropped for an item absent from `train`, virtual users among the kept rows)."""
    known = df[schema.item_col].isin(pd.unique(train[schema.item_col]))
    n = int((~known).sum())
    if n:
        log.warning(
            kv(
                stage="inputs",
                table=name,
                dropped_rows=n,
                of=len(df),
                reason="item id absent from the training data",
            )
        )
        df = df.loc[known.to_numpy()]
    virtual = pd.unique(df[schema.user_col][~df[schema.user_col].isin(pd.unique(train[schema.user_col]))])
    return df, n, len(virtual)


def virtual_users(df: pd.DataFrame | None, train: pd.DataFrame, schema: Schema) -> pd.Index:
    """Users of `df` the training data lacks (virtual users), in order of appearance."""
    if df is None or not len(df):
        return pd.Index([])
    users = pd.Index(pd.unique(df[schema.user_col]))
    return users[~users.isin(pd.unique(train[schema.user_col]))]
