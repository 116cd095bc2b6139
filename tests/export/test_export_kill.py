"""kill -9 in the middle of an export: the target table is exactly as before (both backends)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from synthdata.export import STALL_ENV, export_table, read_table

CHILD = r"""
import sys
from synthdata.export import export_table
export_table(sys.argv[1], sys.argv[2], "target", if_exists=sys.argv[3], chunk_size=1000)
print("finished")
"""


def test_kill_mid_export_leaves_target_unchanged(db_url: str, tmp_path: Path) -> None:
    original = pd.DataFrame({"user_id": np.arange(7), "item_id": np.arange(7) * 3, "w": np.linspace(0, 1, 7)})
    export_table(original, db_url, "target")
    big = tmp_path / "synth.parquet"
    n = 20_000
    pd.DataFrame({"user_id": np.arange(n), "item_id": np.arange(n) % 97, "w": np.ones(n)}).to_parquet(big)
    for mode in ("replace", "append"):
        env = {**os.environ, STALL_ENV: "5"}
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(big), db_url, mode],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        deadline = time.time() + 120
        seen = ""
        while time.time() < deadline:
            line = proc.stderr.readline()
            seen += line
            if "export stalled after 5 chunks" in line or (not line and proc.poll() is not None):
                break
        assert "export stalled" in seen, seen[-2000:]  # 5000 rows are in the staging table right now
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        back = read_table(db_url, "target")
        pd.testing.assert_frame_equal(back.sort_values("user_id").reset_index(drop=True), original)
        eng = sa.create_engine(db_url)
        try:
            assert not [t for t in sa.inspect(eng).get_table_names() if t.startswith("_sd_stage_")]
            if eng.dialect.name == "sqlite":
                with eng.connect() as c:
                    assert c.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
        finally:
            eng.dispose()
    # and the same export without the kill does go through
    export_table(big, db_url, "target", if_exists="replace", chunk_size=5000)
    assert len(read_table(db_url, "target")) == n
