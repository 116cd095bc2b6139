"""The study's replication table says, per cell, what each seed concluded: a `helps` under one seed out of
three shows as one seed, never as the cell's result, and re-tabulating reads back exactly the rows run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from study_tables import markdown, read_rows, replication_lines

CELL = "sample/full/cold-items/als/multvae"


def _row(seed: int, verdicts: tuple[str, ...], delta: float, cell: str = CELL) -> dict:
    dataset, regime, strategy, rec, gen = cell.split("/")
    return {
        "cell": cell, "dataset": dataset, "regime": regime, "strategy": strategy, "recommender": rec,
        "generator": gen, "seed": seed, "fit_s": 1.0, "eval_s": 1.0, "alpha": 1.0,
        "verdict_all": verdicts[0], "verdict_cold": verdicts[1], "verdict_warm": verdicts[2],
        "d_real_all": [delta, delta - 0.01, delta + 0.01], "d_ctl_all": None, "d_real_cold": None,
        "so_ratio": [0.9, 0.8, 1.0] if rec == "als" else None, "mia_auc": 0.6, "user_mia_excess": 0.01,
    }  # fmt: skip


def test_one_line_per_cell_with_every_seed_in_order() -> None:
    rows = [
        _row(2, ("no-evidence", "no-evidence", "no-evidence"), 0.001),
        _row(0, ("no-evidence", "no-evidence", "helps"), 0.011),
        _row(1, ("hurts", "hurts", "no-evidence"), -0.002),
        _row(0, ("no-evidence",) * 3, 0.0, cell="movielens/full/virtual-users/bpr/multdae"),
    ]
    lines = replication_lines(rows)
    assert len(lines) == 2 + 2  # header, rule, one line per cell
    first = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert first[5] == "0,1,2"
    assert first[6] == "··+ −−· ···"
    assert (first[7], first[8]) == ("0", "1")
    assert first[9] == "+0.0110, -0.0020, +0.0010"
    second = [c.strip() for c in lines[3].split("|")[1:-1]]
    assert (second[6], second[7], second[8], second[10]) == ("···", "–", "–", "–")


def test_a_run_without_a_verdict_is_marked_as_such_not_as_hurts() -> None:
    empty = {**_row(0, ("–", "–", "–"), 0.0), "d_real_all": None}
    line = [c.strip() for c in replication_lines([empty, _row(1, ("hurts",) * 3, -0.01)])[2].split("|")[1:-1]]
    assert line[6] == "∅ −−−"
    assert (line[7], line[8], line[9]) == ("–", "1", "–, -0.0100")


def test_the_replication_table_appears_only_with_several_seeds() -> None:
    one = [_row(0, ("helps",) * 3, 0.01)]
    assert "Replication" not in markdown(one, [], {})
    assert "Replication" in markdown([*one, _row(1, ("no-evidence",) * 3, 0.0)], [], {})


def test_read_rows_keeps_cells_and_calibration_and_leaves_out_failed_cells(tmp_path: Path) -> None:
    calib = [{"strategy": "unconditional", "kind": "uniform", "seed": 0, "alpha": 0.0}]
    lines = [_row(0, ("no-evidence",) * 3, 0.0), {"cell": "x", "error": "boom"}, {"calibration": calib}]
    p = tmp_path / "rows.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    cells, cal = read_rows([p])
    assert [c["cell"] for c in cells] == ["sample/full/cold-items/als/multvae"]
    assert cal == calib


def test_the_row_level_excess_shows_beside_the_raw_auc_when_recorded() -> None:
    from study_tables import _cell_line

    mia = lambda r: [c.strip() for c in _cell_line(r).split("|")[1:-1]][13]  # noqa: E731
    assert mia({**_row(0, ("no-evidence",) * 3, 0.0), "mia_auc_excess": -0.25}) == "0.600 (-0.250) / +0.010"
    assert mia(_row(0, ("no-evidence",) * 3, 0.0)) == "0.600 / +0.010"  # rows from before it was recorded
