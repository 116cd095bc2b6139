"""Declarative table schema: which column plays which role, its type and its constraints.

The schema is the contract between every stage: ingestion validates against it, the transformer
encodes by it, the evaluator reads the user/item/time columns and the positive rule from it.
It is written as YAML so users can edit an inferred one.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synthdata.errors import ConfigError


class Role(StrEnum):
    USER_ID = "user_id"
    ITEM_ID = "item_id"
    TIMESTAMP = "timestamp"
    EVENT_TYPE = "event_type"
    SIGNAL = "signal"  # numeric behaviour signal: rating, views, purchases, price paid
    CATEGORICAL = "categorical"  # other per-interaction categorical (device, channel)
    USER_ATTRIBUTE = "user_attribute"  # a function of user_id (age, gender)
    ITEM_ATTRIBUTE = "item_attribute"  # a function of item_id (genre, category, price)
    IGNORE = "ignore"  # read but not modelled (kept in the clean table)


class DType(StrEnum):
    INT = "int"
    FLOAT = "float"
    STRING = "string"  # free text / high-cardinality label; ids are usually this or int
    CATEGORY = "category"  # low-cardinality label
    BOOL = "bool"
    DATETIME = "datetime"  # stored as timezone-aware UTC pandas timestamps in clean tables


class ColumnSpec(BaseModel):
    """One column: name in the clean table, where it comes from, role, type and constraints."""

    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role
    dtype: DType
    source: str | int | None = Field(
        default=None, description="Input column name (or 0-based position for header-less CSV)."
    )
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    nullable: bool = False
    datetime_unit: Literal["s", "ms", "us", "ns"] | None = Field(
        default=None, description="For integer epoch timestamps; None means parse as text."
    )

    @property
    def input_name(self) -> str | int:
        return self.name if self.source is None else self.source


class PositiveRule(BaseModel):
    """Which interactions count as positives for the recommender (real and synthetic alike)."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = Field(default=None, description="None: every interaction is a positive.")
    min: float | None = None  # inclusive, e.g. rating >= 4 or purchases >= 1
    confidence: str | None = Field(default=None, description="Optional column used as confidence weight.")


