"""`synthdata runs list | show | compare`: browse and compare runs recorded in the run registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synthdata.atomic import ensure_writable
from synthdata.cli.app import app
from synthdata.errors import InputError
from synthdata.pipeline.rundate import parse_run_date
from synthdata.registry import STALE, Registry, RunInfo
from synthdata.registry.compare import compare_runs, fmt_value, render_html

runs_app = typer.Typer(help="Browse and compare pipeline runs in the run registry.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")

REGISTRY_OPT = typer.Option(
    None, "--registry", help="Run registry URL (default: $SYNTHDATA_DB_URL or sqlite:///./synthdata.db)."
)


def _open(registry: str | None) -> Registry:
    """Read-only commands never create a registry: a mistyped path is an error, not a new file."""
    return Registry(registry, create=False)


def _get(reg: Registry, run_id: str) -> RunInfo:
    rid = reg.resolve_run_id(run_id)
    run = reg.get_run(rid) if rid is not None else None
    if run is None:
        raise InputError(f"no run {run_id!r} (or the prefix is ambiguous) in registry {reg.masked_url}")
    return run


def _duration(run: RunInfo) -> str:
    if run.finished_at is None:
        return "—" if run.shown_status != STALE else f"(heartbeat {run.liveness.age_s():.0f}s ago)"
    return f"{(run.finished_at - run.created_at).total_seconds():.1f}s"


@runs_app.command("list")
def list_cmd(
    limit: int = typer.Option(50, "--limit", help="Newest N runs."),
    status: str | None = typer.Option(
        None, "--status", help="Only runs with this status (running, stale, succeeded, failed, gate_failed)."
    ),
    run_date: str | None = typer.Option(None, "--run-date", help="Only runs for this date (YYYY-MM-DD)."),
    registry: str | None = REGISTRY_OPT,
) -> None:
    """Newest runs first, with status, run date, timing and exit code; a killed run shows as `stale`."""
    day = parse_run_date(run_date)
    with _open(registry) as reg:
        runs = reg.list_runs(limit=limit, status=status, run_date=day)
    t = Table(title=f"runs ({len(runs)})")
    t.add_column("id", no_wrap=True)  # ids are copied into `runs show/compare`: never cut them
    for col in ("name", "status", "run date", "created (UTC)", "duration", "exit"):
        t.add_column(col)
    for r in runs:
        t.add_row(
            r.id,
            r.name or "",
            r.shown_status,
            r.run_date.isoformat() if r.run_date else "",
            r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            _duration(r),
            "" if r.exit_code is None else str(r.exit_code),
        )
    Console().print(t)


@runs_app.command("show")
def show_cmd(
    run_id: str = typer.Argument(..., help="Run id or unique prefix."), registry: str | None = REGISTRY_OPT
) -> None:
    """One run: stages (status, timing, input hash), metrics with CIs, artefacts and parameters."""
    with _open(registry) as reg:
        run = _get(reg, run_id)
    con = Console()
    con.print(
        f"[bold]{run.id}[/] {run.name or ''}  status=[bold]{run.shown_status}[/]  exit={run.exit_code}  "
        f"dir={run.run_dir}  warm_start_from={run.warm_start_from or '-'}",
        highlight=False,
    )
    con.print(
        f"run_date={run.run_date or '-'}  config_hash={(run.config_hash or '-')[:12]}  "
        f"source_fingerprint={(run.source_fingerprint or '-')[:12]}",
        highlight=False,
    )
    if run.status == "running":
        con.print(f"process: {run.liveness.describe()}", highlight=False)
    if run.error:
        con.print(f"[red]error:[/] {escape(run.error)}", highlight=False)
    st = Table(title="stages")
    for col in ("stage", "status", "seconds", "input hash", "reused from", "message"):
        st.add_column(col)
    for s in run.stages:
        st.add_row(
            s.name,
            s.status,
            "" if s.duration_s is None else f"{s.duration_s:.2f}",
            (s.input_hash or "")[:12],
            s.reused_from or "",
            s.message or "",
        )
    con.print(st)
    mt = Table(title="metrics")
    mt.add_column("metric")
    mt.add_column("value [CI]")
    for k in sorted(run.metrics):
        mt.add_row(k, fmt_value(run.metrics[k]))
    con.print(mt)
    at = Table(title="artefacts")
    for col in ("name", "kind", "bytes", "sha256", "path"):
        at.add_column(col)
    for a in run.artefacts.values():
        at.add_row(
            a.name, a.kind, f"{a.bytes:,}" if a.bytes is not None else "", (a.sha256 or "")[:12], a.path
        )
    con.print(at)
    pt = Table(title="parameters")
    pt.add_column("key")
    pt.add_column("value")
    for k in sorted(run.params):
        pt.add_row(k, repr(run.params[k]))
    con.print(pt)


@runs_app.command("compare")
def compare_cmd(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids (the first is the baseline)."),
    html: Path | None = typer.Option(
        None, "--html", help="Also write a self-contained HTML report with plots."
    ),
    all_metrics: bool = typer.Option(False, "--all", help="Show metrics equal in every run too."),
    registry: str | None = REGISTRY_OPT,
) -> None:
    """Metrics side by side with CIs and deltas vs the first run, and the config keys that differ."""
    if len(run_ids) < 2:
        raise InputError("runs compare needs at least two run ids")
    if html is not None:
        ensure_writable(html, what="--html report")
    with _open(registry) as reg:
        runs = [_get(reg, r) for r in run_ids]
    cmp = compare_runs(runs)
    con = Console()
    mt = Table(title="metrics, verdict first (Δ = run − first run; * = disjoint CIs)")
    mt.add_column("metric")
    for r in runs:
        mt.add_column(r.id)
    for r in runs[1:]:
        mt.add_column(f"Δ {r.id}")
    shown = 0
    for m in cmp.metrics:
        deltas = [m.delta(i) for i in range(1, len(runs))]
        if not all_metrics and not m.is_verdict and all(d == 0 for d in deltas):
            continue
        shown += 1
        mt.add_row(
            m.key,
            *(fmt_value(v) for v in m.values),
            *(m.delta_text(i) for i in range(1, len(runs))),
        )
    con.print(mt)
    if shown < len(cmp.metrics):
        con.print(f"({len(cmp.metrics) - shown} metrics identical in all runs hidden; --all shows them)")
    ct = Table(title=f"config differences ({len(cmp.config_diff)} differ, {cmp.config_same} identical)")
    ct.add_column("key")
    for r in runs:
        ct.add_column(r.id)
    for k, vals in cmp.config_diff:
        ct.add_row(k, *(repr(v) for v in vals))
    con.print(ct)
    if html is not None:
        out = render_html(cmp, html)
        con.print(f"wrote {out}")
