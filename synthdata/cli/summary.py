"""The run summary: one JSON line on stdout at the end of ``synthdata run --json``, for schedulers.

Why a contract of its own: Airflow pushes a task's last stdout line to XCom, Prefect and Dagster
tasks parse what the command reports, and none of them should scrape log lines. With ``--json``
stdout carries exactly this one line, whatever happened once the config was named (success, a
failed gate, a failure, a skip, even a bad ``--run-date``); the tables and every log line go to
stderr. ``--summary-file PATH`` writes the same object to a file, for launchers that do not capture
stdout (Dagster Pipes). Fields are documented in docs/scheduling.md; `CONTRACT` is bumped when one
changes meaning or disappears (new fields may appear without a bump).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthdata.atomic import atomic_write_text, ensure_writable
from synthdata.errors import USER_PATH_ERRORS, GateFailed, SynthdataError, os_error_line
from synthdata.masking import mask_text
from synthdata.pipeline import PipelineConfig, RunResult

CONTRACT = 1


@dataclass
class Outcome:
    """What the command knew when it ended: filled in by `synthdata run` as it goes."""

    cfg: PipelineConfig | None = None
    result: RunResult | None = None
    started: float = field(default_factory=time.perf_counter)


def exit_code_of(e: BaseException) -> int:
    """The exit code `synthdata.cli.main` gives this exception (kept in step with it)."""
    if isinstance(e, SynthdataError):
        return e.exit_code
    if isinstance(e, OSError):
        return 2 if isinstance(e, USER_PATH_ERRORS) else 1
    return 130 if isinstance(e, KeyboardInterrupt) else 1


def _error_line(e: BaseException) -> str:
    if isinstance(e, SynthdataError):
        return mask_text(str(e))
    if isinstance(e, OSError):
        return os_error_line(e)
    return mask_text(f"{type(e).__name__}: {e}")


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def _gates(res: RunResult) -> list[dict[str, Any]]:
    return [
        {
            "name": g.gate.label,
            "metric": g.gate.metric,
            "op": g.gate.op,
            "value": _finite(g.gate.value),
            "actual": _finite(g.actual),
            "passed": g.passed,
            "skipped": g.skipped,
        }
        for g in res.gates
    ]


def _outputs(res: RunResult) -> dict[str, str]:
    """Artefact name → absolute path, for every output a finished (or reused) stage recorded."""
    return {
        name: str(res.run_dir / o["file"])
        for rec in res.stages.values()
        if rec.status in ("succeeded", "skipped")
        for name, o in rec.outputs.items()
    }


def summary(
    o: Outcome, *, exit_code: int, error: str | None = None, failure: BaseException | None = None
) -> dict:
    """The summary object (see the module docstring); `failure` is the exception that ended the run."""
    res = getattr(failure, "result", None) or o.result
    status = res.status if res is not None and failure is None else "failed"
    if isinstance(failure, GateFailed):
        status = "gate_failed"
    cfg = o.cfg
    verdict = ((res.metrics or {}).get("recsys") or {}).get("verdict") if res is not None else None
    e = res.export if res is not None else None
    return {
        "contract": CONTRACT,
        "run_id": res.run_id if res is not None else None,
        "status": status,
        "exit_code": exit_code,
        "name": cfg.name if cfg is not None else None,
        "run_date": cfg.run_date.isoformat() if cfg is not None and cfg.run_date else None,
        "config_hash": cfg.config_hash() if cfg is not None else None,
        "source_fingerprint": res.source_fingerprint if res is not None else None,
        "run_dir": str(res.run_dir) if res is not None else None,
        "verdict": verdict or None,
        "gates": _gates(res) if res is not None else [],
        "outputs": _outputs(res) if res is not None else {},
        "export": None if e is None else {"table": e.table, "url": e.url, "rows": e.rows},
        "error": error,
        "seconds": round(time.perf_counter() - o.started, 3),
    }


def _emit(doc: dict, stdout: Any, to_stdout: bool, file: Path | None) -> None:
    line = json.dumps(doc, allow_nan=False, default=str)
    if file is not None:
        atomic_write_text(file, line + "\n", durable=False)
    if to_stdout:
        stdout.write(line + "\n")
        stdout.flush()


@contextmanager
def run_summary(to_stdout: bool, file: Path | None) -> Iterator[Outcome]:
    """Emit the summary when the block ends, however it ends; with `to_stdout`, anything the block
    prints (tables, a library's stray print) goes to stderr so stdout holds the one JSON line."""
    outcome = Outcome()
    if not to_stdout and file is None:
        yield outcome
        return
    stdout = sys.stdout
    try:
        if file is not None:  # checked before the run, like every other output
            ensure_writable(file, what="--summary-file")
    except SynthdataError as e:
        _emit(
            summary(outcome, exit_code=e.exit_code, error=_error_line(e), failure=e), stdout, to_stdout, None
        )
        raise
    try:
        with redirect_stdout(sys.stderr) if to_stdout else nullcontext():
            yield outcome
    except BaseException as e:
        _emit(
            summary(outcome, exit_code=exit_code_of(e), error=_error_line(e), failure=e),
            stdout,
            to_stdout,
            file,
        )
        raise
    res = outcome.result
    _emit(summary(outcome, exit_code=res.exit_code if res is not None else 0), stdout, to_stdout, file)