class InequalityConstraint(BaseModel):
    """Row rule `low <= high` between two columns of the same kind (both datetime or both numeric).

    The transformer enforces it by construction (models `high` and the gap `high - low`), so every
    synthetic row satisfies it; ingestion rejects input rows that break it (`constraint_violation`).
    Only per-interaction modelled columns (roles signal / timestamp) can take part.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["inequality"]
    low: str
    high: str


CONSTRAINT_ROLES = (Role.SIGNAL, Role.TIMESTAMP)
_NUMERIC = (DType.INT, DType.FLOAT)


class Schema(BaseModel):
    """A table schema. `columns` order is the clean table's column order."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    layout: Literal["interactions", "events", "movielens-100k"] = "interactions"
    columns: list[ColumnSpec]
    event_types: list[str] | None = Field(
        default=None, description="events layout: allowed event types; each becomes a count column."
    )
    positive: PositiveRule = Field(default_factory=PositiveRule)
    csv: dict[str, Any] = Field(
        default_factory=dict, description="CSV read options: sep, header (bool), encoding, decimal."
    )
    constraints: list[InequalityConstraint] = Field(
        default_factory=list, description="Row rules every clean and synthetic row satisfies."
    )

    @model_validator(mode="after")
    def _check(self) -> Schema:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {dupes}")
        for role in (Role.USER_ID, Role.ITEM_ID):
            n = sum(c.role == role for c in self.columns)
            if n != 1:
                raise ValueError(f"schema needs exactly one column with role {role.value!r}, found {n}")
        if sum(c.role == Role.EVENT_TYPE for c in self.columns) > 1:
            raise ValueError("at most one column may have role 'event_type'")
        for c in self.columns:
            if c.min is not None and c.max is not None and c.min > c.max:
                raise ValueError(f"column {c.name!r}: min {c.min} > max {c.max}")
        if self.positive.column is not None and self.positive.column not in names:
            raise ValueError(f"positive.column {self.positive.column!r} is not a column")
        self._check_constraints()
        return self

    def _check_constraints(self) -> None:
        """Each message names the offending key (`constraints.<i>.low`), like pydantic's own errors."""
        specs = {c.name: c for c in self.columns}
        lows: dict[str, str] = {}  # low -> high, to find double use and cycles
        for i, k in enumerate(self.constraints):
            for key in ("low", "high"):
                name = getattr(k, key)
                if name not in specs:
                    raise ValueError(f"constraints.{i}.{key}: {name!r} is not a column")
                if specs[name].role not in CONSTRAINT_ROLES:
                    raise ValueError(
                        f"constraints.{i}.{key}: column {name!r} has role {specs[name].role.value!r}; "
                        f"constraints need {' or '.join(repr(r.value) for r in CONSTRAINT_ROLES)}"
                    )
            lo, hi = specs[k.low], specs[k.high]
            if lo.name == hi.name:
                raise ValueError(f"constraints.{i}.high: same column as low ({lo.name!r})")
            both_dt = lo.dtype == hi.dtype == DType.DATETIME
            if not (both_dt or (lo.dtype in _NUMERIC and hi.dtype in _NUMERIC)):
                raise ValueError(
                    f"constraints.{i}.high: {lo.name!r} ({lo.dtype.value}) and {hi.name!r} "
                    f"({hi.dtype.value}) must both be datetime or both numeric (int/float)"
                )
            if k.low in lows:
                raise ValueError(f"constraints.{i}.low: {k.low!r} is already the low side of a constraint")
            lows[k.low] = k.high
        for start in lows:  # follow low -> high links; coming back to `start` is a cycle
            seen, cur = {start}, lows[start]
            while cur in lows:
                if cur in seen:
                    raise ValueError(f"constraints: cycle through {start!r} (low <= high chains must end)")
                seen.add(cur)
                cur = lows[cur]

    # --- lookups -------------------------------------------------------------------------
    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def by_role(self, *roles: Role) -> list[ColumnSpec]:
        return [c for c in self.columns if c.role in roles]

    def _one(self, role: Role) -> str | None:
        cols = self.by_role(role)
        return cols[0].name if cols else None

    @property
    def user_col(self) -> str:
        return self.by_role(Role.USER_ID)[0].name

    @property
    def item_col(self) -> str:
        return self.by_role(Role.ITEM_ID)[0].name

    @property
    def time_col(self) -> str | None:
        return self._one(Role.TIMESTAMP)

    @property
    def event_col(self) -> str | None:
        return self._one(Role.EVENT_TYPE)

    @property
    def user_attributes(self) -> list[str]:
        return [c.name for c in self.by_role(Role.USER_ATTRIBUTE)]

    @property
    def item_attributes(self) -> list[str]:
        return [c.name for c in self.by_role(Role.ITEM_ATTRIBUTE)]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    # --- YAML ----------------------------------------------------------------------------
    def to_yaml(self, path: str | Path | None = None) -> str:
        data = self.model_dump(mode="json", exclude_none=True)
        if not data["constraints"]:
            del data["constraints"]  # keep schemas without constraints as they were
        text = yaml.safe_dump(data, sort_keys=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_yaml(cls, path: str | Path) -> Schema:
        p = Path(path)
        if not p.exists():
            raise ConfigError(f"schema file not found: {p}")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise ConfigError(f"schema file {p} is not valid YAML: {e}") from None
        return cls.from_dict(data, origin=str(p))

    @classmethod
    def from_dict(cls, data: Any, origin: str = "<schema>") -> Schema:
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise ConfigError(f"invalid schema {origin}: {format_validation_error(e)}") from None


def schema_path_for(table: str | Path) -> Path:
    """Where a table's schema lives by convention: `<stem>.schema.yaml` beside it.

    Every stage writes its output's schema there and the next stage reads it, so chained commands
    need no `--schema`."""
    t = Path(table)
    return t.with_name(f"{t.stem}.schema.yaml")


def format_validation_error(e: ValidationError) -> str:
    """One line per problem, each naming the key path, e.g. `columns.2.role: Input should be ...`."""
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
