"""MLflow on PostgreSQL: its tables in a database of their own, never among the registry's tables.

The registry here is PostgreSQL too, reached with a password in its URL (the server trusts local
connections, so any password works): the password must appear nowhere in MLflow, only the masked URL.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support.cli import run_cli
from support.pipeline_world import tiny_config, write_config, write_source

from synthdata.masking import mask_url
from synthdata.registry import Registry
from synthdata.tracking.pipeline import RUN_ID_PARAM

SECRET = "mlflow-test-s3cret"
pytestmark = pytest.mark.postgres


def test_postgres_backed_mlflow_via_flag(
    pg_url: str, mlflow_pg: str, mlflow_pg_database: str, tmp_path, capsys
) -> None:
    from mlflow import MlflowClient

    registry = pg_url.replace("://postgres@", f"://postgres:{SECRET}@", 1)
    csv, schema = write_source(tmp_path / "src")
    path = write_config(tmp_path / "p.yaml", tiny_config(csv, schema, name="tiny-pg"))  # no tracking: section
    args = ["run", path, "--registry", registry, "--runs-dir", tmp_path / "runs", "--mlflow", mlflow_pg]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err[-3000:]
    rid = re.search(r"run=(\d{8}T\d{6}-[0-9a-f]{6})", err).group(1)  # type: ignore[union-attr]

    client = MlflowClient(mlflow_pg)
    exp = client.get_experiment_by_name("tiny-pg")  # default experiment: the pipeline's name
    assert exp is not None
    (run,) = client.search_runs([exp.experiment_id], filter_string=f"tags.`synthdata.run_id` = '{rid}'")
    assert run.info.status == "FINISHED" and run.data.params["train.model"] == "gan"
    assert run.data.tags["synthdata.registry"] == mask_url(registry) and "***" in mask_url(registry)
    assert "recsys.verdict_code.all" in run.data.metrics
    shown = [*run.data.params.values(), *run.data.tags.values(), *map(str, run.data.metrics.values())]
    assert not any(SECRET in v for v in shown)
    with Registry(pg_url) as reg:
        info = reg.get_run(rid)
    assert info is not None and info.params[RUN_ID_PARAM] == run.info.run_id

    # MLflow's schema lives in its own database; the registry's schema holds only synthdata's tables
    eng = sa.create_engine(mlflow_pg_database)
    with eng.connect() as c:
        mlflow_tables = set(sa.inspect(c).get_table_names())
    eng.dispose()
    assert {"experiments", "runs", "metrics", "params", "alembic_version"} <= mlflow_tables
    eng = sa.create_engine(pg_url)
    with eng.connect() as c:
        registry_tables = set(sa.inspect(c).get_table_names())
    eng.dispose()
    assert "runs" in registry_tables and not {"experiments", "latest_metrics", "tags"} & registry_tables
