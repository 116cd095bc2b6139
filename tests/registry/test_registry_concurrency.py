"""Two processes writing to one registry at once (fresh database: concurrent migrations too)."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from synthdata.registry import Registry

WRITER = r"""
import json, pathlib, sys, time
url, tag, other, sync, n = sys.argv[1], sys.argv[2], sys.argv[3], pathlib.Path(sys.argv[4]), int(sys.argv[5])
from synthdata.registry import Registry


def wait_for(name):  # a file barrier: no clock guess, however slowly the other process starts
    give_up = time.time() + 120
    while not (sync / name).exists():
        if time.time() > give_up:
            sys.exit(f"writer {tag}: {name} never appeared")
        time.sleep(0.002)


(sync / f"ready-{tag}").touch()
wait_for(f"ready-{other}")
t0 = time.time()
reg = Registry(url)  # both open a fresh database at the same moment: migration guard
for i in range(n):
    rid = f"{tag}-{i:03d}"
    if i == n // 2:  # half written: go on only once the other writer has written too (overlap)
        wait_for(f"wrote-{other}")
    reg.create_run(rid, config={"writer": tag, "i": i, "train": {"epochs": i}})
    for stage in ("ingest", "split", "train"):
        reg.start_stage(rid, stage, f"{stage}-{i}")
        reg.finish_stage(rid, stage, "succeeded")
    reg.log_metrics(rid, {"m": {"mean": i / n, "ci": [0.0, 1.0]}, "k": i})
    reg.finish_run(rid, "succeeded", exit_code=0)
    if i == 0:
        (sync / f"wrote-{tag}").touch()
reg.close()
print(json.dumps({"tag": tag, "start": t0, "end": time.time()}))
"""

N = 25


def test_two_concurrent_writers_do_not_corrupt(db_url: str, tmp_path) -> None:
    sync = tmp_path / "sync"
    sync.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, tag, other, str(sync), str(N)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag, other in (("A", "B"), ("B", "A"))
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    spans = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    # the writers really ran at the same time: their write intervals intersect
    (a, b) = spans
    assert max(a["start"], b["start"]) < min(a["end"], b["end"]), spans
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
import pathlib, sys, time
url, sync, me, n = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
from synthdata.registry import Registry
(sync / f"ready-{me}").touch()
give_up = time.time() + 120
while len(list(sync.glob("ready-*"))) < n:  # spin: all openers hit the fresh database within microseconds
    if time.time() > give_up:
        sys.exit("the other openers never started")
Registry(url).close()
"""


def test_many_processes_opening_a_fresh_sqlite_registry_migrate_it_once(tmp_path) -> None:
    """Every revision runs under one lock: no process re-runs a revision another just applied."""
    for attempt in range(4):
        url = f"sqlite:///{tmp_path / f'fresh{attempt}.db'}"
        sync = tmp_path / f"sync{attempt}"
        sync.mkdir()
        procs = [  # a file barrier: each opens once all have imported, however loaded the box
            subprocess.Popen(
                [sys.executable, "-c", OPENER, url, str(sync), str(i), "4"], stderr=subprocess.PIPE, text=True
            )
            for i in range(4)
        ]
        errs = [p.communicate(timeout=300)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), "\n".join(e[-1500:] for e in errs)
        with Registry(url) as reg, reg.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar() == 1
