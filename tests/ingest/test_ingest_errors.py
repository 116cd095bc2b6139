"""Structural problems stop with one clear line naming file/column/row, exit code 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli
from support.files import write

SCHEMA = (
    "columns:\n- {name: user_id, role: user_id, dtype: int}\n"
    "- {name: item_id, role: item_id, dtype: int}\n- {name: rating, role: signal, dtype: int}\n"
)

pytestmark = pytest.mark.usefixtures("both_engines")  # every test runs on both executors


@pytest.mark.parametrize(
    ("name", "content", "extra", "needles"),
    [
        ("missing.csv", None, [], ["not found", "missing.csv"]),
        ("empty.csv", b"", [], ["empty input", "empty.csv", "row 1"]),
        ("header_only.csv", b"user_id,item_id,rating\n", [], ["empty input", "header_only.csv", "row 2"]),
        (
            "nocol.csv",
            b"user_id,item_id\n1,2\n",
            ["--schema", "S"],
            ["required column missing", "'rating'", "row 1"],
        ),
        (
            "latin.csv",
            "user_id,item_id,rating\n1,2,3\n4,5,caf\u00e9\n".encode("latin-1"),
            [],
            ["cannot decode", "byte offset 36", "latin.csv", "row 3", "--encoding"],
        ),
        (
            "ragged.csv",
            b"user_id,item_id,rating\n1,2,3\n1,2,3,4,5\n",
            ["--on-malformed", "error"],
            ["malformed CSV", "row 3"],
        ),
    ],
)
def test_structural_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    extra: list[str],
    needles: list[str],
) -> None:
    src = tmp_path / name
    if content is not None:
        write(src, content)
    extra = [str(write(tmp_path / "s.yaml", SCHEMA)) if a == "S" else a for a in extra]
    code, out, err = run_cli(["ingest", src, "--out", tmp_path / "c.parquet", *extra], capsys)
    assert code == 2
    assert "Traceback" not in err + out
    msg = " ".join(err.split())
    assert msg.startswith("error:") and len(err.strip().splitlines()) <= 3
    for n in needles:
        assert n in msg, (n, msg)


def test_encoding_flag_fixes_decode_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "l.csv", "user_id,item_id,title\n1,2,caf\u00e9\n".encode("latin-1"))
    code, out, _ = run_cli(["ingest", src, "--out", tmp_path / "c.parquet", "--encoding", "latin-1"], capsys)
    assert code == 0 and "rows_in" in out


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "synthdata"
    p = subprocess.run(
        [str(exe), "ingest", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "c.parquet")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and "nope.csv" in p.stderr
