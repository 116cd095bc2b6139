"""The ``tracking:`` section of a pipeline config, and where a run's MLflow settings come from.

Pure pydantic (no MLflow import), so loading a config never pulls MLflow in. Tracking is off unless
``tracking.mlflow.uri`` is set or ``--mlflow URI`` is given; it never changes what a run computes, so
the config hash leaves it out.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synthdata.masking import encode_raw_userinfo


class MlflowConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    uri: str = Field(
        min_length=1,
        description="MLflow tracking URI: http(s)://HOST:PORT of an `mlflow server` (or a database URL of "
        "MLflow's own; never the registry's database). Use ${ENV_VAR} for credentials.",
    )
    experiment: str | None = Field(
        None, min_length=1, description="MLflow experiment (default: the pipeline's `name`)."
    )

    @field_validator("uri")
    @classmethod
    def _encode(cls, v: str) -> str:
        return encode_raw_userinfo(v.strip())


class TrackingConfig(BaseModel):
    """Where runs are mirrored for comparison; the run registry stays the source of truth."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    mlflow: MlflowConfig | None = Field(None, description="Mirror every run into MLflow (default off).")


def with_mlflow_uri(tracking: TrackingConfig, uri: str | None) -> TrackingConfig:
    """The tracking section with ``--mlflow URI`` applied (the flag wins over the config's URI)."""
    if uri is None:
        return tracking
    experiment = tracking.mlflow.experiment if tracking.mlflow is not None else None
    return TrackingConfig(mlflow=MlflowConfig(uri=uri, experiment=experiment))
