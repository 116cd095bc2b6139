"""Push-down executor placeholder (filled in below)."""

from __future__ import annotations

from typing import Any

from synthdata.ingest.plan import Outcome, Plan
from synthdata.ingest.sources import Source


def run_pushdown(src: Source, plan: Plan, rejects: Any) -> tuple[Outcome, str]:
    from synthdata.ingest.streaming import run_streaming

    return run_streaming(src, plan, plan.out.parent, rejects), "pandas"
