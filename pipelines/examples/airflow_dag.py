"""Airflow: the nightly synthdata job as one BashOperator task per day (Airflow 2.9+ and 3).

The scheduler owns the date: ``{{ ds }}`` (the run's logical date) becomes ``--run-date``, so a
backfill or a late retry processes *its* day. ``--skip-unchanged`` turns a re-run of a date that
already succeeded from the same source and config into exit code 4, which ``skip_on_exit_code``
marks as *skipped* rather than failed. ``--json`` leaves one JSON line on stdout, and BashOperator
pushes the last stdout line to XCom, so a downstream task reads the run id, status and output paths
from there (``report_outputs`` below). Logs and tables go to stderr, i.e. the task log.

Exit codes (docs/scheduling.md): 0 succeeded, 4 skipped (nothing to do), 3 a quality gate failed
(nothing exported; retrying will not help), 2 bad config or input, 1 anything else, 143 stopped by
SIGTERM (a timeout; the next try reuses every finished stage).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator

# synthdata.errors.EXIT_SKIPPED: `run --skip-unchanged` had nothing to do for this date.
SKIPPED_EXIT_CODE = 4
CONFIG = "/opt/synthdata/pipelines/examples/daily.yaml"  # absolute: BashOperator runs in a temporary folder


def report_outputs(ti, **_: object) -> None:
    """Read the JSON summary the synthdata task pushed to XCom (its last stdout line)."""
    line = ti.xcom_pull(task_ids="synthdata_run")
    summary = json.loads(line)
    print(f"run {summary['run_id']} {summary['status']} for {summary['run_date']}")
    print(f"synthetic rows: {summary['outputs'].get('synth')}; verdict: {summary['verdict']}")


with DAG(
    dag_id="synthdata_nightly",
    schedule="0 2 * * *",
    start_date=datetime(2026, 12, 1),
    catchup=True,  # backfills run each missing date with its own --run-date
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    run = BashOperator(
        task_id="synthdata_run",
        # the registry comes from $SYNTHDATA_DB_URL (or the config's `registry:`)
        bash_command="synthdata run " + CONFIG + " --run-date {{ ds }} --skip-unchanged --json",
        skip_on_exit_code=SKIPPED_EXIT_CODE,
        do_xcom_push=True,  # the last stdout line, i.e. the JSON summary
        execution_timeout=timedelta(hours=3),
    )
    report = PythonOperator(task_id="report_outputs", python_callable=report_outputs)
    run >> report
