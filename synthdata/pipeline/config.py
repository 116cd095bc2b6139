"""Pipeline config: one YAML file, validated with pydantic so a typo fails fast with the key named.

Strings may reference environment variables as ``${NAME}`` or ``${NAME:-default}`` (URLs with
passwords belong in the environment, not in the file). Relative file paths under ``source`` are
resolved against the config file's folder, so a config works from any working directory;
``runs_dir`` and SQLite URLs are relative to the working directory, like any CLI output.
``${run_date}`` is not an environment variable: it is the run's date (``--run-date`` or
``run_date:``), replaced in the source fields that select data (see `synthdata.pipeline.rundate`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from synthdata.db import check_driver, looks_like_url, validate_identifier
from synthdata.errors import ConfigError, SynthdataError
from synthdata.evaluate.config import EvalConfig
from synthdata.masking import encode_raw_userinfo, mask_text
from synthdata.pipeline.rundate import VARIABLE as RUN_DATE
from synthdata.pipeline.rundate import apply_run_date
from synthdata.schema import format_validation_error
from synthdata.tracking.config import TrackingConfig

_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _dialect(url: str | None) -> str | None:
    """Backend name of a URL (for per-database identifier limits); None when there is no URL."""
    if url is None:
        return None
    from synthdata.db import parse_url

    return parse_url(url).get_backend_name()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SourceConfig(_Strict):
    """Where the raw interactions come from; passed to `synthdata.ingest.ingest`."""

    path: str | None = Field(
        None, description="CSV/Parquet file or folder (events.csv [+ users.csv, items.csv])."
    )
    url: str | None = Field(None, description="SQLAlchemy URL of a database source (use ${ENV_VAR}).")
    table: str | None = None
    query: str | None = None
    layout: Literal["auto", "movielens-100k", "events", "interactions"] = "auto"
    schema_file: str | None = Field(None, alias="schema", description="Schema YAML; inferred when omitted.")
    user_attributes: str | None = None
    item_attributes: str | None = None
    encoding: str | None = None
    chunk_size: int = Field(200_000, ge=1)
    engine: Literal["duckdb", "pandas"] = Field(
        "duckdb", description="duckdb: files via DuckDB, databases pushed down; pandas: streaming."
    )
    threads: int | None = Field(None, ge=1, description="DuckDB threads (default: all cores).")
    memory_limit: str | None = Field(
        None, pattern=r"^\s*\d+(\.\d+)?\s*([KMGT]i?B|B)\s*$", description="Ingest memory bound, e.g. 4GB."
    )
    on_malformed: Literal["quarantine", "error"] = "quarantine"
    pad_short_records: bool = Field(
        False, description="Keep CSV records with too few fields, padded with empty values (else malformed)."
    )
    rejects_to: str | None = Field(
        None, description="Also append rejected rows to a table at this SQLAlchemy URL (${ENV_VAR})."
    )
    rejects_table: str = "ingest_rejects"

    @field_validator("url", "rejects_to")
    @classmethod
    def _encode(cls, v: str | None) -> str | None:
        return None if v is None else encode_raw_userinfo(v)  # `p@ss` in a password: host stays host

    @model_validator(mode="after")
    def _one_source(self) -> SourceConfig:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of `path` or `url`")
        if self.url is not None and (self.table is None) == (self.query is None):
            raise ValueError("a database source needs exactly one of `table` or `query`")
        try:
            if self.url is not None:
                check_driver(self.url, what="source url")
            if self.rejects_to is not None:
                check_driver(self.rejects_to, what="rejects_to", backends=("postgresql", "sqlite"))
            for name, what, url in (
                (self.table, "source table", self.url),
                (self.rejects_table, "rejects_table", self.rejects_to),
            ):
                if name is not None:  # the length limit is the database's (PostgreSQL: 63 bytes)
                    validate_identifier(name, what=what, allow_schema=True, dialect=_dialect(url))
        except SynthdataError as e:
            raise ValueError(str(e)) from None
        return self


class SplitConfig(_Strict):
    protocol: Literal["user-temporal", "global-temporal", "user-random"] = "user-temporal"
    test_fraction: float = Field(0.2, gt=0, lt=1)


class TrainConfig(_Strict):
    """Model family, budget and typed hyperparameters (`hp` goes to `Synthesizer(model=..., **hp)` and
    is checked against the family's hyperparameters when the config is loaded, before ingest runs)."""

    model: str = Field(
        "gan", description="Model: gan | vae (rows) or multvae | multdae (histories); see model.BACKENDS."
    )
    epochs: int | None = Field(
        None,
        ge=1,
        description="Total epochs; default: the family's pipeline default (rows 10, histories 200).",
    )
    batch_size: int = Field(512, ge=1)
    max_minutes: float | None = Field(None, gt=0, description="Wall-clock cap on training.")
    accelerator: str = "auto"
    devices: int | str = "auto"
    strategy: str = "auto"
    num_nodes: int = Field(1, ge=1, description="Machines training as one DDP job (docs/scale-out.md).")
    hp: dict[str, Any] = Field(default_factory=dict)
    warm_start_partial: bool = Field(
        False, description="`run --warm-start` from a model of another schema copies what fits (WARNING)."
    )

    @model_validator(mode="after")
    def _typed_hp(self) -> TrainConfig:
        from synthdata.model.distributed import check_num_nodes
        from synthdata.model.family import parse_hyper  # imports torch: only when a config is loaded
        from synthdata.model.registry import backend

        try:
            parse_hyper(backend(self.model), self.hp, where="hp")
            check_num_nodes(self.num_nodes, self.strategy)
        except ConfigError as e:
            raise ValueError(str(e)) from None
        if self.epochs is None:
            from synthdata.model.registry import family_of

            self.epochs = family_of(backend(self.model)).pipeline_epochs
        return self


class GenerateConfig(_Strict):
    rows: int | None = Field(None, ge=1, description="Synthetic rows; default multiplier × training rows.")
    multiplier: float = Field(1.0, gt=0)
    batch_rows: int | None = Field(None, ge=1)


Op = Literal[">=", ">", "<=", "<", "==", "!="]


class GateConfig(_Strict):
    """``metric`` is a dotted path into metrics.json, e.g. ``recsys.delta.cold.recall.mean``.

    ``value`` is a number, or a string for ``==`` / ``!=`` on string metrics
    (``{metric: recsys.verdict.cold, op: "==", value: helps}``).
    """

    metric: str = Field(min_length=1)
    op: Op
    value: float | str
    name: str | None = None
    optional: bool = Field(
        False,
        description="Skip (reported as SKIP, not blocking) when the metric is absent from metrics.json, "
        "e.g. privacy.users.* exists only for histories models; a missing metric is otherwise an error.",
    )

    @field_validator("value", mode="before")
    @classmethod
    def _numeric_text(cls, v: Any) -> Any:
        """`${ENV:-0.5}` expands to text: numbers written as text are numbers."""
        if isinstance(v, str):
            try:
                return float(v)
            except ValueError:
                return v
        return v

    @model_validator(mode="after")
    def _string_ops(self) -> GateConfig:
        if isinstance(self.value, str) and self.op not in ("==", "!="):
            raise ValueError(f"a string value ({self.value!r}) needs op '==' or '!=', not {self.op!r}")
        return self

    @property
    def label(self) -> str:
        v = self.value if isinstance(self.value, str) else f"{self.value:g}"
        return self.name or f"{self.metric} {self.op} {v}"


class ExportConfig(_Strict):
    enabled: bool = False
    url: str | None = None
    table: str | None = None
    if_exists: Literal["fail", "replace", "append"] = "replace"
    chunk_size: int = Field(100_000, ge=1)

    @field_validator("url")
    @classmethod
    def _encode(cls, v: str | None) -> str | None:
        return None if v is None else encode_raw_userinfo(v)

    @model_validator(mode="after")
    def _complete(self) -> ExportConfig:
        if self.enabled and (not self.url or not self.table):
            raise ValueError("an enabled export needs `url` and `table`")
        try:
            if self.url is not None:
                check_driver(self.url, what="export url", backends=("postgresql", "sqlite"))
            if self.table is not None:
                validate_identifier(
                    self.table, what="export table", allow_schema=True, dialect=_dialect(self.url)
                )
        except SynthdataError as e:
            raise ValueError(str(e)) from None
        return self


class PipelineConfig(_Strict):
    name: str = Field("pipeline", min_length=1, max_length=200)
    seed: int = 0
    registry: str | None = Field(None, description="Registry URL (--registry and $SYNTHDATA_DB_URL win).")
    runs_dir: str | None = Field(None, description="Parent folder of run directories (default ./runs).")
    run_date: date | None = Field(
        None, description="Partition key YYYY-MM-DD (--run-date wins); ${run_date} in source fields."
    )
    source: SourceConfig
    split: SplitConfig = Field(default_factory=SplitConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    generate: GenerateConfig = Field(default_factory=GenerateConfig)
    evaluate: EvalConfig = Field(default_factory=EvalConfig)
    gates: list[GateConfig] = Field(default_factory=list)
    export: ExportConfig = Field(default_factory=ExportConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @model_validator(mode="after")
    def _strategy_fits_model(self) -> PipelineConfig:
        from synthdata.evaluate.config import USER_STRATEGIES
        from synthdata.model.registry import backend

        if self.evaluate.strategy in USER_STRATEGIES and backend(self.train.model).family != "histories":
            raise ValueError(
                f"evaluate.strategy {self.evaluate.strategy} makes virtual users: it needs a histories "
                f"model (train.model: multvae or multdae), not {self.train.model}"
            )
        return self

    def user_strategy(self) -> dict[str, Any] | None:
        """The evaluate settings the generate stage follows when it makes virtual users (the user
        strategies, and cold-items on a histories model: neighbours of the users who liked a cold item)."""
        from synthdata.evaluate.config import USER_STRATEGIES
        from synthdata.model.registry import backend

        e = self.evaluate
        if e.strategy == "cold-items" and backend(self.train.model).family == "histories":
            return {
                "strategy": e.strategy,
                "neighbours": e.neighbours,
                "cold_item_threshold": e.cold_item_threshold,
            }
        if e.strategy not in USER_STRATEGIES:
            return None
        return {
            "strategy": e.strategy,
            "virtual_users": e.virtual_users,
            "neighbours": e.neighbours,
            "cold_threshold": e.cold_threshold,
        }

    @field_validator("registry")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not looks_like_url(v):
            raise ValueError("must be a SQLAlchemy URL such as sqlite:///./synthdata.db")
        if v is not None:
            v = encode_raw_userinfo(v)
            try:
                check_driver(v, what="registry url")
            except SynthdataError as e:
                raise ValueError(str(e)) from None
        return v

    def stage_config(self, stage: str) -> dict[str, Any]:
        """The part of the config a stage's output depends on (what its input hash covers)."""
        d = self.model_dump(mode="json", by_alias=True)
        return {
            "ingest": {"source": d["source"]},
            "split": {"split": d["split"], "seed": self.seed},
            "train": {"train": d["train"], "seed": self.seed},
            "generate": {"generate": d["generate"], "seed": self.seed, "users": self.user_strategy()},
            "evaluate": {  # the tuning synthesizer is trained like the model; validation split like test
                "evaluate": d["evaluate"],
                "split_protocol": d["split"]["protocol"],
                **({"train": d["train"], "seed": self.seed} if self.evaluate.tune_synthesizer else {}),
            },
            "gate": {"gates": d["gates"]},
            "export": {"export": {k: v for k, v in d["export"].items() if k != "url"}},
        }[stage]

    def config_hash(self) -> str:
        # not the run date: the same config on two days is the same config (the registry keeps both)
        skip = {"registry", "runs_dir", "run_date", "tracking"}  # tracking changes no output either
        d = self.model_dump(mode="json", by_alias=True, exclude=skip)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def expand_env(node: Any, where: str = "") -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string; unknown vars are a ConfigError."""
    if isinstance(node, dict):
        return {k: expand_env(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()}
    if isinstance(node, list):
        return [expand_env(v, f"{where}.{i}") for i, v in enumerate(node)]
    if isinstance(node, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name == RUN_DATE:  # the run's date, replaced later (apply_run_date), never the environment
                return m.group(0)
            val = os.environ.get(name)
            if val is None or val == "":
                if default is None:
                    raise ConfigError(f"{where}: environment variable ${{{name}}} is not set")
                return default
            return val

        return _ENV_RE.sub(sub, node)
    return node


def _resolve_paths(cfg: PipelineConfig, base: Path) -> PipelineConfig:
    src = cfg.source
    upd: dict[str, Any] = {}
    for field in ("path", "schema_file", "user_attributes", "item_attributes"):
        v = getattr(src, field)
        if v is not None and not Path(v).expanduser().is_absolute():
            upd[field] = str((base / Path(v).expanduser()).resolve())
        elif v is not None:
            upd[field] = str(Path(v).expanduser())
    if upd:
        cfg = cfg.model_copy(update={"source": src.model_copy(update=upd)})
    return cfg


def parse_config(
    data: Any, *, origin: str = "<config>", base: Path | None = None, run_date: date | None = None
) -> PipelineConfig:
    """Validate a config mapping (env vars expanded first, then the run date); errors name each bad key.

    `run_date` (``--run-date``) wins over the config's ``run_date:``."""
    if not isinstance(data, dict):
        raise ConfigError(f"pipeline config {origin} must be a mapping at the top level")
    data = apply_run_date(expand_env(data), run_date)
    try:
        cfg = PipelineConfig.model_validate(data)
    except ValidationError as e:
        msg = mask_text(format_validation_error(e))
        raise ConfigError(f"invalid pipeline config {origin}: {msg}") from None
    return _resolve_paths(cfg, base or Path.cwd())


def load_config(path: str | Path, *, run_date: date | None = None) -> PipelineConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"pipeline config not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ConfigError(f"pipeline config {p} is not valid YAML: {e}") from None
    return parse_config(data, origin=str(p), base=p.resolve().parent, run_date=run_date)
