"""Prefect: a flow whose task runs ``synthdata run`` for one date and returns its JSON summary.

The date is a flow parameter (a deployment's schedule or a backfill passes it); when it is left out,
the flow run's *scheduled* time gives it, never the clock at the moment the task happens to start.
The task runs the CLI with ``--json``: stdout holds one JSON line, stderr the logs (inherited, so
they reach the worker's log as they are written). Exit 0 and 4 (nothing to do: ``--skip-unchanged``
found the date already processed from the same source and config) both return the summary; 3 (a
quality gate failed) fails without retrying, since a re-run computes the same metrics; anything else
raises, and the task's retries re-run the date (finished stages are reused, so a retry is cheap).
"""

from __future__ import annotations

import json
import subprocess
from datetime import date
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run

# synthdata.errors.EXIT_SKIPPED: `run --skip-unchanged` had nothing to do for this date.
SKIPPED_EXIT_CODE = 4
GATE_FAILED_EXIT_CODE = 3
CONFIG = "/opt/synthdata/pipelines/examples/daily.yaml"


class GateFailed(Exception):
    """Not worth retrying: the same data and config give the same metrics."""


def parse_summary(stdout: str) -> dict:
    """The one JSON line ``synthdata run --json`` prints (the last non-empty stdout line)."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("synthdata run printed no summary line")
    return json.loads(lines[-1])


def retry_unless_gate_failed(task: object, task_run: object, state: Any) -> bool:
    """Prefect's retry condition: a failed gate is final, any other failure may be transient."""
    return not isinstance(state.result(raise_on_failure=False), GateFailed)


@task(retries=2, retry_delay_seconds=600, retry_condition_fn=retry_unless_gate_failed)
def synthdata_run(config: str, run_date: str) -> dict:
    logger = get_run_logger()
    proc = subprocess.run(
        ["synthdata", "run", config, "--run-date", run_date, "--skip-unchanged", "--json"],
        stdout=subprocess.PIPE,
        stderr=None,  # inherited: the logs stream to the worker's log as they come
        text=True,
        check=False,
    )
    summary = parse_summary(proc.stdout)
    logger.info("synthdata run %s: %s (exit %s)", summary["run_id"], summary["status"], proc.returncode)
    if proc.returncode in (0, SKIPPED_EXIT_CODE):
        return summary
    if proc.returncode == GATE_FAILED_EXIT_CODE:
        raise GateFailed(f"quality gate failed for {run_date}: {summary['gates']}")
    raise RuntimeError(f"synthdata run failed with exit {proc.returncode}: {summary['error']}")


@flow(name="synthdata-daily")
def synthdata_daily(run_date: date | None = None, config: str = CONFIG) -> dict:
    day = run_date or flow_run.scheduled_start_time.date()
    summary = synthdata_run(config, day.isoformat())
    get_run_logger().info("outputs: %s", summary["outputs"])
    return summary


if __name__ == "__main__":
    synthdata_daily.serve(name="synthdata-daily", cron="0 2 * * *")
