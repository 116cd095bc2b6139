"""Two processes writing to one registry at once (fresh database: concurrent migrations too)."""

from __future__ import annotations

import subprocess
import sys
import time

import sqlalchemy as sa

from synthdata.registry import Registry

WRITER = r"""
import sys, time
url, tag, start, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
from synthdata.registry import Registry
while time.time() < start:
    time.sleep(0.005)
reg = Registry(url)  # both open a fresh database at the same moment: migration guard
for i in range(n):
    rid = f"{tag}-{i:03d}"
    reg.create_run(rid, config={"writer": tag, "i": i, "train": {"epochs": i}})
    for stage in ("ingest", "split", "train"):
        reg.start_stage(rid, stage, f"{stage}-{i}")
        reg.finish_stage(rid, stage, "succeeded")
    reg.log_metrics(rid, {"m": {"mean": i / n, "ci": [0.0, 1.0]}, "k": i})
    reg.finish_run(rid, "succeeded", exit_code=0)
reg.close()
print("done", tag)
"""

N = 25


def test_two_concurrent_writers_do_not_corrupt(db_url: str) -> None:
    start = time.time() + 2.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, tag, str(start), str(N)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("A", "B")
    ]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
        assert out.startswith("done")
    with Registry(db_url) as reg:
        assert reg.counts() == {
            "runs": 2 * N,
            "stages": 6 * N,
            "metrics": 4 * N,
            "params": 6 * N,
            "artefacts": 0,
        }
        runs = reg.list_runs(limit=None)
        assert {r.id for r in runs} == {f"{t}-{i:03d}" for t in "AB" for i in range(N)}
        assert all(r.status == "succeeded" for r in runs)
        one = reg.get_run("B-007")
        assert one is not None and one.metrics["m.mean"].value == 7 / N and one.params["writer"] == "B"
        if reg.engine.dialect.name == "sqlite":
            with reg.engine.connect() as c:
                assert c.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


OPENER = r"""
import sys, time
url, start = sys.argv[1], float(sys.argv[2])
from synthdata.registry import Registry
while time.time() < start:
    pass  # spin: all openers hit the fresh database within microseconds
Registry(url).close()
"""


def test_many_processes_opening_a_fresh_sqlite_registry_migrate_it_once(tmp_path) -> None:
    """Every revision runs under one lock: no process re-runs a revision another just applied."""
    for attempt in range(4):
        url = f"sqlite:///{tmp_path / f'fresh{attempt}.db'}"
        start = time.time() + 3.0  # after every interpreter has imported
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, url, str(start)], stderr=subprocess.PIPE, text=True
            )
            for _ in range(4)
        ]
        errs = [p.communicate(timeout=120)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), "\n".join(e[-1500:] for e in errs)
        with Registry(url) as reg, reg.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
