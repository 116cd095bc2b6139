"""The utility study's Markdown tables, from its JSON-lines rows (benchmarks/utility_study.py writes both).

    python benchmarks/study_tables.py benchmarks/results/utility_study.jsonl \
        --out benchmarks/results/utility_study.md

Three tables: every cell run (one row per cell and seed), the replication summary (one row per cell,
its verdicts under each seed side by side) when any cell ran with more than one seed, and the
calibration counts. Re-tabulating never re-runs anything, so a table can always be traced to its rows.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

SEGMENTS = ("all", "cold", "warm")
VERDICT_MARK = {"no-evidence": "·", "helps": "+", "hurts": "−"}

CELL_HEAD = (
    "| dataset | regime | strategy | rec | generator | Δ NDCG vs real (all) | Δ vs best control (all) "
    "| Δ vs real (cold users) | verdict all/cold/warm | α | synthetic-only ratio | Δ recall cold items "
    "| Δ tail share of top-k | MIA AUC rows (excess) / users (excess) | fit s | eval s |"
)
REPLICATION_HEAD = (
    "| dataset | regime | strategy | rec | generator | seeds | verdicts all·cold·warm per seed "
    "| seeds with `helps` | seeds with `hurts` | Δ NDCG vs real (all) per seed "
    "| synthetic-only ratio per seed |"
)


def _ci(v: list | None) -> str:
    return "–" if not v else f"{v[0]:+.4f} [{v[1]:+.4f}, {v[2]:+.4f}]"


def _num(v: float | None, fmt: str = ".3f") -> str:
    return "–" if v is None else format(v, fmt)


def _cell_line(r: dict) -> str:
    so = (
        "–"
        if not r["so_ratio"]
        else f"{r['so_ratio'][0]:.2f} [{r['so_ratio'][1]:.2f}, {r['so_ratio'][2]:.2f}]"
    )
    row_excess = r.get("mia_auc_excess")  # recorded since 2026-12-07
    rows = _num(r["mia_auc"]) + (f" ({row_excess:+.3f})" if row_excess is not None else "")
    mia = f"{rows} / {_num(r.get('user_mia_excess'), '+.3f')}"
    seed = f" (seed {r['seed']})" if r.get("seed") else ""
    return (
        f"| {r['dataset']} | {r['regime']} | {r['strategy']} | {r['recommender']} | {r['generator']}{seed} "
        f"| {_ci(r['d_real_all'])} | {_ci(r['d_ctl_all'])} | {_ci(r['d_real_cold'])} "
        f"| {r['verdict_all']}/{r['verdict_cold']}/{r['verdict_warm']} | {r['alpha']} | {so} "
        f"| {_ci(r.get('d_cold_items_recall'))} | {_ci(r.get('d_tail_share'))} | {mia} "
        f"| {r['fit_s']} | {r['eval_s']} |"
    )


def _marks(r: dict) -> str:
    """Three marks (all, cold, warm users), or ∅ for a run with no verdict (no synthetic rows to add)."""
    verdicts = [r[f"verdict_{s}"] for s in SEGMENTS]
    if all(v not in VERDICT_MARK for v in verdicts):
        return "∅"
    return "".join(VERDICT_MARK.get(v, "?") for v in verdicts)


def replication_lines(cells: list[dict]) -> list[str]:
    """One line per cell: every seed's verdicts and effect side by side, in seed order."""
    by_cell: dict[str, list[dict]] = defaultdict(list)
    for r in cells:
        by_cell[r["cell"]].append(r)
    lines = [REPLICATION_HEAD, "|" + "---|" * 11]
    for rows in by_cell.values():
        rows = sorted(rows, key=lambda r: r.get("seed", 0))
        r0 = rows[0]
        helps = [str(r.get("seed", 0)) for r in rows if "helps" in (r[f"verdict_{s}"] for s in SEGMENTS)]
        hurts = [str(r.get("seed", 0)) for r in rows if "hurts" in (r[f"verdict_{s}"] for s in SEGMENTS)]
        deltas = ", ".join(f"{r['d_real_all'][0]:+.4f}" if r["d_real_all"] else "–" for r in rows)
        ratios = ", ".join(f"{r['so_ratio'][0]:.2f}" if r["so_ratio"] else "–" for r in rows)
        lines.append(
            f"| {r0['dataset']} | {r0['regime']} | {r0['strategy']} | {r0['recommender']} "
            f"| {r0['generator']} "
            f"| {','.join(str(r.get('seed', 0)) for r in rows)} | {' '.join(_marks(r) for r in rows)} "
            f"| {', '.join(helps) or '–'} | {', '.join(hurts) or '–'} | {deltas} | {ratios} |"
        )
    return lines


def calibration_lines(calib: list[dict]) -> list[str]:
    lines = [
        "| strategy | generator | runs | `helps` (any segment) | `helps` share of runs | chosen α > 0 |",
        "|---|---|---|---|---|---|",
    ]
    for strategy, kind in dict.fromkeys((r.get("strategy", "unconditional"), r["kind"]) for r in calib):
        rs = [r for r in calib if r.get("strategy", "unconditional") == strategy and r["kind"] == kind]
        h = sum(any(r[f"verdict_{g}"] == "helps" for g in SEGMENTS) for r in rs)
        a = sum((r["alpha"] or 0) > 0 for r in rs)
        lines.append(f"| {strategy} | {kind} | {len(rs)} | {h} | {h / len(rs):.0%} | {a} |")
    return lines


def markdown(cells: list[dict], calib: list[dict], meta: dict) -> str:
    out = [f"<!-- written by benchmarks/utility_study.py; {json.dumps(meta)} -->", ""]
    if cells:
        out += [CELL_HEAD, "|" + "---|" * 16, *(_cell_line(r) for r in cells)]
    if len({r.get("seed", 0) for r in cells}) > 1:
        out += ["", "Replication (per seed, all · cold · warm users: · no-evidence, + helps, − hurts; ∅ no"]
        out += ["synthetic rows, so no verdict):", ""]
        out += replication_lines(cells)
    if calib:
        out += ["", *calibration_lines(calib)]
    return "\n".join(out) + "\n"


def read_rows(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """(cells, calibration rows) from JSON-lines files; failed cells (an `error` key) are left out."""
    cells: list[dict] = []
    calib: list[dict] = []
    for p in paths:
        for line in p.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if "calibration" in row:
                calib += row["calibration"]
            elif "error" not in row:
                cells.append(row)
    return cells, calib


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("jsonl", type=Path, nargs="+", help="rows written by utility_study.py")
    ap.add_argument("--out", type=Path, required=True, help="the Markdown file to write")
    a = ap.parse_args()
    cells, calib = read_rows(a.jsonl)
    meta = {"tabulated_from": [p.name for p in a.jsonl]}
    a.out.write_text(markdown(cells, calib, meta), encoding="utf-8")
    print(f"{a.out}: {len(cells)} cell rows, {len(calib)} calibration rows")


if __name__ == "__main__":
    main()
