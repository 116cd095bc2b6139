"""The hostile-input suite: every case in cases.yaml runs through the real CLI in a subprocess, as a
user would, and must end with the expected exit code and one clear `error:` line, show no secret
(on screen or in any file it wrote) and no traceback, and change nothing outside the command's own
declared outputs (the workspace, the corpus and, for PostgreSQL cases, the test schema are compared
before and after)."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
TIMEOUT_S = 120


def _tree(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` with its content hash (folders: "dir")."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _pg_state(url: str) -> dict[str, Any]:
    eng = sa.create_engine(url)
    with eng.connect() as c:
        insp = sa.inspect(c)
        state = {"tables": sorted(insp.get_table_names()), "views": sorted(insp.get_view_names())}
    eng.dispose()
    return state


def _workspace(ws: Path) -> None:
    (ws / "blocker").write_text("a plain file: nothing can be created below it\n")
    pd.DataFrame({"user_id": range(5), "item_id": [3, 1, 4, 1, 5]}).to_parquet(ws / "tiny.parquet")
    con = sqlite3.connect(ws / "victim.db")
    con.executescript(
        "CREATE TABLE victim (user_id INTEGER, item_id INTEGER);"
        "INSERT INTO victim VALUES (1, 1), (2, 2), (3, 3);"
        "CREATE VIEW victim_v AS SELECT user_id FROM victim;"
    )
    con.commit()
    con.close()
    # a MovieLens-100K layout whose u.data is binary (bytes 0x00-0xFF); u.user / u.item are invented
    # rows in the layout's format (the real files may not be copied into the repo: their licence)
    ml = ws / "movielens_binary"
    ml.mkdir()
    (ml / "u.data").write_bytes(bytes(range(256)))
    (ml / "u.user").write_text("1|30|F|writer|00000\n")
    (ml / "u.item").write_text("1|Invented Film (2000)|01-Jan-2000||http://x|" + "|".join("0" * 19) + "\n")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_case(case: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    _workspace(ws)
    pg = request.getfixturevalue("pg_url") if case.get("db") == "postgresql" else ""
    subs = {"{corpus}": str(CORPUS), "{ws}": str(ws), "{victim}": f"sqlite:///{ws / 'victim.db'}", "{pg}": pg}

    def fill(s: str) -> str:
        for k, v in subs.items():
            s = s.replace(k, v)
        return s

    args = [fill(str(a)) for a in case["args"]]
    env = {k: v for k, v in os.environ.items() if k != "SYNTHDATA_DB_URL"}
    env.update(
        HOSTILE_WS=str(ws), HOSTILE_CORPUS=str(CORPUS), HOSTILE_PG=pg, COLUMNS="200", OPENBLAS_NUM_THREADS="1"
    )
    before_ws, before_corpus = _tree(ws), _tree(CORPUS)
    before_pg = _pg_state(pg) if pg else None

    proc = subprocess.run(
        [sys.executable, "-c", "from synthdata.cli import main; main()", *args],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    out, err = proc.stdout, proc.stderr
    where = f"case {case['id']}: exit {proc.returncode}\nstderr:\n{err[-3000:]}"
    assert proc.returncode == case["exit"], where
    assert "Traceback" not in out + err, where
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, where
    assert re.search(case["message"], errors[0]), where
    for s in case.get("secrets", []):
        assert s not in out + err, f"secret {s!r} shown; {where}"

    allowed = [fill(g) for g in case.get("outputs", [])]
    after_ws = _tree(ws)
    for rel, digest in after_ws.items():  # what the command wrote (logs, registry, reports): no secret
        if digest != "dir" and before_ws.get(rel) != digest:
            data = (ws / rel).read_bytes()
            for s in case.get("secrets", []):
                assert s.encode() not in data, f"secret {s!r} written to {rel}; {where}"
    changed = {
        k
        for k in set(before_ws) | set(after_ws)
        if before_ws.get(k) != after_ws.get(k) and not any(fnmatch.fnmatch(k, g) for g in allowed)
    }
    assert not changed, f"case {case['id']} changed files outside its outputs: {sorted(changed)}"
    assert _tree(CORPUS) == before_corpus, f"case {case['id']} changed the corpus"
    if pg:
        assert _pg_state(pg) == before_pg, f"case {case['id']} changed the database"


def test_cases_file_is_well_formed() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for c in CASES:
        assert set(c) <= {"id", "args", "exit", "message", "secrets", "outputs", "db"}, c["id"]
        assert isinstance(c["exit"], int) and c["exit"] != 0 and re.compile(c["message"]), c["id"]
