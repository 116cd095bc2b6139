"""The run date: a partition key a scheduler hands to a run (``--run-date 2026-12-01``).

Why it exists: a nightly job must process *its* day even when it runs late, is retried or is
backfilled, so nothing in the pipeline reads the wall clock to choose data. The scheduler says which
day (Airflow's ``{{ ds }}``, a Dagster partition key, a Prefect parameter); the run records it in the
registry, and the config can use it as ``${run_date}`` in the source fields that select data
(`TEMPLATED`). It is not in the config hash: the same config on two days is the same config.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from synthdata.errors import ConfigError

VARIABLE = "run_date"
PLACEHOLDER = "${" + VARIABLE + "}"
# Source fields that select data: the only places `${run_date}` is replaced (paths resolve afterwards).
TEMPLATED: tuple[str, ...] = ("path", "query", "table", "user_attributes", "item_attributes")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_run_date(value: object, *, what: str = "--run-date") -> date | None:
    """``YYYY-MM-DD`` (or a YAML date) → `date`; None or "" → no run date. Anything else exits 2."""
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):  # YAML reads 2026-12-01 as a date
        return value
    text = str(value).strip()
    if _ISO.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError as e:
            raise ConfigError(f"{what} {text!r} is not a date: {e} (want YYYY-MM-DD)") from None
    raise ConfigError(f"{what} {str(value)!r} is not a date (want YYYY-MM-DD, e.g. 2026-12-01)")


def _leftover(node: Any, where: str) -> str | None:
    """Dotted key of the first string still holding the placeholder, if any."""
    if isinstance(node, dict):
        hits = (_leftover(v, f"{where}.{k}" if where else str(k)) for k, v in node.items())
        return next((h for h in hits if h is not None), None)
    if isinstance(node, list):
        return next((h for i, v in enumerate(node) if (h := _leftover(v, f"{where}.{i}"))), None)
    return where if isinstance(node, str) and "${" + VARIABLE in node else None


def apply_run_date(data: dict[str, Any], run_date: date | None) -> dict[str, Any]:
    """The config mapping with its run date settled and ``${run_date}`` replaced in `TEMPLATED`.

    `run_date` (the ``--run-date`` flag) wins over the config's ``run_date:`` key. A placeholder
    with no run date given, or outside the templated source fields, is a config error (exit 2).
    """
    chosen = run_date if run_date is not None else parse_run_date(data.get(VARIABLE), what=VARIABLE)
    out = {**data, VARIABLE: chosen.isoformat() if chosen is not None else None}
    source = out.get("source")
    if isinstance(source, dict):
        source = dict(source)
        for field in TEMPLATED:
            v = source.get(field)
            if isinstance(v, str) and PLACEHOLDER in v:
                if chosen is None:
                    raise ConfigError(
                        f"source.{field} uses {PLACEHOLDER} but no run date was given "
                        f"(pass --run-date YYYY-MM-DD or set run_date: in the config)"
                    )
                source[field] = v.replace(PLACEHOLDER, chosen.isoformat())
        out["source"] = source
    where = _leftover(out, "")
    if where is not None:
        fields = ", ".join(f"source.{f}" for f in TEMPLATED)
        raise ConfigError(f"{where}: {PLACEHOLDER} (exactly so written) is only replaced in {fields}")
    return out
