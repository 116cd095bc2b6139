"""`synthdata runs list | show | compare` on a registry filled through the API."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from support.cli import run_cli

from synthdata.registry import Registry


@pytest.fixture
def registry(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    with Registry(url) as reg:
        for rid, epochs, recall in (("run-a", 3, 0.20), ("run-b", 9, 0.26)):
            reg.create_run(
                rid,
                name="nightly",
                config={"train": {"epochs": epochs, "seed": 0}, "k": 10},
                run_dir=str(tmp_path / rid),
            )
            for stage in ("ingest", "train"):
                reg.start_stage(rid, stage, f"{stage}-{epochs}")
                reg.finish_stage(rid, stage, "succeeded")
            reg.log_metrics(
                rid,
                {
                    "recsys": {
                        "augmented": {"recall@10": {"mean": recall, "ci": [recall - 0.02, recall + 0.02]}}
                    },
                    "privacy": {"exact_copy_rate": 0.0},
                },
            )
            reg.finish_run(rid, "succeeded", exit_code=0)
    return url


def test_runs_list_and_show(registry: str, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run_cli(["runs", "list", "--registry", registry], capsys)
    assert code == 0 and out.index("run-b") < out.index("run-a")  # newest first
    code, out, _ = run_cli(["runs", "show", "run-a", "--registry", registry], capsys)
    assert code == 0
    assert "recsys.augmented.recall@10.mean" in out and "0.2 [0.18, 0.22]" in out and "train.epochs" in out
    code, _, err = run_cli(["runs", "show", "zzz", "--registry", registry], capsys)
    assert code == 2 and "no run 'zzz'" in err


def test_runs_compare_table_and_html(registry: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    html = tmp_path / "cmp" / "compare.html"
    code, out, _ = run_cli(
        ["runs", "compare", "run-a", "run-b", "--html", str(html), "--registry", registry], capsys
    )
    assert code == 0
    row = next(line for line in out.splitlines() if "recall@10" in line)
    assert "0.2 [0.18, 0.22]" in row and "0.26 [0.24, 0.28]" in row and "+0.06*" in row  # disjoint CIs
    assert "exact_copy_rate" not in out  # identical in both runs: hidden by default
    cfg = next(line for line in out.splitlines() if "train.epochs" in line)
    assert "3" in cfg and "9" in cfg and "train.seed" not in out
    doc = html.read_text()
    assert "run-a" in doc and "run-b" in doc and "train.epochs" in doc and "+0.06*" in doc
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", doc)
    assert len(pngs) == 2 and all(base64.b64decode(p).startswith(b"\x89PNG") for p in pngs)
    code, _, err = run_cli(["runs", "compare", "run-a", "--registry", registry], capsys)
    assert code == 2 and "at least two" in err
