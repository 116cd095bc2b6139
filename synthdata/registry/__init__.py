"""Run registry: every pipeline run, its stages, metrics, parameters and artefacts, in any SQL database.

Default store is the embedded SQLite file ``./synthdata.db``; ``--registry URL`` or
``$SYNTHDATA_DB_URL`` selects another (PostgreSQL is tested). The schema is managed by the Alembic
migrations shipped in ``migrations/`` and upgraded to head whenever a `Registry` is opened.
"""

from synthdata.registry.migrate import RegistryError
from synthdata.registry.store import (
    ENV_VAR,
    STALE,
    ArtefactInfo,
    MetricInfo,
    Registry,
    RegistryNotFound,
    RunBusy,
    RunInfo,
    StageInfo,
    file_sha256,
    flatten_metrics,
    flatten_params,
    resolve_url,
)

__all__ = [
    "ENV_VAR",
    "STALE",
    "ArtefactInfo",
    "MetricInfo",
    "Registry",
    "RegistryError",
    "RegistryNotFound",
    "RunBusy",
    "RunInfo",
    "StageInfo",
    "file_sha256",
    "flatten_metrics",
    "flatten_params",
    "resolve_url",
]
